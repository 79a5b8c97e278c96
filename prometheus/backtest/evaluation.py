"""What a finished backtest is judged on besides its equity: the assessment's daily rank IC, point in time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from prometheus.calendar import TradingCalendar
from prometheus.core.errors import DataError
from prometheus.core.types import Market
from prometheus.data.schema import Table
from prometheus.data.store import HistoricalStore
from prometheus.data.timemachine import HistorySnapshot, TimeMachine
from prometheus.engines.assessment import ASSESSMENT_SPEC
from prometheus.engines.assessment.labels import realised_outcomes
from prometheus.engines.assessment.model import load_models
from prometheus.engines.assessment.report import IcReport, ic_report
from prometheus.engines.regime import REGIME_SPEC
from prometheus.runtime.decision_log import DecisionLog

#: Columns of :func:`assessment_ic`: the tear sheet's IC frame.
IC_SCHEMA = {"session": pl.Date(), "ic": pl.Float64()}


def assessment_ic(
    log: DecisionLog,
    historical: HistoricalStore,
    calendar: TradingCalendar,
    market: Market,
    experiment: str,
    sessions: Sequence[date],
    horizon: int,
    bar_delay: timedelta,
) -> pl.DataFrame:
    """Daily rank IC of the experiment's assessment scores against the realised ``horizon``-session forward
    returns known at the decision time of the last session (the last H + 1 sessions have no outcome yet)."""
    empty = pl.DataFrame(schema=IC_SCHEMA)
    if not sessions:
        return empty
    scores = log.read_output(ASSESSMENT_SPEC.output_table, ASSESSMENT_SPEC.schema, market=market.value,
                             experiment=experiment, sessions=sessions)  # fmt: skip
    if scores.is_empty():
        return empty
    outcomes = _outcomes(historical, calendar, market, sessions, horizon, bar_delay)
    report = ic_report(scores.select("session", "instrument", "score", "model_version"), outcomes, horizon=horizon)
    return (
        report.daily.group_by("session")
        .agg(pl.col("rank_ic").mean().alias("ic"))
        .sort("session")
        .select(pl.col("session").cast(pl.Date), pl.col("ic").cast(pl.Float64))
    )


def assessment_report(
    log: DecisionLog,
    historical: HistoricalStore,
    calendar: TradingCalendar,
    market: Market,
    experiment: str,
    sessions: Sequence[date],
    horizon: int,
    bar_delay: timedelta,
    models_root: Path | None = None,
) -> IcReport:
    """The full IC report of the experiment's assessment scores (what :func:`assessment_ic` summarises): daily IC,
    IC by the experiment's own regime labels, score deciles and, with ``models_root`` (``<data root>/models``),
    the feature importance of the models that produced the scores; outcomes as known at the last decision time.

    Raises
    ------
    DataError
        The experiment has no assessment scores over ``sessions``.
    """
    scores = log.read_output(ASSESSMENT_SPEC.output_table, ASSESSMENT_SPEC.schema, market=market.value,
                             experiment=experiment, sessions=sessions)  # fmt: skip
    if scores.is_empty():
        raise DataError(f"no assessment scores of {market.value} in experiment {experiment!r} for {len(sessions)} "
                        "session(s): run the backtest first", field="assessments")  # fmt: skip
    outcomes = _outcomes(historical, calendar, market, sessions, horizon, bar_delay)
    regimes = log.read_output(REGIME_SPEC.output_table, REGIME_SPEC.schema, market=market.value,
                              experiment=experiment, sessions=sessions).select("session", "label")  # fmt: skip
    importance: dict[str, dict[str, float]] = {}
    if models_root is not None:
        used = set(scores["model_version"].unique().to_list())
        for version in scores["config_version"].unique().to_list():
            for model in load_models(models_root, market, version).values():
                if model.model_version in used:
                    importance[model.model_version] = dict(model.importance)
    return ic_report(scores.select("session", "instrument", "score", "model_version"), outcomes, horizon=horizon,
                     regimes=regimes.unique("session"), importance=importance or None)  # fmt: skip


def _outcomes(
    historical: HistoricalStore,
    calendar: TradingCalendar,
    market: Market,
    sessions: Sequence[date],
    horizon: int,
    bar_delay: timedelta,
) -> pl.DataFrame:
    """The realised ``horizon``-session forward returns of ``sessions`` known at the decision time of the last."""
    as_of = calendar.close_at(market, sessions[-1]) + bar_delay
    snap = HistorySnapshot.load(historical, [Table.PRICES_ADJUSTED], known_until=as_of, market=market,
                                start=sessions[0], end=sessions[-1])  # fmt: skip
    return realised_outcomes(TimeMachine(snap, as_of), calendar, market, list(sessions), horizon)
