"""Output schema of the Assessment engine (table ``assessments``)."""

from __future__ import annotations

import polars as pl

from prometheus.data.schema import Column
from prometheus.engines.assessment.features import FAMILY_TABLES
from prometheus.engines.base import EngineSpec

#: Per-row details: the score's place in its session's cross-section.
DETAILS_DTYPE = pl.Struct({"percentile": pl.Float64(), "decile": pl.Int64()})

#: Inputs, output table and columns: one row per (session, instrument with a bar known at the decision time).
ASSESSMENT_SPEC = EngineSpec(
    name="assessment",
    description="Forecast score of every listed instrument per session: LightGBM on point-in-time features, "
    "retrained walk-forward on purged and embargoed ranked forward returns.",
    output_table="assessments",
    columns=(
        Column("instrument", pl.String(), "symbol"),
        Column("score", pl.Float64(), "the model's prediction (higher = better expected forward return rank)"),
        Column(
            "expected_return",
            pl.Float64(),
            "expected return over the horizon relative to the session's cross-sectional mean (calibrated score)",
        ),  # fmt: skip
        Column("horizon_sessions", pl.Int64(), "H: sessions of the forward return the score forecasts"),
        Column("model_version", pl.String(), "the model in force (config, period and training window hash)"),
        Column("details", DETAILS_DTYPE, "percentile (0-1] and decile (1-10) of the score in its session"),
    ),
    inputs=tuple(dict.fromkeys(t for tables in FAMILY_TABLES.values() for t in tables)),
    key=("instrument",),
    upstream=("regime", "stability", "fragility"),
    decision_columns=("score", "expected_return", "model_version"),
)
