"""Decision engines: Regime, Stability, Fragility, Assessment, Universe, Portfolio, Scenarios."""

from prometheus.engines.base import (
    DECISION_COLUMNS,
    Decision,
    Engine,
    EngineResult,
    RunContext,
    check_output,
    decision_times,
)

__all__ = ["DECISION_COLUMNS", "Decision", "Engine", "EngineResult", "RunContext", "check_output", "decision_times"]
