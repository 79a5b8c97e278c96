"""``<market>/stability_scores``: market and sector stability per session."""

from pathlib import Path

import dagster as dg

from prometheus.engines.stability import (
    STABILITY_SPEC,
    CheckpointStore,
    StabilityConfig,
    StabilityEngine,
    stability_plot_png,
)
from prometheus_assets.engines.kit import EngineAsset, build_engine_asset
from prometheus_assets.partitions import MarketScope


def build_stability_assets(scope: MarketScope, config: StabilityConfig | None = None) -> list[dg.AssetsDefinition]:
    """The stability scores of ``scope.market``, partitioned by the scope's partitions."""
    cfg = config or StabilityConfig()
    asset = EngineAsset(
        spec=STABILITY_SPEC,
        config=cfg,
        # Each run resumes from the state the previous one left (a daily run then scores one session, not five
        # years of warm-up) and saves its own; see prometheus.engines.stability.checkpoint.
        build=lambda cal, delay, historical: StabilityEngine(cfg, cal, checkpoint_store(historical.data_root)),
        plot=lambda frame, view, m: stability_plot_png(frame, f"{m.value} stability"),
    )
    return [build_engine_asset(scope, asset)]


def checkpoint_store(data_root: str | Path) -> CheckpointStore:
    """The Stability checkpoints of a data root: ``<data root>/lake/checkpoints``."""
    return CheckpointStore(Path(data_root) / "lake" / "checkpoints")
