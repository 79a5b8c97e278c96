"""Decision outcomes: the right figures per engine, never before the horizon has passed, unchanged by anything
after it (future poisoning), and stored idempotently."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from prometheus.calendar import get_calendar
from prometheus.core.types import Market
from prometheus.data.ingest import ingest_synthetic
from prometheus.data.known_at import decision_times
from prometheus.data.schema import Table
from prometheus.data.store import HistoricalStore
from prometheus.data.synthetic import SyntheticConfig
from prometheus.data.timemachine import TimeMachine
from prometheus.meta import RealisedMarket, decision_outcomes, read_outcomes, realised_market, write_outcomes
from prometheus.runtime import RuntimeStore

DELAY = timedelta(minutes=5)
T0 = datetime(2024, 1, 1, 22, tzinfo=UTC)


def _hand_market(returns: np.ndarray, sectors: list[str]) -> RealisedMarket:
    n = returns.shape[0]
    sessions = tuple(date(2024, 1, 1) + timedelta(days=i) for i in range(n))
    times = tuple(T0 + timedelta(days=i) for i in range(n))
    return RealisedMarket(sessions, times, times, np.array([f"S{k}" for k in range(returns.shape[1])], dtype=object),
                          np.array(sectors, dtype=object), returns)  # fmt: skip


def _decisions(realised: RealisedMarket, at: int, payload: dict) -> pl.DataFrame:
    return pl.DataFrame([{"market": "US_EQ", "session": realised.sessions[at], "decision_time":
                          realised.decision_times[at], "experiment": "x", "config_version": "v", "decision_key": "",
                          "payload": payload}])  # fmt: skip


def test_regime_and_stability_when_market_moves_report_its_vol_drawdown_and_worst_day() -> None:
    r = np.array([[0.0, 0.0], [0.02, 0.0], [-0.04, -0.02], [0.01, 0.01], [0.0, 0.0]])
    realised = _hand_market(r, ["a", "b"])
    market = r.mean(axis=1)[1:4]  # sessions 1..3 after a decision at session 0, H = 3
    regime = decision_outcomes("regime", _decisions(realised, 0, {"label": "crisis", "confidence": 0.9}), realised,
                               horizons=[3])  # fmt: skip
    row = regime.row(0, named=True)
    assert row["outcome"] == pytest.approx(np.std(market) * np.sqrt(252))
    metrics = json.loads(row["metrics"])
    assert metrics["label"] == "crisis"
    assert metrics["market_return"] == pytest.approx(np.prod(1 + market) - 1)
    assert metrics["max_drawdown"] == pytest.approx(1 - (1.01 * 0.97) / 1.01)
    assert row["known_at"] == realised.decision_times[3]
    stability = decision_outcomes("stability", _decisions(realised, 0, {"score": 0.2}), realised, horizons=[3])
    assert stability["outcome"][0] == pytest.approx(-0.03)


def test_assessment_and_fragility_when_scores_match_the_future_have_rank_correlation_one() -> None:
    rng = np.random.default_rng(0)
    r = rng.normal(0, 0.01, (7, 20))
    realised = _hand_market(r, ["s"] * 20)
    forward = np.prod(1 + r[1:6], axis=0) - 1
    worst = r[1:6].min(axis=0)
    names = [f"S{k}" for k in range(20)]
    scores = pl.DataFrame({"session": [realised.sessions[0]] * 20, "instrument": names, "score": forward})
    ic = decision_outcomes("assessment", _decisions(realised, 0, {"model": "m1"}), realised, outputs=scores,
                           horizons=[5])  # fmt: skip
    assert ic["outcome"][0] == pytest.approx(1.0)
    assert json.loads(ic["metrics"][0])["decile_spread"] > 0
    fragile = pl.DataFrame({"session": [realised.sessions[0]] * 21, "instrument": [*names, "cluster:S0"],
                            "score": [*(-worst), 0.5]})  # fmt: skip
    flagged = {"flagged": [{"members": names[:3]}]}
    out = decision_outcomes("fragility", _decisions(realised, 0, flagged), realised, outputs=fragile, horizons=[5])
    assert out["outcome"][0] == pytest.approx(1.0)
    assert json.loads(out["metrics"][0])["names"] == 20  # the cluster row is not a name


def test_portfolio_when_held_for_the_horizon_pnl_is_the_weighted_compound_return_and_attribution_adds_up() -> None:
    rng = np.random.default_rng(1)
    r = rng.normal(0, 0.01, (6, 6))
    r[3, 5] = np.nan  # one name misses a bar: counts 0, reported missing
    realised = _hand_market(r, ["a", "a", "a", "b", "b", "b"])
    weights = np.array([0.3, 0.2, -0.1, 0.25, 0.15, 0.2])
    targets = pl.DataFrame({"session": [realised.sessions[0]] * 6, "instrument": [f"S{k}" for k in range(6)],
                            "weight": weights})  # fmt: skip
    risk = pl.DataFrame({"session": [realised.sessions[0]], "ex_ante_vol": [0.12]})
    out = decision_outcomes("portfolio", _decisions(realised, 0, {}), realised, outputs=targets, risk=risk,
                            horizons=[4])  # fmt: skip
    forward = np.prod(1 + r[1:5], axis=0) - 1
    expected = float(weights[:5] @ forward[:5])
    metrics = json.loads(out["metrics"][0])
    assert out["outcome"][0] == pytest.approx(expected)
    assert metrics["missing"] == 1
    assert metrics["predicted_vol"] == 0.12
    assert metrics["market"] + metrics["sector"] + metrics["specific"] == pytest.approx(expected)


def test_outcomes_when_horizon_runs_past_the_data_are_not_written_yet() -> None:
    realised = _hand_market(np.zeros((4, 2)), ["a", "b"])
    out = decision_outcomes("regime", _decisions(realised, 1, {"label": "calm"}), realised, horizons=[1, 2, 5])
    assert out["horizon_sessions"].to_list() == [1, 2]  # 1 + 5 is past the last session


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> HistoricalStore:
    root = tmp_path_factory.mktemp("outcomes")
    store = HistoricalStore(root / "lake")
    ingest_synthetic(store, root, SyntheticConfig(seed=5, n_names=20, years=1), bar_delay=DELAY)
    return store


def _regime_outcomes(store: HistoricalStore, as_of: datetime, t: date, sessions: list[date]) -> pl.DataFrame:
    cal = get_calendar()
    view = TimeMachine(store, as_of)
    known = [d for d, at in zip(sessions, decision_times(cal, Market.US_EQ, sessions, DELAY), strict=True)
             if at <= as_of]  # fmt: skip
    realised = realised_market(view, Market.US_EQ, known, decision_times(cal, Market.US_EQ, known, DELAY))
    decisions = pl.DataFrame([{"market": "US_EQ", "session": t, "decision_time": realised.decision_times[
        realised.index(t)], "experiment": "x", "config_version": "v", "decision_key": "", "payload": {}}])  # fmt: skip
    return decision_outcomes("regime", decisions, realised, horizons=[5])


def test_outcome_when_data_after_the_horizon_is_poisoned_is_unchanged_and_absent_before_the_horizon(
    lake: HistoricalStore, tmp_path: Path
) -> None:
    cal = get_calendar()
    sessions = cal.sessions(Market.US_EQ, date(2014, 3, 3), date(2014, 4, 30))
    times = decision_times(cal, Market.US_EQ, sessions, DELAY)
    t, horizon_end = sessions[5], sessions[10]
    end = times[-1] + timedelta(days=1)
    before = _regime_outcomes(lake, times[9], t, sessions)  # one session short of t + 5
    assert before.is_empty()
    found = _regime_outcomes(lake, end, t, sessions)
    assert found.height == 1
    assert np.isfinite(found["outcome"][0])
    assert found["known_at"][0] == times[10]

    # Poison everything after t + H in a copy of the lake: the outcome must not move.
    poisoned = HistoricalStore(tmp_path / "lake")
    bars = lake.read(Table.PRICES_ADJUSTED)
    for table in (Table.INSTRUMENTS, Table.MARKETS):
        poisoned.write_frame(table, lake.read(table))
    later = pl.col("date") > horizon_end
    poisoned.write_frame(
        Table.PRICES_ADJUSTED,
        bars.with_columns(
            total_return=pl.when(later).then(pl.col("total_return") * -3 + 0.05).otherwise(pl.col("total_return"))
        ),
    )
    assert _regime_outcomes(poisoned, end, t, sessions).equals(found)
    # ... while a change inside the horizon does (the check can fail).
    inside = (pl.col("date") > t) & (pl.col("date") <= horizon_end)
    poisoned.write_frame(
        Table.PRICES_ADJUSTED,
        bars.with_columns(
            total_return=pl.when(inside).then(pl.col("total_return") * -3 + 0.05).otherwise(pl.col("total_return"))
        ),
    )
    assert not _regime_outcomes(poisoned, end, t, sessions)["outcome"].equals(found["outcome"])


def test_write_outcomes_when_written_twice_keeps_one_row_per_key(tmp_path: Path) -> None:
    realised = _hand_market(np.full((8, 3), 0.01), ["a", "a", "b"])
    out = decision_outcomes("stability", _decisions(realised, 0, {"score": 0.5}), realised)
    with RuntimeStore(f"sqlite:///{tmp_path / 'runtime.sqlite'}") as store:
        store.upgrade()
        assert write_outcomes(store, out) == 2  # horizons 1 and 5; 21 has not passed
        write_outcomes(store, out)
        back = read_outcomes(store, Market.US_EQ, "x")
    assert back.height == 2
    assert back["outcome"].to_list() == out["outcome"].to_list()
    assert json.loads(back["metrics"][0])["score"] == 0.5


def test_outcomes_when_calendar_runs_past_the_last_bar_wait_for_the_data() -> None:
    full = _hand_market(np.zeros((6, 2)), ["a", "b"])
    realised = RealisedMarket(full.sessions, full.decision_times, (*full.known[:4], None, None), full.symbols,
                              full.sectors, np.where(np.arange(6)[:, None] < 4, 0.01, np.nan))  # fmt: skip
    out = decision_outcomes("regime", _decisions(realised, 1, {"label": "calm"}), realised, horizons=[1, 2, 3])
    assert out["horizon_sessions"].to_list() == [1, 2]  # session 4 has no bar yet
