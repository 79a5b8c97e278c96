"""``<market>/stability_scores``: market and sector stability per session."""

import dagster as dg

from prometheus.engines.stability import STABILITY_SPEC, StabilityConfig, StabilityEngine, stability_plot_png
from prometheus_assets.engines.kit import EngineAsset, build_engine_asset
from prometheus_assets.partitions import MarketScope


def build_stability_assets(scope: MarketScope, config: StabilityConfig | None = None) -> list[dg.AssetsDefinition]:
    """The stability scores of ``scope.market``, partitioned by the scope's partitions."""
    cfg = config or StabilityConfig()
    asset = EngineAsset(
        spec=STABILITY_SPEC,
        config=cfg,
        build=lambda cal, delay, historical: StabilityEngine(cfg, cal),
        plot=lambda frame, view, m: stability_plot_png(frame, f"{m.value} stability"),
    )
    return [build_engine_asset(scope, asset)]
