"""Point-in-time instrument profiles: sector, risk, liquidity, embedding cluster and event statistics.

A layer above the encoders: profiles read the embeddings.
"""

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
from prometheus.profiles.pipeline import write_panel_profiles, write_profiles

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
    "write_panel_profiles",
    "write_profiles",
]
