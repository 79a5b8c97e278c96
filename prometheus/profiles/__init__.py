"""Point-in-time instrument profiles: sector, risk, liquidity, embedding cluster and event statistics."""

from prometheus.profiles.compute import (
    SESSIONS_PER_YEAR,
    centroids,
    cluster_labels,
    compute_profiles,
    embedding_panel,
    event_stats,
    profile_version,
    sector_of,
)
from prometheus.profiles.config import ProfileConfig

__all__ = [
    "SESSIONS_PER_YEAR",
    "ProfileConfig",
    "centroids",
    "cluster_labels",
    "compute_profiles",
    "embedding_panel",
    "event_stats",
    "profile_version",
    "sector_of",
]
