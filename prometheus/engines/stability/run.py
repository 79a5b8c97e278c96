"""Library entry points shared by the Stability and Fragility engines: load history, run under the contract."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta

from prometheus.calendar import TradingCalendar
from prometheus.core.errors import DataError
from prometheus.core.types import Market
from prometheus.data.schema import Table
from prometheus.data.store import HistoricalStore
from prometheus.data.timemachine import HistorySnapshot, TimeMachine
from prometheus.engines.base import Engine, RunContext, decision_times
from prometheus.engines.runner import EngineOutput, EngineRunSummary, run_engine
from prometheus.engines.stability.config import StabilityConfig
from prometheus.engines.stability.engine import StabilityEngine
from prometheus.runtime.decision_log import DecisionLog

#: Historical tables the return panels read.
PANEL_INPUT_TABLES: tuple[Table, ...] = (Table.INSTRUMENTS, Table.PRICES_ADJUSTED)


def load_panel_history(
    store: HistoricalStore, calendar: TradingCalendar, market: Market, sessions: Sequence[date],
    lookback_sessions: int, bar_delay: timedelta,
) -> TimeMachine:  # fmt: skip
    """A view at the last decision time of ``sessions`` over the panel tables and ``lookback_sessions`` before."""
    last = decision_times(calendar, market, [sessions[-1]], bar_delay)[0]
    start = sessions[0] - timedelta(days=int(lookback_sessions * 1.5) + 30)
    snapshot = HistorySnapshot.load(store, PANEL_INPUT_TABLES, known_until=last, market=market, start=start)
    return TimeMachine(snapshot, last)


def run_panel_engine(
    engine: Engine,  # type: ignore[type-arg]
    view: TimeMachine,
    calendar: TradingCalendar,
    market: Market,
    sessions: Sequence[date],
    experiment: str,
    *,
    bar_delay: timedelta,
    upstream: Mapping[str, EngineOutput] | None = None,
    log: DecisionLog | None = None,
    mode: str = "BACKTEST",
) -> tuple[EngineOutput, EngineRunSummary]:
    """Run ``engine`` over ``sessions`` (increasing) of ``market``; record it in ``log`` when given.

    Raises
    ------
    DataError
        No sessions to run.
    """
    if not sessions:
        raise DataError(f"{engine.name}: no sessions of {market.value} to run", field="sessions")
    times = decision_times(calendar, market, sessions, bar_delay)
    ctx = RunContext(market, tuple(sessions), times, experiment, config_version="")
    return run_engine(engine, view, ctx, upstream, log=log, mode=mode)


def run_stability(
    view: TimeMachine,
    calendar: TradingCalendar,
    market: Market,
    sessions: Sequence[date],
    experiment: str,
    config: StabilityConfig | None = None,
    *,
    bar_delay: timedelta,
    log: DecisionLog | None = None,
    mode: str = "BACKTEST",
) -> tuple[EngineOutput, EngineRunSummary]:
    """Run the Stability engine over ``sessions`` of ``market`` (see :func:`run_panel_engine`).

    Raises
    ------
    DataError
        No sessions to run.
    """
    engine = StabilityEngine(config or StabilityConfig(), calendar)
    return run_panel_engine(engine, view, calendar, market, sessions, experiment, bar_delay=bar_delay, log=log,
                            mode=mode)  # fmt: skip
