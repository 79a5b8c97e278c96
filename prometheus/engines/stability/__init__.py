"""Stability engine: absorption ratio and Delta AR, turbulence and average correlation, per market and sector."""

from prometheus.engines.stability.checkpoint import CheckpointStore, StabilityCheckpoint
from prometheus.engines.stability.config import StabilityConfig
from prometheus.engines.stability.engine import StabilityEngine
from prometheus.engines.stability.plot import stability_plot_png
from prometheus.engines.stability.schema import (
    MARKET_ROW,
    SECTOR_PREFIX,
    STABILITY_SPEC,
    StabilityComponent,
)

__all__ = [
    "CheckpointStore",
    "MARKET_ROW",
    "SECTOR_PREFIX",
    "STABILITY_SPEC",
    "StabilityCheckpoint",
    "StabilityComponent",
    "StabilityConfig",
    "StabilityEngine",
    "stability_plot_png",
]
