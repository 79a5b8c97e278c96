"""Fragility engine: crowding of point-in-time residual clusters, a risk penalty and sizing input."""

from prometheus.engines.fragility.clusters import (
    Cluster,
    amihud_trend,
    cluster_labels,
    clusters_of,
    correlation,
    excess,
    instrument_scores,
    market_sector_residuals,
    remove_style_factors,
    residual_returns,
)
from prometheus.engines.fragility.config import FragilityConfig, Linkage
from prometheus.engines.fragility.engine import FragilityEngine
from prometheus.engines.fragility.plot import fragility_plot_png
from prometheus.engines.fragility.schema import (
    CLUSTER_PREFIX,
    FRAGILITY_SPEC,
    FragilityComponent,
    flagged_cluster_rows,
)

__all__ = [
    "flagged_cluster_rows",
    "CLUSTER_PREFIX",
    "FRAGILITY_SPEC",
    "Cluster",
    "FragilityComponent",
    "FragilityConfig",
    "FragilityEngine",
    "Linkage",
    "amihud_trend",
    "cluster_labels",
    "clusters_of",
    "excess",
    "fragility_plot_png",
    "correlation",
    "instrument_scores",
    "market_sector_residuals",
    "remove_style_factors",
    "residual_returns",
]
