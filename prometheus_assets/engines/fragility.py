"""``<market>/fragility_scores``: crowding per instrument and cluster per session."""

import dagster as dg

from prometheus.engines.fragility import (
    FRAGILITY_SPEC,
    FragilityConfig,
    FragilityEngine,
    flagged_cluster_rows,
    fragility_plot_png,
)
from prometheus_assets.engines.kit import EngineAsset, build_engine_asset
from prometheus_assets.partitions import MarketScope


def build_fragility_assets(scope: MarketScope, config: FragilityConfig | None = None) -> list[dg.AssetsDefinition]:
    """The fragility scores of ``scope.market``, partitioned by the scope's partitions."""
    cfg = config or FragilityConfig()
    asset = EngineAsset(
        spec=FRAGILITY_SPEC,
        config=cfg,
        build=lambda cal, delay, historical: FragilityEngine(cfg, cal),
        plot=lambda frame, view, m: fragility_plot_png(frame, f"{m.value} fragility"),
        metadata=lambda frame, view, m, up: {"flagged_cluster_rows": flagged_cluster_rows(frame).height},
    )
    return [build_engine_asset(scope, asset)]
