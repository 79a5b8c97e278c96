"""The engine contract every engine follows (ARCHITECTURE section 6).

An engine is a pure function of (TimeMachine view, typed config, upstream outputs) to a typed output frame plus
decision rows. It never touches a store, a clock or a broker: the runner (:mod:`prometheus.engines.runner`) gives it
a view at the last decision time of the run, the sessions to decide with their decision times, and the outputs of
the engines upstream; the engine derives an earlier view per session with ``view.at(decision_time)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

import polars as pl

from prometheus.calendar import TradingCalendar
from prometheus.core.config import VersionedConfig
from prometheus.core.errors import DataError
from prometheus.core.types import Market
from prometheus.data.checks import FrameRules
from prometheus.data.known_at import decision_times
from prometheus.data.schema import Column, Table
from prometheus.data.timemachine import TimeMachine
from prometheus.runtime.frames import IDENTITY_COLUMNS

#: Columns every engine output frame starts with (declared once, in :mod:`prometheus.runtime.frames`).
DECISION_COLUMNS: Mapping[str, pl.DataType] = MappingProxyType({c.name: c.dtype for c in IDENTITY_COLUMNS})


@dataclass(frozen=True)
class OutputTable:
    """A further runtime table an engine writes beside its main output (e.g. risk reports beside target portfolios):
    its columns after the identity columns, key and decision columns, declared once like the main table's."""

    table: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    decision_columns: tuple[str, ...] = ()
    probabilities: str | None = None

    @property
    def all_columns(self) -> tuple[Column, ...]:
        """Identity columns, then the table's own."""
        return (*IDENTITY_COLUMNS, *self.columns)

    @property
    def schema(self) -> Mapping[str, pl.DataType]:
        """Column name to dtype."""
        return MappingProxyType({c.name: c.dtype for c in self.all_columns})

    @property
    def row_key(self) -> tuple[str, ...]:
        """Columns identifying a row."""
        return ("market", "session", "experiment", "config_version", *self.key)

    @property
    def rules(self) -> FrameRules:
        """What the output checks hold the frame to."""
        return FrameRules(self.schema, self.row_key, "session", self.decision_columns, self.probabilities)


@dataclass(frozen=True)
class EngineSpec:
    """What an engine reads and writes, declared once; the runner, the Dagster assets and the tests derive from it.

    Attributes
    ----------
    name
        Engine name (``engine_decisions.engine``, asset group).
    description
        One sentence for the asset's description.
    output_table
        Runtime table of the output rows.
    columns
        Output columns after :data:`DECISION_COLUMNS`, in order.
    key
        Output columns that, with market, session, experiment and config version, identify a row.
    inputs
        Historical tables the engine reads through its TimeMachine view.
    upstream
        Engines whose outputs it consumes (by name); their versions fold into its lineage version.
    decision_columns
        Columns that must never be NaN or null (what downstream engines act on).
    probabilities
        A list column of probabilities (each in [0, 1], summing to 1), if the engine has one.
    extra_outputs
        Further tables the engine writes in the same run (:attr:`EngineResult.extra`, by table name).
    """

    name: str
    description: str
    output_table: str
    columns: tuple[Column, ...]
    inputs: tuple[Table, ...]
    key: tuple[str, ...] = ()
    upstream: tuple[str, ...] = ()
    decision_columns: tuple[str, ...] = ()
    probabilities: str | None = None
    extra_outputs: tuple[OutputTable, ...] = ()

    @property
    def main(self) -> OutputTable:
        """The main output table, declared like the extra ones."""
        return OutputTable(self.output_table, self.columns, self.key, self.decision_columns, self.probabilities)

    @property
    def all_columns(self) -> tuple[Column, ...]:
        """Identity columns, then the engine's own."""
        return self.main.all_columns

    @property
    def schema(self) -> Mapping[str, pl.DataType]:
        """Column name to dtype of the output frame."""
        return self.main.schema

    @property
    def row_key(self) -> tuple[str, ...]:
        """Columns identifying an output row."""
        return self.main.row_key

    @property
    def rules(self) -> FrameRules:
        """What the output checks hold the output frame to."""
        return self.main.rules


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


def history_sessions(calendar: TradingCalendar, ctx: RunContext, lookback: int) -> tuple[list[date], list[datetime]]:
    """Every session from ``lookback`` sessions before the run to its last, with decision times.

    Sessions of the run keep theirs; the others (the lookback, and calendar sessions between non-consecutive run
    sessions) get the run's bar delay (decision time minus close of its first session).
    """
    first = ctx.sessions[0]
    delay = ctx.decision_times[0] - calendar.close_at(ctx.market, first)
    earlier = calendar.sessions_before(ctx.market, first, lookback)
    deciding = set(ctx.sessions)
    between = [d for d in calendar.sessions(ctx.market, first, ctx.sessions[-1]) if d not in deciding]
    known = dict(zip(ctx.sessions, ctx.decision_times, strict=True))
    extra = sorted([*earlier, *between])
    known |= dict(zip(extra, decision_times(calendar, ctx.market, extra, delay), strict=True))
    days = sorted(known)
    return days, [known[d] for d in days]


@dataclass(frozen=True)
class EngineResult:
    """An engine's output: the frame (schema'd, starting with :data:`DECISION_COLUMNS`), decisions and notes.

    ``notes`` carries degradation messages (e.g. a universe too small for a statistic), never silent gaps;
    ``extra`` the frames of the spec's :attr:`EngineSpec.extra_outputs`, by table name.
    """

    frame: pl.DataFrame
    decisions: tuple[Decision, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)
    extra: Mapping[str, pl.DataFrame] = field(default_factory=dict)
    artifacts: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Engine(Protocol[C]):
    """The protocol all engines share. Constructors store parameters only."""

    #: The engine's declaration: inputs, upstream engines, output table and schema.
    spec: ClassVar[EngineSpec]

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


def check_output(spec: EngineSpec | OutputTable, frame: pl.DataFrame) -> pl.DataFrame:
    """Validate an output frame against its declared schema; returns it in declared column order.

    Raises
    ------
    DataError
        A declared column is missing or has another dtype.
    """
    name_ = spec.name if isinstance(spec, EngineSpec) else spec.table
    for name, dtype in spec.schema.items():
        if name not in frame.columns:
            raise DataError(f"{name_} output lacks column {name!r}", field=name)
        if frame.schema[name] != dtype:
            raise DataError(f"{name_} output column {name!r} is {frame.schema[name]}, not {dtype}", field=name)
    return frame.select(list(spec.schema))


def extra_frames(spec: EngineSpec, result: EngineResult) -> dict[str, pl.DataFrame]:
    """The extra output frames of ``result``, validated; a declared table without a frame is empty.

    Raises
    ------
    DataError
        A frame for a table the spec does not declare, or a frame that does not match its declaration.
    """
    declared = {t.table: t for t in spec.extra_outputs}
    unknown = sorted(set(result.extra) - set(declared))
    if unknown:
        raise DataError(f"{spec.name} returned tables {unknown} it does not declare", field="extra")
    return {name: check_output(t, result.extra.get(name, pl.DataFrame(schema=dict(t.schema))))
            for name, t in declared.items()}  # fmt: skip
