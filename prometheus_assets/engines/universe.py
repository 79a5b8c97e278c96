"""``<market>/universe_members``: the point-in-time tradable universe per session, with entries and exits."""

import dagster as dg

from prometheus.engines.universe import UNIVERSE_SPEC, UniverseConfig, UniverseEngine, universe_plot_png
from prometheus_assets.engines.kit import EngineAsset, build_engine_asset
from prometheus_assets.partitions import MarketScope


def build_universe_assets(scope: MarketScope, config: UniverseConfig | None = None) -> list[dg.AssetsDefinition]:
    """The universe members of ``scope.market``, partitioned by the scope's partitions."""
    cfg = config or UniverseConfig()
    asset = EngineAsset(
        spec=UNIVERSE_SPEC,
        config=cfg,
        build=lambda cal, delay, historical: UniverseEngine(cfg, cal),
        plot=lambda frame, view, m: universe_plot_png(frame, f"{m.value} universe: members and turnover"),
    )
    return [build_engine_asset(scope, asset)]
