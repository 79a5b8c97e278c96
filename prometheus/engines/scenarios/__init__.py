"""Synthetic Scenarios engine: scenario generators, stress P&L of the target portfolio, VaR/ES and stress scaling."""

from prometheus.engines.scenarios.config import ScenarioConfig, ScenarioKind
from prometheus.engines.scenarios.engine import EPOCH, ScenariosEngine
from prometheus.engines.scenarios.lake import PathKey, ScenarioPathStore
from prometheus.engines.scenarios.plot import scenarios_plot_png, worst_set_by_session
from prometheus.engines.scenarios.schema import SCENARIO_RESULTS, SCENARIOS_SPEC

__all__ = [
    "EPOCH",
    "SCENARIOS_SPEC",
    "SCENARIO_RESULTS",
    "PathKey",
    "ScenarioConfig",
    "ScenarioKind",
    "ScenarioPathStore",
    "ScenariosEngine",
    "scenarios_plot_png",
    "worst_set_by_session",
]
