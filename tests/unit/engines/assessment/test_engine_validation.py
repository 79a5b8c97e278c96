"""Validation on the synthetic market (METHODS "Assessment"): the walk-forward model against the planted signal.

One market, seed 16, 100 names x 5 years, chosen before looking (development used seeds 1001-1005). Features:
Alpha158, residual returns and the vendor signals (the noisy observable copy of the planted signal, and three
pure-noise signals); the embedding and context families need the encoders and are compared in
``docs/validation/assessment.md``. Scored period: years 3-5 (the first model needs a year of labelled samples plus
its purge and embargo).

The oracle is the planted signal itself (the latent ``z`` the generator's alpha loads on), ranked against the same
label on the same sessions. The observable ``alpha_feature`` is built with corr(feature, z) = 0.9 and is published
after the close, so a decision sees the previous session's value: 0.9 x 0.98 of the oracle's IC is what that feature
alone carries, and the bar is 80 %.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import polars as pl
import pytest

import prometheus.engines.assessment.engine as engine_module
from prometheus.calendar import get_calendar
from prometheus.core.types import Market
from prometheus.data.schema import Table
from prometheus.data.timemachine import HistorySnapshot, TimeMachine
from prometheus.engines.assessment import AssessmentConfig, AssessmentEngine, forward_returns, rank_labels
from prometheus.engines.runner import history_view, run_sessions
from tests.support.panel_market import BAR_DELAY, History

SEED = 16
CONFIG = AssessmentConfig(families=("alpha158", "residual", "signals"))
NOISE = ("signal_noise_1", "signal_noise_2", "signal_noise_3")


@dataclass(frozen=True)
class Run:
    scores: pl.DataFrame
    engine: AssessmentEngine


def _walk_forward(history: History, sessions: list[date]) -> Run:
    cal, market = get_calendar(), Market.US_EQ
    engine = AssessmentEngine(CONFIG, cal, BAR_DELAY)
    view = history_view(history.store, cal, market, sessions, [engine], BAR_DELAY)
    out, _ = run_sessions(engine, view, cal, market, sessions, "validation", bar_delay=BAR_DELAY)
    return Run(out.frame, engine)


@pytest.fixture(scope="module")
def history(stability_markets: Callable[[int], History]) -> History:
    return stability_markets(SEED)


@pytest.fixture(scope="module")
def scored_sessions(history: History) -> list[date]:
    days = list(history.market.sessions)
    return [d for d in days if d >= date(days[0].year + 2, 1, 1)]


@pytest.fixture(scope="module")
def outcomes(history: History) -> pl.DataFrame:
    """The label of every session, from everything known at the end (evaluation, not a model input)."""
    end = datetime(2100, 1, 1, tzinfo=UTC)
    snapshot = HistorySnapshot.load(history.store, [Table.PRICES_ADJUSTED], known_until=end, market=Market.US_EQ)
    bars = TimeMachine(snapshot, end).table(
        Table.PRICES_ADJUSTED, market=Market.US_EQ, columns=["date", "symbol", "open", "close", "total_return"]
    )
    days = list(history.market.sessions)
    return forward_returns(bars, days, CONFIG.horizon, len(days) - 1)


@pytest.fixture(scope="module")
def run(history: History, scored_sessions: list[date]) -> Run:
    return _walk_forward(history, scored_sessions)


def _planted(history: History) -> pl.DataFrame:
    market = history.market
    z = market.panel.returns.signals.latent
    t, i = np.nonzero(np.isfinite(market.panel.returns.total))
    return pl.DataFrame(
        {"date": np.array(market.sessions, dtype="datetime64[D]")[t], "symbol": market.panel.universe.symbols[i],
         "oracle": z[t, i]},
        schema={"date": pl.Date(), "symbol": pl.String(), "oracle": pl.Float64()},
    )  # fmt: skip


def _mean_rank_ic(frame: pl.DataFrame, column: str) -> float:
    daily = frame.group_by("date").agg(pl.corr(column, "forward_return", method="spearman").alias("ic"))
    return float(daily["ic"].mean())


def test_test_period_rank_ic_reaches_80_percent_of_the_oracle(history: History, run: Run,
                                                               outcomes: pl.DataFrame) -> None:  # fmt: skip
    scores = run.scores.select(pl.col("session").alias("date"), pl.col("instrument").alias("symbol"), "score")
    # Same sessions, same names, same label for both.
    joined = scores.join(outcomes, on=["date", "symbol"]).join(_planted(history), on=["date", "symbol"])
    model, oracle = _mean_rank_ic(joined, "score"), _mean_rank_ic(joined, "oracle")
    assert joined["date"].n_unique() > 600
    assert oracle > 0.05  # the planted signal is there to be found
    assert model >= 0.8 * oracle, f"model rank IC {model:.4f} vs oracle {oracle:.4f}"


def test_noise_features_rank_in_the_bottom_half_of_importance(run: Run) -> None:
    """Gain share summed over every model of the run; a feature a model left out (screened) has no gain there."""
    features = {f for m in run.engine.models.values() for f in m.importance} | set(NOISE)
    share = dict.fromkeys(features, 0.0)
    for model in run.engine.models.values():
        total = sum(model.importance.values()) or 1.0
        for name, gain in model.importance.items():
            share[name] += gain / total
    everything = 158 + 6 + 1 + len(NOISE)  # Alpha158, residual returns, the alpha feature and the noise signals
    ranked = sorted(share, key=lambda f: -share[f])
    for name in NOISE:
        above = sum(share[f] > share[name] for f in ranked)
        assert above >= everything / 2 or share[name] == 0.0, (name, above, share[name])
    assert ranked[0] == "signal_alpha_feature"


@pytest.fixture
def permuted_labels(monkeypatch: pytest.MonkeyPatch) -> None:
    """Training labels shuffled across names within each session (the features keep their order)."""
    original = engine_module.forward_returns
    rng = np.random.default_rng(SEED)

    def shuffled(*args: object, **kwargs: object) -> pl.DataFrame:
        frame = original(*args, **kwargs)  # type: ignore[arg-type]
        order = frame.sort("date", "symbol")
        permuted = order.with_columns(pl.col("forward_return").shuffle(seed=int(rng.integers(1 << 31))).over("date"))
        return rank_labels(permuted.drop("label"))

    monkeypatch.setattr(engine_module, "forward_returns", shuffled)


@pytest.mark.usefixtures("permuted_labels")
def test_a_model_trained_on_permuted_labels_has_no_ic(history: History, scored_sessions: list[date],
                                                      outcomes: pl.DataFrame) -> None:  # fmt: skip
    permuted = _walk_forward(history, scored_sessions)
    scores = permuted.scores.select(pl.col("session").alias("date"), pl.col("instrument").alias("symbol"), "score")
    ic = _mean_rank_ic(scores.join(outcomes, on=["date", "symbol"]), "score")
    assert abs(ic) < 0.01, ic
