"""Stability engine: absorption ratio and Delta AR, turbulence and average correlation, per market and sector."""

from prometheus.data.panel import PanelWindow, PointInTimePanel, listed_names
from prometheus.engines.stability.config import StabilityConfig
from prometheus.engines.stability.engine import StabilityEngine, run_sessions
from prometheus.engines.stability.plot import stability_plot_png
from prometheus.engines.stability.run import PANEL_INPUT_TABLES, load_panel_history, run_panel_engine, run_stability
from prometheus.engines.stability.schema import (
    MARKET_ROW,
    SECTOR_PREFIX,
    STABILITY_SCHEMA,
    StabilityComponent,
)

__all__ = [
    "MARKET_ROW",
    "PANEL_INPUT_TABLES",
    "SECTOR_PREFIX",
    "STABILITY_SCHEMA",
    "PanelWindow",
    "PointInTimePanel",
    "StabilityComponent",
    "StabilityConfig",
    "StabilityEngine",
    "listed_names",
    "load_panel_history",
    "run_panel_engine",
    "stability_plot_png",
    "run_sessions",
    "run_stability",
]
