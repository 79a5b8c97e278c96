"""The Regime engine's declaration: inputs and output (table ``regime_states``)."""

from __future__ import annotations

import polars as pl

from prometheus.data.schema import Column, Table
from prometheus.engines.base import EngineSpec

#: Inputs, output table and columns of the Regime engine; key: (market, session, experiment, config_version).
REGIME_SPEC = EngineSpec(
    name="regime",
    description="Regime state, label, probabilities and confidence of the market per session.",
    output_table="regime_states",
    columns=(
        Column("state", pl.Int64(), "0 = calmest; states ordered by volatility on the model's training window"),
        Column("label", pl.String(), "RegimeLabel: calm / crisis (2 states) or calm / normal / crisis (3 states)"),
        Column("probabilities", pl.List(pl.Float64()), "filtered state probabilities, in state order"),
        Column("confidence", pl.Float64(), "the largest probability"),
    ),
    # The market series reads the benchmark (markets, macro) or the equal-weighted listed names (instruments, prices).
    inputs=(Table.MARKETS, Table.INSTRUMENTS, Table.PRICES_ADJUSTED, Table.MACRO_OBSERVATIONS),
    decision_columns=("state", "label", "confidence"),
    probabilities="probabilities",
)
