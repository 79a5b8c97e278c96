"""Run an engine under the contract: version it, reuse or compute its outputs, log runs and decisions."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace

import polars as pl

from prometheus.core.config import VersionedConfig
from prometheus.engines.base import Engine, EngineResult, RunContext, check_output
from prometheus.runtime.decision_log import DecisionLog, DecisionRow


@dataclass(frozen=True)
class EngineOutput:
    """An engine's output as handed downstream: the frame and the version that produced it."""

    engine: str
    config_version: str
    frame: pl.DataFrame


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


def run_engine(
    engine: Engine[VersionedConfig],
    view: object,
    ctx: RunContext,
    upstream: Mapping[str, EngineOutput] | None = None,
    *,
    log: DecisionLog | None = None,
    mode: str = "BACKTEST",
    reuse: bool = True,
) -> tuple[EngineOutput, EngineRunSummary]:
    """Run ``engine`` over ``ctx`` and record it in ``log`` (when given).

    ``ctx.config_version`` is replaced by the lineage version. With ``reuse`` and a log that already holds
    outputs of that version for every session (from any experiment), those rows are copied under this
    experiment instead of recomputing.
    """
    ups = dict(upstream or {})
    version = lineage_version(engine.config, {k: v.config_version for k, v in ups.items()})
    ctx = replace(ctx, config_version=version)
    if log is not None:
        log.register_config(
            engine.name,
            version,
            {
                "config": engine.config.model_dump(mode="json"),
                "upstream": {k: v.config_version for k, v in ups.items()},
            },
        )
        if reuse:
            reused = _reuse(engine, ctx, log)
            if reused is not None:
                return EngineOutput(engine.name, version, reused), _summary(engine, ctx, len(reused), True, ())
    if log is None:
        result = engine.run(view, ctx, {k: v.frame for k, v in ups.items()})  # type: ignore[arg-type]
        frame = check_output(engine.name, result.frame, engine.output_schema)
        return EngineOutput(engine.name, version, frame), _summary(engine, ctx, len(frame), False, result.notes)
    with log.run(
        run_key=f"{engine.name}|{ctx.market}|{ctx.experiment}|{uuid.uuid4().hex[:12]}",
        engine=engine.name,
        market=str(ctx.market),
        experiment=ctx.experiment,
        config_version=version,
        mode=mode,
        sessions=ctx.sessions,
    ) as handle:
        result = engine.run(view, ctx, {k: v.frame for k, v in ups.items()})  # type: ignore[arg-type]
        frame = check_output(engine.name, result.frame, engine.output_schema)
        handle.rows_written = _write(engine, ctx, log, frame, result)
    return EngineOutput(engine.name, version, frame), _summary(engine, ctx, len(frame), False, result.notes)


def _write(engine: Engine[VersionedConfig], ctx: RunContext, log: DecisionLog, frame: pl.DataFrame,
           result: EngineResult) -> int:  # fmt: skip
    rows = log.write_output(engine.output_table, frame)
    log.write_decisions(
        engine.name,
        market=str(ctx.market),
        experiment=ctx.experiment,
        config_version=ctx.config_version,
        decisions=[DecisionRow(d.session, d.decision_time, d.payload, d.key) for d in result.decisions],
    )
    return rows


def _reuse(engine: Engine[VersionedConfig], ctx: RunContext, log: DecisionLog) -> pl.DataFrame | None:
    existing = log.read_output(
        engine.output_table, market=str(ctx.market), config_version=ctx.config_version, sessions=ctx.sessions
    )
    if existing.is_empty():
        return None
    source = existing["experiment"][0]
    rows = existing.filter(pl.col("experiment") == source)
    if set(rows["session"].to_list()) != set(ctx.sessions):
        return None
    rows = rows.with_columns(pl.lit(ctx.experiment).alias("experiment"))
    schema = dict(engine.output_schema)
    frame = rows.select([pl.col(c).cast(schema[c], strict=False) if c in schema else pl.col(c) for c in rows.columns])
    if ctx.experiment != source:
        log.write_output(engine.output_table, frame.select([c for c in frame.columns if c in rows.columns]))
        log.copy_decisions(engine.name, str(ctx.market), ctx.config_version, source, ctx.experiment, ctx.sessions)
    return frame.select([c for c in schema if c in frame.columns])


def _summary(engine: Engine[VersionedConfig], ctx: RunContext, rows: int, reused: bool,
             notes: tuple[str, ...]) -> EngineRunSummary:  # fmt: skip
    return EngineRunSummary(
        engine.name, str(ctx.market), ctx.experiment, ctx.config_version, len(ctx.sessions), rows, reused, notes
    )
