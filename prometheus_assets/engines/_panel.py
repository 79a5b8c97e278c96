"""One builder for the engines that read the cross-sectional panel (Stability, Fragility): same inputs, same run."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import polars as pl

from prometheus.core.config import VersionedConfig
from prometheus.core.types import Market, Mode
from prometheus.engines.stability import load_panel_history
from prometheus_assets.engines._common import bar_delay, decision_log, experiment_of, png_markdown, run_metadata
from prometheus_assets.partitions import partitions_for, sessions_in_window
from prometheus_resources.stores import CalendarResource, HistoricalStoreResource, RuntimeStoreResource


@dataclass(frozen=True)
class PanelEngineAsset:
    """What differs between the panel engines' assets.

    ``run`` has the signature of ``run_stability`` / ``run_fragility``; ``plot`` turns the output frame and a
    title into a PNG; ``metadata`` adds engine-specific figures.
    """

    name: str
    group: str
    upstream: tuple[str, ...]
    description: str
    config: VersionedConfig
    lookback_sessions: int
    run: Callable[..., Any]
    plot: Callable[[pl.DataFrame, str], bytes]
    metadata: Callable[[pl.DataFrame], dict[str, Any]] = field(default=lambda frame: {})


def build_panel_engine_asset(market: Market, mode: Mode, spec: PanelEngineAsset) -> dg.AssetsDefinition:
    """The ``<market>/<spec.name>`` asset, partitioned by ``partitions_for(market, mode)``."""
    prefix = market.value.lower()

    @dg.asset(
        key=[prefix, spec.name],
        deps=[dg.AssetKey([prefix, up]) for up in spec.upstream],
        partitions_def=partitions_for(market, mode),
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name=spec.group,
        kinds={"python", "sql"},
        owners=["team:research"],
        code_version="1",
        description=spec.description,
    )
    def panel_engine_asset(
        context: dg.AssetExecutionContext,
        historical: HistoricalStoreResource,
        runtime: RuntimeStoreResource,
        calendar: CalendarResource,
    ) -> dg.MaterializeResult:
        sessions = sessions_in_window(market, context.partition_time_window)
        if not sessions:
            return dg.MaterializeResult(metadata={"sessions": 0})
        cal, delay = calendar.calendar(), bar_delay()
        view = load_panel_history(historical.store(), cal, market, sessions, spec.lookback_sessions, delay)
        out, summary = spec.run(
            view, cal, market, sessions, experiment_of(context, mode), spec.config,
            bar_delay=delay, log=decision_log(runtime), mode=mode.value,
        )  # fmt: skip
        png = spec.plot(out.frame, f"{market.value} {spec.group}")
        return dg.MaterializeResult(
            metadata={
                **run_metadata(context, summary),
                **spec.metadata(out.frame),
                "plot": png_markdown(png, spec.group),
            }
        )

    return panel_engine_asset
