"""Output schema of the Fragility engine (table ``fragility_scores``)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

import polars as pl

from prometheus.engines.base import DECISION_COLUMNS

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

#: Output frame: per session, one row per clustered instrument and one per cluster of at least
#: ``min_cluster_size`` names (``instrument = 'cluster:<id>'``). ``score``: instrument rows = crowding penalty
#: ((cluster size - 1) x its average residual correlation, times min(1, the name's own mean correlation with the
#: other members / that average), raised for rising illiquidity); cluster rows = the cluster's average residual
#: correlation.
FRAGILITY_SCHEMA: Mapping[str, pl.DataType] = DECISION_COLUMNS | {
    "instrument": pl.String(),
    "score": pl.Float64(),
    "components": COMPONENTS_DTYPE,
}


def flagged_cluster_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """The cluster rows of a fragility output whose cluster is flagged as crowded."""
    clusters = frame.filter(pl.col("instrument").str.starts_with(CLUSTER_PREFIX))
    return clusters.filter(pl.col("components").struct.field("flagged") == 1.0)
