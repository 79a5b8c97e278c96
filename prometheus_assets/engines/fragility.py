"""``<market>/fragility_scores``: crowding per instrument and cluster per session, after regime and stability.

No ``from __future__ import annotations`` here: Dagster inspects the context annotation at definition time.
"""

import dagster as dg

from prometheus.core.types import Market, Mode
from prometheus.engines.fragility import FragilityConfig, FragilityEngine, fragility_plot_png, run_fragility
from prometheus.engines.stability import load_panel_history
from prometheus_assets.engines._common import bar_delay, decision_log, experiment_of, png_markdown, run_metadata
from prometheus_assets.partitions import partitions_for, sessions_in_window
from prometheus_resources.stores import CalendarResource, HistoricalStoreResource, RuntimeStoreResource


def build_fragility_assets(
    market: Market, mode: Mode, config: FragilityConfig | None = None
) -> list[dg.AssetsDefinition]:
    """The fragility scores of ``market``, partitioned by ``partitions_for(market, mode)``."""
    cfg = config or FragilityConfig()
    prefix = market.value.lower()

    @dg.asset(
        key=[prefix, "fragility_scores"],
        deps=[dg.AssetKey([prefix, "regime_states"]), dg.AssetKey([prefix, "stability_scores"])],
        partitions_def=partitions_for(market, mode),
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name="fragility", kinds={"python", "sql"}, owners=["team:research"], code_version="1",
        description=f"Point-in-time residual clusters of {market.value}: crowding per cluster and a fragility "
        "penalty per instrument, with the flagged clusters.",
    )  # fmt: skip
    def fragility_scores(
        context: dg.AssetExecutionContext,
        historical: HistoricalStoreResource,
        runtime: RuntimeStoreResource,
        calendar: CalendarResource,
    ) -> dg.MaterializeResult:
        sessions = sessions_in_window(market, context.partition_time_window)
        if not sessions:
            return dg.MaterializeResult(metadata={"sessions": 0})
        cal, delay = calendar.calendar(), bar_delay()
        lookback = FragilityEngine(cfg).lookback_sessions
        view = load_panel_history(historical.store(), cal, market, sessions, lookback, delay)
        out, summary = run_fragility(view, cal, market, sessions, experiment_of(context, mode), cfg, bar_delay=delay,
                                  log=decision_log(runtime), mode=mode.value)  # fmt: skip
        flagged = out.frame.filter(out.frame["instrument"].str.starts_with("cluster:"))
        flagged = flagged.filter(flagged["components"].struct.field("flagged") == 1.0)
        return dg.MaterializeResult(metadata={
            **run_metadata(context, summary), "flagged_cluster_sessions": flagged.height,
            "plot": png_markdown(fragility_plot_png(out.frame, f"{market.value} fragility"), "fragility"),
        })  # fmt: skip

    return [fragility_scores]
