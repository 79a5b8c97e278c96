"""Declared schema of the Regime engine's output frame (table ``regime_states``)."""

from __future__ import annotations

from types import MappingProxyType

import polars as pl

from prometheus.engines.base import DECISION_COLUMNS

#: Output table in the runtime store.
REGIME_TABLE = "regime_states"

#: Column -> dtype of the output; key: (market, session, experiment, config_version).
REGIME_STATES_SCHEMA: MappingProxyType[str, pl.DataType] = MappingProxyType(
    DECISION_COLUMNS
    | {
        "state": pl.Int64(),  # 0 = calmest; states ordered by volatility on the model's training window
        "label": pl.String(),  # RegimeLabel: calm / crisis (2 states) or calm / normal / crisis (3 states)
        "probabilities": pl.List(pl.Float64()),  # filtered state probabilities, in state order
        "confidence": pl.Float64(),  # the largest probability
    }
)

#: Columns identifying a row.
REGIME_STATES_KEY = ("market", "session", "experiment", "config_version")
