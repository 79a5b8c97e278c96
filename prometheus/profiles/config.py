"""Config of the instrument profiles (frozen, unknown keys rejected, content-hashed)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from prometheus.core.config import VersionedConfig
from prometheus.encoders.config import RetrainPeriod


class ProfileConfig(VersionedConfig):
    """Windows of the rolling statistics and the clustering of embedding centroids."""

    kind: ClassVar[str] = "profiles"

    beta_window: int = Field(120, ge=20, description="Sessions of the rolling beta.")
    vol_window: int = Field(60, ge=5, description="Sessions of the rolling volatility.")
    adv_window: int = Field(20, ge=1, description="Sessions of the average dollar volume.")
    amihud_window: int = Field(20, ge=1, description="Sessions of the Amihud illiquidity.")
    centroid_window: int = Field(20, ge=1, description="Sessions of embeddings averaged into the centroid.")
    n_clusters: int = Field(8, ge=2, le=64, description="Clusters of centroids.")
    cluster_period: RetrainPeriod = Field(RetrainPeriod.QUARTER, description="Clusters are refitted per period.")
    seed: int = Field(11, ge=0)
