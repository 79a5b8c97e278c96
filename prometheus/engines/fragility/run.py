"""Library entry point of the Fragility engine."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from prometheus.calendar import TradingCalendar
from prometheus.core.types import Market
from prometheus.data.timemachine import TimeMachine
from prometheus.engines.fragility.config import FragilityConfig
from prometheus.engines.fragility.engine import FragilityEngine
from prometheus.engines.runner import EngineOutput, EngineRunSummary
from prometheus.engines.stability.run import run_panel_engine
from prometheus.runtime.decision_log import DecisionLog


def run_fragility(
    view: TimeMachine,
    calendar: TradingCalendar,
    market: Market,
    sessions: Sequence[date],
    experiment: str,
    config: FragilityConfig | None = None,
    *,
    bar_delay: timedelta,
    log: DecisionLog | None = None,
    mode: str = "BACKTEST",
) -> tuple[EngineOutput, EngineRunSummary]:
    """Run the Fragility engine over ``sessions`` (increasing) of ``market``; record it in ``log`` when given.

    Raises
    ------
    DataError
        No sessions to run.
    """
    engine = FragilityEngine(config or FragilityConfig(), calendar)
    return run_panel_engine(engine, view, calendar, market, sessions, experiment, bar_delay=bar_delay, log=log,
                            mode=mode)  # fmt: skip
