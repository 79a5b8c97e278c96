"""The engine contract every engine follows (ARCHITECTURE section 6).

An engine is a pure function of (TimeMachine view, typed config, upstream outputs) to a typed output frame plus
decision rows. It never touches a store, a clock or a broker: the runner (:mod:`prometheus.engines.runner`) gives it
a view at the last decision time of the run, the sessions to decide with their decision times, and the outputs of
the engines upstream; the engine derives an earlier view per session with ``view.at(decision_time)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

import polars as pl

from prometheus.calendar import TradingCalendar
from prometheus.core.config import VersionedConfig
from prometheus.core.errors import DataError
from prometheus.core.types import Market
from prometheus.data.known_at import bar_known_at
from prometheus.data.timemachine import TimeMachine

#: Columns every engine output frame starts with.
DECISION_COLUMNS: dict[str, pl.DataType] = {
    "market": pl.String(),  # market id
    "session": pl.Date(),  # session decided, in the market's time zone
    "decision_time": pl.Datetime("us", "UTC"),  # when the decision was made (its known_at)
    "experiment": pl.String(),  # experiment name ('live' for PAPER/LIVE)
    "config_version": pl.String(),  # content hash of the engine config
}

C = TypeVar("C", bound=VersionedConfig, covariant=True)


@dataclass(frozen=True, slots=True)
class RunContext:
    """What one engine run decides: ``sessions`` of ``market`` in order, each with its decision time (UTC).

    ``config_version`` is the version the rows are stamped with: the engine config's content hash, folded with
    the versions of the upstream outputs it consumes (see :func:`prometheus.engines.runner.lineage_version`).
    """

    market: Market
    sessions: tuple[date, ...]
    decision_times: tuple[datetime, ...]
    experiment: str
    config_version: str

    def __post_init__(self) -> None:
        if len(self.sessions) != len(self.decision_times):
            raise ValueError("one decision time per session")
        if list(self.decision_times) != sorted(self.decision_times):
            raise ValueError("decision times must increase with the sessions")

    @property
    def last_decision_time(self) -> datetime:
        """The latest instant the run may see."""
        return self.decision_times[-1]


@dataclass(frozen=True, slots=True)
class Decision:
    """One decision row for ``engine_decisions``; ``key`` separates several decisions of one session."""

    session: date
    decision_time: datetime
    payload: Mapping[str, Any]
    key: str = ""


@dataclass(frozen=True)
class EngineResult:
    """An engine's output: the frame (schema'd, starting with :data:`DECISION_COLUMNS`), decisions and notes.

    ``notes`` carries degradation messages (e.g. a universe too small for a statistic), never silent gaps.
    """

    frame: pl.DataFrame
    decisions: tuple[Decision, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)
    artifacts: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Engine(Protocol[C]):
    """The protocol all engines share. Constructors store parameters only."""

    name: ClassVar[str]
    #: Output table in the runtime store and its schema (column -> dtype), starting with DECISION_COLUMNS.
    output_table: ClassVar[str]
    output_schema: ClassVar[Mapping[str, pl.DataType]]

    @property
    def config(self) -> C:
        """The typed config the engine runs with."""
        ...

    @property
    def lookback_sessions(self) -> int:
        """Sessions of history needed before the first decision."""
        ...

    def run(self, view: TimeMachine, ctx: RunContext, upstream: Mapping[str, pl.DataFrame]) -> EngineResult:
        """Decide every session of ``ctx`` using only ``view`` (moved back per session) and ``upstream``."""
        ...


def decision_times(
    calendar: TradingCalendar, market: Market | str, sessions: Sequence[date], bar_delay: timedelta
) -> tuple[datetime, ...]:
    """The decision time of each session: its close plus the bar delay, when its bar is known."""
    return tuple(bar_known_at(calendar, market, d, bar_delay) for d in sessions)


def check_output(engine_name: str, frame: pl.DataFrame, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """Validate an engine's output frame against its declared schema; returns it in declared column order.

    Raises
    ------
    DataError
        A declared column is missing or has another dtype.
    """
    for name, dtype in schema.items():
        if name not in frame.columns:
            raise DataError(f"{engine_name} output lacks column {name!r}", field=name)
        if frame.schema[name] != dtype:
            raise DataError(f"{engine_name} output column {name!r} is {frame.schema[name]}, not {dtype}", field=name)
    return frame.select(list(schema))
