"""Output schema of the Fragility engine (table ``fragility_scores``)."""

from __future__ import annotations

from enum import StrEnum

import polars as pl

from prometheus.data.schema import Column, Table
from prometheus.engines.base import EngineSpec

#: Prefix of a cluster row's instrument value: ``cluster:<alphabetically first member>``.
CLUSTER_PREFIX = "cluster:"


class FragilityComponent(StrEnum):
    """Fields of ``components`` (Float64; null where a field does not apply to the row)."""

    CLUSTER_AVG_CORR = "cluster_avg_corr"  # mean pairwise residual correlation inside the cluster
    CLUSTER_SIZE = "cluster_size"  # names in the cluster
    CLUSTER_AR = "cluster_ar"  # absorption ratio of the cluster's residual correlation (shrunk)
    CLUSTER_AMIHUD_TREND = "cluster_amihud_trend"  # mean log(recent / baseline Amihud) of the members
    AMIHUD_TREND = "amihud_trend"  # the instrument's own log(recent / baseline Amihud); null on cluster rows
    OWN_CORR = "own_corr"  # the instrument's mean residual correlation with its cluster; null on cluster rows
    FLAGGED = "flagged"  # 1.0 when the cluster is flagged as crowded


#: Struct dtype of ``components``.
COMPONENTS_DTYPE = pl.Struct({c.value: pl.Float64() for c in FragilityComponent})

#: Inputs, output table and columns: per session, one row per clustered instrument and one per cluster of at
#: least ``min_cluster_size`` names (``instrument = 'cluster:<id>'``).
FRAGILITY_SPEC = EngineSpec(
    name="fragility",
    description="Crowding of point-in-time residual clusters per session: per-name penalties and cluster rows.",
    output_table="fragility_scores",
    columns=(
        Column("instrument", pl.String(), "the instrument, or 'cluster:<alphabetically first member>'"),
        Column(
            "score",
            pl.Float64(),
            "instrument rows: crowding penalty ((cluster size - 1) x its average residual correlation, times "
            "min(1, own / average correlation), raised for rising illiquidity); cluster rows: average residual "
            "correlation",
        ),
        Column("components", COMPONENTS_DTYPE, "the statistics behind the score (FragilityComponent)"),
    ),
    inputs=(Table.INSTRUMENTS, Table.PRICES_ADJUSTED),
    key=("instrument",),
    decision_columns=("score",),
)


def flagged_cluster_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """The cluster rows of a fragility output whose cluster is flagged as crowded."""
    clusters = frame.filter(pl.col("instrument").str.starts_with(CLUSTER_PREFIX))
    return clusters.filter(pl.col("components").struct.field("flagged") == 1.0)
