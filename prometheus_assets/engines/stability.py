"""``<market>/stability_scores``: market and sector stability per session, after the regime states."""

import dagster as dg

from prometheus.core.types import Market, Mode
from prometheus.engines.stability import StabilityConfig, StabilityEngine, run_stability, stability_plot_png
from prometheus_assets.engines._panel import PanelEngineAsset, build_panel_engine_asset


def build_stability_assets(
    market: Market, mode: Mode, config: StabilityConfig | None = None
) -> list[dg.AssetsDefinition]:
    """The stability scores of ``market``, partitioned by ``partitions_for(market, mode)``."""
    cfg = config or StabilityConfig()
    spec = PanelEngineAsset(
        name="stability_scores",
        group="stability",
        upstream=("prices_adjusted", "regime_states"),
        description=f"Absorption ratio, Delta AR, turbulence and average correlation of {market.value} and its "
        "sectors per session, with a stability score (1 = stable).",
        config=cfg,
        lookback_sessions=StabilityEngine(cfg).lookback_sessions,
        run=run_stability,
        plot=stability_plot_png,
    )
    return [build_panel_engine_asset(market, mode, spec)]
