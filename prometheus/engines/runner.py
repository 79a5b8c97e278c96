"""The engine kit's runner: load an engine's history, version it, reuse or compute its outputs, log them.

Every engine runs the same way: :func:`history_view` reads the tables its spec declares over its lookback into one
snapshot, :func:`run_sessions` turns sessions into a :class:`RunContext`, and :func:`run_engine` versions the run
(config hash folded with the upstream versions), reuses rows of that version when they exist, and records the run,
its outputs and its decisions.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import polars as pl

from prometheus.calendar import TradingCalendar
from prometheus.core.config import VersionedConfig
from prometheus.core.errors import DataError
from prometheus.core.types import Market, Mode
from prometheus.data.freshness import stale_sessions
from prometheus.data.known_at import decision_times
from prometheus.data.store import HistoricalStore
from prometheus.data.timemachine import HistorySnapshot, TimeMachine
from prometheus.engines.base import Engine, EngineResult, EngineSpec, RunContext, check_output, extra_frames
from prometheus.runtime.decision_log import DecisionLog, DecisionRow

#: Sessions read beyond an engine's lookback: readers such as the market series look a few calendar days further
#: back (a 14-day fill of benchmark observations) than the sessions they serve.
READ_MARGIN_SESSIONS = 15


@dataclass(frozen=True)
class EngineOutput:
    """An engine's output as handed downstream: the frame and the version that produced it."""

    engine: str
    config_version: str
    frame: pl.DataFrame
    #: Frames of the spec's extra output tables, by table name.
    extra: Mapping[str, pl.DataFrame] = field(default_factory=dict)


@dataclass(frozen=True)
class EngineRunSummary:
    """What one run did."""

    engine: str
    market: str
    experiment: str
    config_version: str
    sessions: int
    rows: int
    reused: bool
    notes: tuple[str, ...]


def lineage_version(config: VersionedConfig, upstream: Mapping[str, str]) -> str:
    """The version of an engine's outputs: its config's hash, folded with the upstream output versions.

    Two runs with the same version were computed from the same config and the same upstream outputs, which is
    what makes reusing outputs across experiments safe.
    """
    if not upstream:
        return config.config_version
    body = json.dumps({"config": config.config_version, "upstream": dict(sorted(upstream.items()))}, sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def history_view(
    store: HistoricalStore,
    calendar: TradingCalendar,
    market: Market,
    sessions: Sequence[date],
    engines: Sequence[Engine[VersionedConfig]],
    bar_delay: timedelta,
) -> TimeMachine:
    """A view at the last decision time of ``sessions`` over what ``engines`` declare: the union of their input
    tables over the longest of their lookbacks (so engines of one chain share one snapshot).

    Raises
    ------
    DataError
        No sessions or no engines.
    """
    if not sessions or not engines:
        raise DataError(f"no sessions of {market.value} or no engines to read history for", field="sessions")
    last = decision_times(calendar, market, [sessions[-1]], bar_delay)[0]
    lookback = max(e.lookback_sessions for e in engines)
    back = calendar.sessions_before(market, sessions[0], lookback + READ_MARGIN_SESSIONS)
    tables = list(dict.fromkeys(t for e in engines for t in e.spec.inputs))
    start = back[0] if back else sessions[0]
    snapshot = HistorySnapshot.load(store, tables, known_until=last, market=market, start=start)
    return TimeMachine(snapshot, last)


def run_sessions(
    engine: Engine[VersionedConfig],
    view: TimeMachine,
    calendar: TradingCalendar,
    market: Market,
    sessions: Sequence[date],
    experiment: str,
    *,
    bar_delay: timedelta,
    upstream: Mapping[str, EngineOutput] | None = None,
    log: DecisionLog | None = None,
    mode: Mode = Mode.BACKTEST,
    max_lag_sessions: int | None = None,
) -> tuple[EngineOutput, EngineRunSummary]:
    """Run ``engine`` over ``sessions`` (increasing) of ``market``, each decided at its close plus ``bar_delay``.

    With ``max_lag_sessions``, sessions whose newest bar known at their decision time is older than that are
    refused: an engine never labels a session from stale data (a run past the end of the data, a feed that stopped).

    Raises
    ------
    DataError
        No sessions to run, or sessions that would be decided on stale data.
    """
    if not sessions:
        raise DataError(f"{engine.spec.name}: no sessions of {market.value} to run", field="sessions")
    if max_lag_sessions is not None:
        stale = stale_sessions(view, calendar, market, sessions, bar_delay=bar_delay, max_lag_sessions=max_lag_sessions)
        if stale:
            raise DataError(
                f"{engine.spec.name}: {len(stale)} of {len(sessions)} session(s) of {market.value} would be decided "
                f"on data more than {max_lag_sessions} session(s) old (PROMETHEUS_MAX_DATA_LAG_SESSIONS); first "
                f"{stale[0].describe()}",
                field="sessions",
            )
    times = decision_times(calendar, market, sessions, bar_delay)
    ctx = RunContext(market, tuple(sessions), times, experiment, config_version="")
    return run_engine(engine, view, ctx, upstream, log=log, mode=mode)


def upstream_outputs(
    log: DecisionLog, specs: Sequence[EngineSpec], market: Market, experiment: str, sessions: Sequence[date]
) -> dict[str, EngineOutput]:
    """The outputs of upstream engines for ``sessions`` of one experiment, as written by their runs.

    Raises
    ------
    DataError
        An upstream engine has not decided every session, or decided them with several versions.
    """
    out: dict[str, EngineOutput] = {}
    for spec in specs:
        frame = log.read_output(spec.output_table, spec.schema, market=market.value, experiment=experiment,
                                sessions=sessions)  # fmt: skip
        missing = sorted(set(sessions) - set(frame["session"].to_list()))
        if missing:
            raise DataError(
                f"{spec.name}: no output for {len(missing)} session(s) of {market.value} in experiment "
                f"{experiment!r} (first {missing[0]}); run {spec.name} first",
                field=spec.output_table,
            )
        versions = frame["config_version"].unique().to_list()
        if len(versions) != 1:
            raise DataError(f"{spec.name}: {len(versions)} config versions in experiment {experiment!r}; expected one",
                            field="config_version")  # fmt: skip
        out[spec.name] = EngineOutput(spec.name, versions[0], frame)
    return out


def upstream_history(
    log: DecisionLog, specs: Sequence[EngineSpec], market: Market, experiment: str, sessions: Sequence[date]
) -> dict[str, EngineOutput]:
    """The upstream outputs that exist for ``sessions`` of one experiment, gaps allowed: what a model trained on a
    long history reads (sessions before an upstream engine's first decision give null features, not an error).

    Raises
    ------
    DataError
        An upstream engine decided the sessions with several versions.
    """
    out: dict[str, EngineOutput] = {}
    for spec in specs:
        frame = log.read_output(spec.output_table, spec.schema, market=market.value, experiment=experiment,
                                sessions=sessions)  # fmt: skip
        versions = frame["config_version"].unique().to_list()
        if len(versions) > 1:
            raise DataError(f"{spec.name}: {len(versions)} config versions in experiment {experiment!r}; expected one",
                            field="config_version")  # fmt: skip
        if versions:
            out[spec.name] = EngineOutput(spec.name, versions[0], frame)
    return out


def run_engine(
    engine: Engine[VersionedConfig],
    view: TimeMachine,
    ctx: RunContext,
    upstream: Mapping[str, EngineOutput] | None = None,
    *,
    log: DecisionLog | None = None,
    mode: Mode = Mode.BACKTEST,
    reuse: bool = True,
) -> tuple[EngineOutput, EngineRunSummary]:
    """Run ``engine`` over ``ctx`` and record it in ``log`` (when given).

    ``ctx.config_version`` is replaced by the lineage version. With ``reuse`` and a log that already holds
    outputs of that version for every session (from any experiment), those rows are copied under this
    experiment instead of recomputing.
    """
    spec = engine.spec
    ups = dict(upstream or {})
    unknown = sorted(set(ups) - set(spec.upstream))
    if unknown:
        raise DataError(f"{spec.name}: upstream {unknown} not declared (declared: {list(spec.upstream)})",
                        field="upstream")  # fmt: skip
    version = lineage_version(engine.config, {k: v.config_version for k, v in ups.items()})
    ctx = replace(ctx, config_version=version)
    if log is not None:
        log.register_config(
            spec.name,
            version,
            {
                "config": engine.config.model_dump(mode="json"),
                "upstream": {k: v.config_version for k, v in ups.items()},
            },
        )
        if reuse:
            reused = _reuse(engine, ctx, log)
            if reused is not None:
                frame, extra = reused
                return EngineOutput(spec.name, version, frame, extra), _summary(engine, ctx, len(frame), True, ())
    if log is None:
        result = engine.run(view, ctx, {k: v.frame for k, v in ups.items()})
        frame, extra = check_output(spec, result.frame), extra_frames(spec, result)
        return EngineOutput(spec.name, version, frame, extra), _summary(engine, ctx, len(frame), False, result.notes)
    with log.run(
        run_key=f"{spec.name}|{ctx.market}|{ctx.experiment}|{uuid.uuid4().hex[:12]}",
        engine=spec.name,
        market=str(ctx.market),
        experiment=ctx.experiment,
        config_version=version,
        mode=mode,
        sessions=ctx.sessions,
    ) as handle:
        result = engine.run(view, ctx, {k: v.frame for k, v in ups.items()})
        frame, extra = check_output(spec, result.frame), extra_frames(spec, result)
        handle.rows_written = _write(spec, ctx, log, frame, result, extra)
    return EngineOutput(spec.name, version, frame, extra), _summary(engine, ctx, len(frame), False, result.notes)


def _write(spec: EngineSpec, ctx: RunContext, log: DecisionLog, frame: pl.DataFrame, result: EngineResult,
           extra: Mapping[str, pl.DataFrame]) -> int:  # fmt: skip
    rows = log.write_output(spec.output_table, frame)
    for table, rows_of_table in extra.items():
        log.write_output(table, rows_of_table)
    log.write_decisions(
        spec.name,
        market=str(ctx.market),
        experiment=ctx.experiment,
        config_version=ctx.config_version,
        decisions=[DecisionRow(d.session, d.decision_time, d.payload, d.key) for d in result.decisions],
    )
    return rows


def _reuse(
    engine: Engine[VersionedConfig], ctx: RunContext, log: DecisionLog
) -> tuple[pl.DataFrame, dict[str, pl.DataFrame]] | None:
    spec = engine.spec
    existing = log.read_output(
        spec.output_table, spec.schema, market=str(ctx.market), config_version=ctx.config_version,
        sessions=ctx.sessions,
    )  # fmt: skip
    if existing.is_empty():
        return None
    source = existing["experiment"][0]
    rows = existing.filter(pl.col("experiment") == source)
    if set(rows["session"].to_list()) != set(ctx.sessions):
        return None
    frame = rows.with_columns(pl.lit(ctx.experiment).alias("experiment")).sort(["session", *spec.key])
    extra = {}
    for t in spec.extra_outputs:
        found = log.read_output(t.table, t.schema, market=str(ctx.market), config_version=ctx.config_version,
                                sessions=ctx.sessions, experiment=source)  # fmt: skip
        extra[t.table] = found.with_columns(pl.lit(ctx.experiment).alias("experiment")).sort(["session", *t.key])
    if ctx.experiment != source:
        log.write_output(spec.output_table, frame)
        for table, rows_of_table in extra.items():
            log.write_output(table, rows_of_table)
        log.copy_decisions(spec.name, str(ctx.market), ctx.config_version, source, ctx.experiment, ctx.sessions)
    return frame, extra


def _summary(engine: Engine[VersionedConfig], ctx: RunContext, rows: int, reused: bool,
             notes: tuple[str, ...]) -> EngineRunSummary:  # fmt: skip
    return EngineRunSummary(
        engine.spec.name, str(ctx.market), ctx.experiment, ctx.config_version, len(ctx.sessions), rows, reused, notes
    )
