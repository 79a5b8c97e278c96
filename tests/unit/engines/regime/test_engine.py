"""Regime engine through TimeMachine views: schema, decisions, and the future-poisoning test (ARCHITECTURE 3)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from prometheus.calendar import get_calendar
from prometheus.core.types import Market
from prometheus.data.ingest.api import ingest_synthetic
from prometheus.data.known_at import decision_times
from prometheus.data.market_series import market_returns_known, market_returns_per_session, market_series
from prometheus.data.schema import Table
from prometheus.data.store import HistoricalStore
from prometheus.data.synthetic import SyntheticConfig
from prometheus.data.timemachine import HistorySnapshot, TimeMachine
from prometheus.engines.regime import REGIME_SPEC, RegimeConfig, RegimeEngine
from prometheus.engines.runner import run_sessions

DELAY = timedelta(minutes=5)
CAL = get_calendar()
M = Market.US_EQ
#: Half-year refits so that a two-and-a-half-year run refits on both sides of the poisoning date.
CFG = RegimeConfig(refit_months=6, feature_window=120, train_sessions=300, min_train_sessions=250,
                   validation_sessions=100, jump_penalties=(10.0, 50.0))  # fmt: skip
SESSIONS = CAL.sessions(M, date(2015, 7, 1), date(2017, 12, 29))
D = date(2016, 12, 30)  # 251 sessions of the run lie after it
AFTER_D = decision_times(CAL, M, [D], DELAY)[0] + timedelta(hours=1)


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> HistorySnapshot:
    root: Path = tmp_path_factory.mktemp("regime")
    store = HistoricalStore(root / "lake")
    ingest_synthetic(store, root, SyntheticConfig(seed=2024, n_names=40, years=4), bar_delay=DELAY)
    last = decision_times(CAL, M, [SESSIONS[-1]], DELAY)[0]
    return HistorySnapshot.load(store, REGIME_SPEC.inputs, known_until=last, market=M)


def _run(snap: HistorySnapshot, engine: RegimeEngine | None = None, cfg: RegimeConfig = CFG) -> pl.DataFrame:
    view = TimeMachine(snap, snap.known_until)
    engine = engine or RegimeEngine(cfg, CAL, DELAY)
    out, _ = run_sessions(engine, view, CAL, M, SESSIONS, "poison", bar_delay=DELAY)
    return out.frame


def _poison(snap: HistorySnapshot) -> HistorySnapshot:
    """Change every input table after D, and add late rows dated <= D that become known after D."""
    t = dict(snap.tables)
    prices = t[Table.PRICES_ADJUSTED]
    late = prices.filter(pl.col("date").is_between(D - timedelta(days=90), D)).with_columns(
        pl.lit(0.25).alias("total_return"), pl.lit(AFTER_D).alias("known_at")
    )
    after = pl.col("date") > D
    t[Table.PRICES_ADJUSTED] = pl.concat([
        prices.with_columns(pl.when(after).then(-3.0 * pl.col("total_return") + 0.02)
                            .otherwise(pl.col("total_return")).alias("total_return")),
        late,
    ])  # fmt: skip
    inst = t[Table.INSTRUMENTS]
    t[Table.INSTRUMENTS] = pl.concat(
        [inst, inst.with_columns(pl.lit(date(2015, 1, 2)).alias("delisted"), pl.lit(AFTER_D).alias("known_at"))]
    )
    t[Table.MARKETS] = pl.concat(
        [t[Table.MARKETS], t[Table.MARKETS].with_columns(pl.lit("POISON").alias("benchmark"),
                                                         pl.lit(AFTER_D).alias("known_at"))]
    )  # fmt: skip
    days = CAL.sessions(M, date(2014, 1, 2), SESSIONS[-1])
    known = [max(k, AFTER_D) for k in decision_times(CAL, M, days, DELAY)]
    levels = 100 * np.cumprod(1 + np.random.default_rng(0).normal(0, 0.05, len(days)))
    poison_obs = pl.DataFrame({"market": M.value, "series": "POISON", "date": days, "value": levels, "known_at": known},
                              schema=t[Table.MACRO_OBSERVATIONS].schema)  # fmt: skip
    t[Table.MACRO_OBSERVATIONS] = pl.concat([t[Table.MACRO_OBSERVATIONS], poison_obs])
    return HistorySnapshot(snap.known_until, t)


def test_run_when_synthetic_history_output_matches_schema_and_labels(snapshot: HistorySnapshot) -> None:
    frame = _run(snapshot)
    assert dict(frame.schema) == dict(REGIME_SPEC.schema)
    assert frame["session"].to_list() == SESSIONS
    assert set(frame["label"].unique()) <= {"calm", "crisis"}
    assert np.allclose([sum(p) for p in frame["probabilities"].to_list()], 1.0)
    assert (frame["confidence"] >= 0.5).all()
    assert (frame["decision_time"] > pl.Series([datetime.combine(d, datetime.min.time()) for d in SESSIONS])
            .dt.replace_time_zone("UTC")).all()  # fmt: skip


def test_run_when_models_cached_reads_a_short_history_and_labels_as_the_full_run(snapshot: HistorySnapshot) -> None:
    engine = RegimeEngine(CFG, CAL, DELAY)
    full = _run(snapshot, engine)
    read: list[int] = []

    def counted(view: TimeMachine, m: Market, d: Sequence[date], t: Sequence[datetime]) -> np.ndarray:
        read.append(len(d))
        return market_returns_known(view, m, d, t)

    for days in (SESSIONS[-1:], SESSIONS[100:130]):  # the daily run; a month across a refit
        cached = RegimeEngine(CFG, CAL, DELAY, models=dict(engine.models), returns=counted)
        out, _ = run_sessions(cached, TimeMachine(snapshot, snapshot.known_until), CAL, M, days, "poison",
                              bar_delay=DELAY)  # fmt: skip
        assert out.frame.equals(full.filter(pl.col("session").is_in(days)))
        # No training window read: the feature window, the filter's warm-up and the (half-year) period so far.
        assert read[-1] <= CFG.feature_window + CFG.online_warmup_sessions + 130 < CFG.train_sessions + 130


@pytest.mark.slow
@pytest.mark.parametrize("cross_section", [False, True])
def test_run_when_inputs_after_d_poisoned_outputs_to_d_unchanged_and_leaky_variant_differs(
    snapshot: HistorySnapshot, cross_section: bool
) -> None:
    cfg = RegimeConfig(**{**CFG.model_dump(), "cross_section": cross_section})
    poisoned = _poison(snapshot)
    engine = RegimeEngine(cfg, CAL, DELAY)
    clean = _run(snapshot, engine, cfg)
    dirty = _run(poisoned, cfg=cfg)
    assert all(m.cross_section == cross_section for m in engine.models.values())
    periods = {(p.period_start, p.known_at <= AFTER_D) for p in engine.models.values()}
    assert any(start <= D for start, _ in periods)  # refits on both sides of D
    assert any(start > D and not known for start, known in periods)
    upto = pl.col("session") <= D
    assert clean.filter(upto).equals(dirty.filter(upto))  # every column, bit for bit
    assert not clean.filter(~upto).equals(dirty.filter(~upto))  # the poison does reach later sessions

    # The test can fail: an engine whose reader resolves every session at the run's last view, not at the
    # session's own decision time, leaks (the batched reader and the per-session one alike).
    def hindsight(view: TimeMachine, m: Market, days: Sequence[date], times: Sequence[datetime]) -> np.ndarray:
        return market_returns_known(view, m, days, [view.as_of] * len(days))

    def hindsight_per_session(
        view: TimeMachine, m: Market, days: Sequence[date], times: Sequence[datetime]
    ) -> np.ndarray:
        return market_returns_per_session(
            view, m, days, times, series=lambda v, mk, s, e: market_series(view, mk, s, e)
        )

    for leaky in (hindsight, hindsight_per_session):
        assert not clean.filter(upto).equals(
            _run(poisoned, RegimeEngine(cfg, CAL, DELAY, returns=leaky), cfg).filter(upto)
        )
