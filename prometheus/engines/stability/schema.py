"""Output schema of the Stability engine (table ``stability_scores``)."""

from __future__ import annotations

from enum import StrEnum

import polars as pl

from prometheus.data.schema import Column, Table
from prometheus.engines.base import EngineSpec

#: Instrument value of the market-wide row.
MARKET_ROW = ""
#: Prefix of a sector row's instrument value: ``sector:<sector name>``.
SECTOR_PREFIX = "sector:"


class StabilityComponent(StrEnum):
    """Fields of ``components`` (all Float64, null when a statistic is undefined)."""

    ABSORPTION_RATIO = "absorption_ratio"  # share of variance in the top fraction of eigenvectors (shrunk cov)
    DELTA_AR = "delta_ar"  # (15-session mean AR - 1-year mean AR) / sd(1-year AR); a spike at >= 1
    TURBULENCE = "turbulence"  # Mahalanobis distance / n under trailing mean and shrunk covariance
    TURBULENCE_THRESHOLD = "turbulence_threshold"  # trailing quantile of turbulence
    TURBULENT = "turbulent"  # 1.0 when turbulence > threshold, else 0.0
    AVG_CORRELATION = "avg_correlation"  # mean pairwise correlation over the correlation window
    COMPOSITE = "composite"  # mean of the trailing z-scores of AR, avg correlation and smoothed log turbulence
    NAMES = "names"  # names with complete returns in the window


#: Struct dtype of ``components``.
COMPONENTS_DTYPE = pl.Struct({c.value: pl.Float64() for c in StabilityComponent})

#: Inputs, output table and columns: one row per session and scope (market '' or 'sector:<name>').
STABILITY_SPEC = EngineSpec(
    name="stability",
    description="Absorption ratio, Delta AR, turbulence and average correlation of the market and its sectors per "
    "session, with a stability score (1 = stable).",
    output_table="stability_scores",
    columns=(
        Column("instrument", pl.String(), "'' = market, 'sector:<name>' = sector"),
        Column("score", pl.Float64(), "1 - trailing-year percentile of the composite: 1 stable, 0 the least stable"),
        Column("components", COMPONENTS_DTYPE, "the measures behind the score (StabilityComponent)"),
    ),
    inputs=(Table.INSTRUMENTS, Table.PRICES_ADJUSTED),
    key=("instrument",),
    decision_columns=("score",),
)
