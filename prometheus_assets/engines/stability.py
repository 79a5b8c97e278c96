"""``<market>/stability_scores``: market and sector stability per session, after the regime states.

No ``from __future__ import annotations`` here: Dagster inspects the context annotation at definition time.
"""

import dagster as dg

from prometheus.core.types import Market, Mode
from prometheus.engines.stability import (
    StabilityConfig,
    StabilityEngine,
    load_panel_history,
    run_stability,
    stability_plot_png,
)
from prometheus_assets.engines._common import bar_delay, decision_log, experiment_of, png_markdown, run_metadata
from prometheus_assets.partitions import partitions_for, sessions_in_window
from prometheus_resources.stores import CalendarResource, HistoricalStoreResource, RuntimeStoreResource


def build_stability_assets(
    market: Market, mode: Mode, config: StabilityConfig | None = None
) -> list[dg.AssetsDefinition]:
    """The stability scores of ``market``, partitioned by ``partitions_for(market, mode)``."""
    cfg = config or StabilityConfig()
    prefix = market.value.lower()

    @dg.asset(
        key=[prefix, "stability_scores"],
        deps=[dg.AssetKey([prefix, "prices_adjusted"]), dg.AssetKey([prefix, "regime_states"])],
        partitions_def=partitions_for(market, mode),
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name="stability", kinds={"python", "sql"}, owners=["team:research"], code_version="1",
        description=f"Absorption ratio, Delta AR, turbulence and average correlation of {market.value} and its "
        "sectors per session, with a stability score (1 = stable).",
    )  # fmt: skip
    def stability_scores(
        context: dg.AssetExecutionContext,
        historical: HistoricalStoreResource,
        runtime: RuntimeStoreResource,
        calendar: CalendarResource,
    ) -> dg.MaterializeResult:
        sessions = sessions_in_window(market, context.partition_time_window)
        if not sessions:
            return dg.MaterializeResult(metadata={"sessions": 0})
        cal, delay = calendar.calendar(), bar_delay()
        lookback = StabilityEngine(cfg).lookback_sessions
        view = load_panel_history(historical.store(), cal, market, sessions, lookback, delay)
        out, summary = run_stability(view, cal, market, sessions, experiment_of(context, mode), cfg, bar_delay=delay,
                                  log=decision_log(runtime), mode=mode.value)  # fmt: skip
        return dg.MaterializeResult(metadata={
            **run_metadata(context, summary),
            "plot": png_markdown(stability_plot_png(out.frame, f"{market.value} stability"), "stability"),
        })  # fmt: skip

    return [stability_scores]
