"""``<market>/fragility_scores``: crowding per instrument and cluster per session, after regime and stability."""

import dagster as dg

from prometheus.core.types import Market, Mode
from prometheus.engines.fragility import (
    FragilityConfig,
    FragilityEngine,
    flagged_cluster_rows,
    fragility_plot_png,
    run_fragility,
)
from prometheus_assets.engines._panel import PanelEngineAsset, build_panel_engine_asset


def build_fragility_assets(
    market: Market, mode: Mode, config: FragilityConfig | None = None
) -> list[dg.AssetsDefinition]:
    """The fragility scores of ``market``, partitioned by ``partitions_for(market, mode)``."""
    cfg = config or FragilityConfig()
    spec = PanelEngineAsset(
        name="fragility_scores",
        group="fragility",
        upstream=("regime_states", "stability_scores"),
        description=f"Point-in-time residual clusters of {market.value}: crowding per cluster and a fragility "
        "penalty per instrument, with the flagged clusters.",
        config=cfg,
        lookback_sessions=FragilityEngine(cfg).lookback_sessions,
        run=run_fragility,
        plot=fragility_plot_png,
        metadata=lambda frame: {"flagged_cluster_sessions": flagged_cluster_rows(frame).height},
    )
    return [build_panel_engine_asset(market, mode, spec)]
