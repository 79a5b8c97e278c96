"""One builder for every engine asset: deps, code version, checks and metadata derived from the engine's spec.

An engine asset reads the sessions of its partition window, builds its engine, reads the declared inputs through
one TimeMachine snapshot and the declared upstream outputs from the decision log, runs the engine under the
runner, and reports the library's output checks and standard metadata. What differs between engines (how the
engine is built, its plot, extra figures, extra deps such as a model asset) is an :class:`EngineAsset`.

No ``from __future__ import annotations`` here: Dagster inspects the context annotation at definition time.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import dagster as dg
import polars as pl

from prometheus.calendar import TradingCalendar
from prometheus.core.config import VersionedConfig
from prometheus.core.types import Market
from prometheus.data.checks import CheckName, CheckOutcome, check_names, frame_checks
from prometheus.data.timemachine import TimeMachine
from prometheus.engines.base import Engine, EngineSpec
from prometheus.engines.pipeline import ENGINE_SPECS
from prometheus.engines.runner import history_view, run_sessions, upstream_history, upstream_outputs
from prometheus.runtime.decision_log import DecisionLog
from prometheus_assets.engines._common import bar_delay, decision_log, experiment_of, max_lag, run_metadata
from prometheus_assets.ingestion import table_dep
from prometheus_assets.metadata import check_result, column_schema, png_markdown, table_preview
from prometheus_assets.partitions import MarketScope, sessions_in_window
from prometheus_resources.stores import CalendarResource, HistoricalStoreResource, RuntimeStoreResource

#: (calendar, bar delay, historical store resource) -> the engine for one run.
EngineFactory = Callable[[TradingCalendar, timedelta, HistoricalStoreResource], Engine[VersionedConfig]]


@dataclass(frozen=True)
class EngineAsset:
    """What differs between engine assets.

    ``plot`` turns the output frame, the run's view and the market into a PNG; ``metadata`` adds engine-specific
    figures from the output frame, the run's view, the market and the upstream frames; ``extra_deps`` names further
    assets of the market the engine reads (e.g. its model asset); ``prepare`` hands the engine its state from the
    decision log before it runs.
    """

    spec: EngineSpec
    config: VersionedConfig
    build: EngineFactory
    plot: Callable[[pl.DataFrame, TimeMachine, Market], bytes]
    metadata: Callable[[pl.DataFrame, TimeMachine, Market, Mapping[str, pl.DataFrame]], Mapping[str, Any]] = field(
        default=lambda frame, view, market, upstream: {}
    )
    #: (engine, decision log, market, experiment, first session) -> the engine to run: for an engine whose state
    #: carries over from its previous partition (the portfolio starts from the last target before the partition).
    prepare: Callable[[Engine[VersionedConfig], DecisionLog, Market, str, date], Engine[VersionedConfig]] | None = None
    #: The engine's own checks: (name, outcome from the main frame and the extra frames).
    checks: tuple[tuple[CheckName, Callable[[pl.DataFrame, Mapping[str, pl.DataFrame]], CheckOutcome]], ...] = ()
    extra_deps: tuple[str, ...] = ()
    #: Upstream engines also read over the engine's lookback before the partition (gaps allowed, one version), so
    #: each session sees their history known at its decision time, not only the partition's sessions.
    upstream_history: tuple[str, ...] = ()


def engine_asset_key(market: Market, spec: EngineSpec) -> dg.AssetKey:
    """``<market>/<output table>``: an engine's output as an asset."""
    return dg.AssetKey([market.value.lower(), spec.output_table])


def engine_deps(scope: MarketScope, asset: EngineAsset) -> list[dg.AssetKey]:
    """Asset deps from the declaration: the input tables that assets produce, the upstream engines, extras."""
    market = scope.market
    tables = [k for k in (table_dep(market, t) for t in asset.spec.inputs) if k is not None]
    upstream = [engine_asset_key(market, ENGINE_SPECS[name]) for name in asset.spec.upstream]
    extra = [scope.key(name) for name in asset.extra_deps]
    return [*tables, *upstream, *extra]


def build_engine_asset(scope: MarketScope, asset: EngineAsset) -> dg.AssetsDefinition:
    """The ``<market>/<output table>`` asset of one engine, partitioned by the scope's partitions."""
    market, mode, spec = scope.market, scope.mode, asset.spec
    key = engine_asset_key(market, spec)
    rules = spec.rules
    checks = [dg.AssetCheckSpec(name.value, asset=key, description=name.value.replace("_", " "))
              for name in check_names(rules)]  # fmt: skip
    checks += [dg.AssetCheckSpec(name.value, asset=key, description=name.value.replace("_", " "))
               for name, _ in asset.checks]  # fmt: skip
    # An extra output table's checks are named after it: ``<table>__<check>``.
    checks += [dg.AssetCheckSpec(f"{t.table}__{name.value}", asset=key, description=f"{t.table}: {name.value}")
               for t in spec.extra_outputs for name in check_names(t.rules)]  # fmt: skip

    @dg.asset(
        key=key,
        deps=engine_deps(scope, asset),
        partitions_def=scope.partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        check_specs=checks,
        group_name=scope.prefix,
        tags=scope.tags("engines") | {"prometheus/engine": spec.name},
        kinds={"python", "sql"},
        owners=["team:research"],
        code_version=asset.config.config_version,
        description=f"{spec.description} ({market.value}, runtime table {spec.output_table})",
        metadata={"dagster/column_schema": column_schema(spec.all_columns), "engine": spec.name},
    )
    def engine_asset(
        context: dg.AssetExecutionContext,
        historical: HistoricalStoreResource,
        runtime: RuntimeStoreResource,
        calendar: CalendarResource,
    ) -> dg.MaterializeResult:
        sessions = sessions_in_window(market, context.partition_time_window)
        if not sessions:
            empty = [check_result(o) for o in frame_checks(rules, pl.DataFrame(schema=dict(spec.schema)), [])]
            empty += [check_result(o, prefix=f"{t.table}__") for t in spec.extra_outputs
                      for o in frame_checks(t.rules, pl.DataFrame(schema=dict(t.schema)), [])]  # fmt: skip
            nothing = {t.table: pl.DataFrame(schema=dict(t.schema)) for t in spec.extra_outputs}
            empty += [check_result(check(pl.DataFrame(schema=dict(spec.schema)), nothing)) for _, check in asset.checks]
            return dg.MaterializeResult(metadata={"sessions": 0, "dagster/row_count": 0}, check_results=empty)
        cal, delay, log = calendar.calendar(), bar_delay(), decision_log(runtime)
        experiment = experiment_of(context, mode)
        engine = asset.build(cal, delay, historical)
        if asset.prepare is not None:
            engine = asset.prepare(engine, log, market, experiment, sessions[0])
        view = history_view(historical.store(), cal, market, sessions, [engine], delay)
        upstream = upstream_outputs(log, [ENGINE_SPECS[n] for n in spec.upstream], market, experiment, sessions)
        if asset.upstream_history:
            back = cal.sessions_before(market, sessions[0], engine.lookback_sessions)
            upstream |= upstream_history(log, [ENGINE_SPECS[n] for n in asset.upstream_history], market, experiment,
                                         [*back, *sessions])  # fmt: skip
        out, summary = run_sessions(engine, view, cal, market, sessions, experiment, bar_delay=delay,
                                    upstream=upstream, log=log, mode=mode, max_lag_sessions=max_lag())  # fmt: skip
        last = out.frame.filter(pl.col("session") == out.frame["session"].max()) if out.frame.height else out.frame
        return dg.MaterializeResult(
            metadata={
                **run_metadata(context, summary),
                **asset.metadata(out.frame, view, market, {k: v.frame for k, v in upstream.items()}),
                "last_session": table_preview(last.drop(["market", "experiment", "config_version"])),
                "plot": png_markdown(asset.plot(out.frame, view, market), spec.name),
            },
            check_results=[
                *(check_result(o) for o in frame_checks(rules, out.frame, sessions)),
                *(check_result(check(out.frame, out.extra)) for _, check in asset.checks),
                *(
                    check_result(o, prefix=f"{t.table}__")
                    for t in spec.extra_outputs
                    for o in frame_checks(
                        t.rules, out.extra.get(t.table, pl.DataFrame(schema=dict(t.schema))), sessions
                    )
                ),
            ],  # fmt: skip
        )

    return engine_asset
