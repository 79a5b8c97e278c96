"""Decision engines: Regime, Stability, Fragility, Assessment, Universe, Portfolio, Scenarios.

The engine kit: :class:`EngineSpec` declares what an engine reads and writes, :class:`Engine` is the protocol it
implements, :mod:`prometheus.engines.runner` runs any engine the same way, and :mod:`prometheus.data.checks`
holds the output checks every engine's asset reports.
"""

from prometheus.engines.base import (
    DECISION_COLUMNS,
    Decision,
    Engine,
    EngineResult,
    EngineSpec,
    OutputTable,
    RunContext,
    check_output,
    extra_frames,
    history_sessions,
)

__all__ = [
    "DECISION_COLUMNS",
    "Decision",
    "Engine",
    "EngineResult",
    "EngineSpec",
    "OutputTable",
    "RunContext",
    "check_output",
    "extra_frames",
    "history_sessions",
]
