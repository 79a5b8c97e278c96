"""The meta layer: what happened after each decision (outcomes) and, on top of it, Kronos.

Reads decisions and engine outputs from the runtime store and realised market data through the TimeMachine; never
imports Dagster or a broker.
"""

from prometheus.meta.execution_outcomes import EXECUTION_ENGINE, execution_outcomes
from prometheus.meta.outcomes import (
    DEFAULT_HORIZONS,
    OUTCOME_ENGINES,
    OUTCOME_SCHEMA,
    RealisedMarket,
    decision_outcomes,
    outcomes_for_sessions,
    read_outcomes,
    realised_market,
    write_outcomes,
)

__all__ = [
    "DEFAULT_HORIZONS",
    "EXECUTION_ENGINE",
    "OUTCOME_ENGINES",
    "OUTCOME_SCHEMA",
    "RealisedMarket",
    "decision_outcomes",
    "execution_outcomes",
    "outcomes_for_sessions",
    "read_outcomes",
    "realised_market",
    "write_outcomes",
]
