"""The Assessment engine: purge and embargo, models known before their period, point in time, start independence."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from prometheus.calendar import get_calendar
from prometheus.core.errors import ConfigError, DataError
from prometheus.core.types import Market
from prometheus.engines.assessment import AssessmentConfig, AssessmentEngine, LightGBMParams
from prometheus.engines.periods import period_of
from prometheus.engines.runner import run_engine
from tests.support.panel_market import BAR_DELAY, History, poisoned

#: Small and fast: price features only (the shared snapshot holds prices and instruments), quarterly models.
CONFIG = AssessmentConfig(
    refit_months=3,
    train_sessions=252,
    min_train_sessions=126,
    families=("alpha158",),
    lightgbm=LightGBMParams(n_estimators=25, min_data_in_leaf=200),
)


def _engine(models: dict | None = None) -> AssessmentEngine:
    return AssessmentEngine(CONFIG, get_calendar(), BAR_DELAY, models=models)


def _run(history: History, sessions: list[date], snapshot=None, models: dict | None = None) -> pl.DataFrame:
    ctx = history.context(sessions)
    out, _ = run_engine(_engine(models), history.view(ctx, snapshot), ctx)
    return out.frame


@pytest.fixture(scope="module")
def history(stability_markets: Callable[[int], History]) -> History:
    return stability_markets(21)


@pytest.fixture(scope="module")
def sessions(history: History) -> list[date]:
    days = list(history.market.sessions)
    first = next(d for d in days if d >= date(days[0].year + 2, 4, 1))
    return days[days.index(first) : days.index(first) + 8]


def test_training_sessions_end_before_the_purge_and_embargo(history: History) -> None:
    cal, market = get_calendar(), Market.US_EQ
    period = period_of(date(2017, 4, 3), 3)
    train = _engine().training_sessions(market, period)
    cutoff = cal.sessions_before(market, period[0], 1)[-1]
    between = cal.sessions(market, train[-1], cutoff)
    # The last training label ends at train[-1] + 1 + H; H + 1 + embargo sessions separate it from the cutoff.
    assert len(between) - 1 == CONFIG.horizon + 1 + CONFIG.embargo_sessions
    assert len(train) == CONFIG.train_sessions


def test_scores_every_name_with_a_bar_with_the_model_of_its_period(history: History, sessions: list[date]) -> None:
    frame = _run(history, sessions)
    assert frame["session"].unique().sort().to_list() == sessions
    per = frame.group_by("session").agg(pl.len().alias("n"), pl.col("model_version").n_unique().alias("m"))
    assert per["m"].to_list() == [1] * len(sessions)
    assert per["n"].min() >= 80  # 100 names, a few not yet listed or delisted
    assert frame["details"].struct.field("decile").is_between(1, 10).all()
    # expected_return is demeaned per session.
    means = frame.group_by("session").agg(pl.col("expected_return").mean())["expected_return"]
    assert means.abs().max() < 1e-12


def test_model_is_known_before_its_period(history: History, sessions: list[date]) -> None:
    engine = _engine()
    ctx = history.context(sessions)
    run_engine(engine, history.view(ctx), ctx)
    for period, model in engine.models.items():
        first_scored = get_calendar().sessions(Market.US_EQ, period[0], period[1])[0]
        assert model.known_at < history.context([first_scored]).decision_times[0]
        assert model.train_last < period[0]


def test_future_poisoning_changes_nothing(history: History, sessions: list[date]) -> None:
    """Every input known after the last scored session's decision time is changed, plus late rows dated before it:
    models (labels read at their cutoff) and features (read at each session's decision time) must not move."""
    ctx = history.context(sessions)
    cutoff = ctx.last_decision_time
    clean = _run(history, sessions)
    dirty = _run(history, sessions, poisoned(history.snapshot, cutoff, sessions[-1]))
    assert_frame_equal(clean, dirty)


def test_poisoning_before_the_decision_time_is_seen(history: History, sessions: list[date]) -> None:
    """The poisoning test can fail: the same poison applied from an earlier instant changes the scores."""
    ctx = history.context(sessions)
    early = ctx.decision_times[0].replace(year=ctx.decision_times[0].year - 1)
    clean = _run(history, sessions)
    dirty = _run(history, sessions, poisoned(history.snapshot, early, sessions[-1]))
    assert not clean["score"].equals(dirty["score"])


def test_a_session_scores_the_same_whatever_the_run_it_is_in(history: History, sessions: list[date]) -> None:
    models: dict = {}
    whole = _run(history, sessions, models=models)
    alone = _run(history, sessions[-1:], models=models)
    last = whole.filter(pl.col("session") == sessions[-1])
    assert_frame_equal(last.drop("config_version"), alone.drop("config_version"))


def test_models_of_another_config_are_refused(history: History, sessions: list[date]) -> None:
    engine = _engine()
    ctx = history.context(sessions[:1])
    run_engine(engine, history.view(ctx), ctx)
    other = AssessmentEngine(CONFIG.model_copy(update={"horizon": 3}), get_calendar(), BAR_DELAY,
                             models=engine.models)  # fmt: skip
    with pytest.raises(ConfigError, match="another config"):
        run_engine(other, history.view(ctx), ctx)


def test_a_model_source_without_the_period_is_an_error(history: History, sessions: list[date]) -> None:
    engine = AssessmentEngine(CONFIG, get_calendar(), BAR_DELAY, model_source=lambda version: {})
    ctx = history.context(sessions[:1])
    with pytest.raises(DataError, match="materialise us_eq/assessment_model"):
        run_engine(engine, history.view(ctx), ctx)


def test_embargo_shorter_than_the_horizon_is_rejected() -> None:
    with pytest.raises(ConfigError, match="embargo_sessions"):
        AssessmentConfig(horizon=10, embargo_sessions=5)
