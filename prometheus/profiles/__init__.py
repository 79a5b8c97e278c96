"""Point-in-time instrument profiles: sector, risk, liquidity, embedding cluster and event statistics.

A layer above the encoders (profiles read the embeddings), so the demo build of both lives here too.
"""

from prometheus.profiles.build import DEMO_NUMERIC, EncoderBuildSummary, build_default
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
    "DEMO_NUMERIC",
    "SESSIONS_PER_YEAR",
    "EncoderBuildSummary",
    "ProfileConfig",
    "build_default",
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
