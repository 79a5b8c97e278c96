"""Typed config of the Fragility engine (frozen, unknown keys rejected, content-hashed)."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import Field, model_validator

from prometheus.core.config import VersionedConfig
from prometheus.core.errors import ConfigError


class Linkage(StrEnum):
    """Hierarchical clustering linkage (scipy.cluster.hierarchy)."""

    AVERAGE = "average"
    COMPLETE = "complete"


class FragilityConfig(VersionedConfig):
    """Windows and thresholds of the crowding measures; any change is a new ``config_version``."""

    kind: ClassVar[str] = "fragility"

    beta_window: int = Field(
        252, ge=20, description="Sessions behind the market and sector betas; its rows before corr_window also "
        "estimate the statistical style factors."
    )  # fmt: skip
    corr_window: int = Field(63, ge=10, description="Sessions of residuals behind the residual correlations.")
    # Market and sector leave persistent style-like structure (value, size, momentum...) in the residuals, and it
    # clusters like a crowd. Removing the top principal components of the residuals *before* the recent window
    # keeps what is new in the recent window, which is what a crowd building up looks like.
    style_factors: int = Field(3, ge=0, description="Principal components of the earlier residuals removed.")
    linkage: Linkage = Linkage.AVERAGE
    cut_similarity: float = Field(
        0.3, gt=-1.0, lt=1.0, description="Clusters are cut where the linkage profile similarity falls below this."
    )
    min_cluster_size: int = Field(5, ge=2, description="Fewest names of a cluster that can be flagged.")
    flag_correlation: float = Field(0.15, gt=0.0, lt=1.0, description="Flag clusters at this average residual corr.")
    flag_excess: float = Field(2.0, gt=0.0, description="... and at this (size - 1) x average residual corr.")
    ar_fraction: float = Field(0.2, gt=0.0, le=1.0, description="Eigenvectors of the cluster absorption ratio.")
    amihud_short: int = Field(21, ge=5, description="Recent Amihud illiquidity window.")
    amihud_long: int = Field(126, ge=10, description="Baseline Amihud illiquidity window.")
    min_names: int = Field(20, ge=4, description="Fewest complete names to cluster.")
    min_sector_names: int = Field(3, ge=2, description="Fewest complete names for a sector factor.")

    @model_validator(mode="after")
    def _check(self) -> FragilityConfig:
        if self.corr_window > self.beta_window:
            raise ConfigError("corr_window must not exceed beta_window", setting="corr_window")
        if self.style_factors and self.beta_window - self.corr_window < 20:
            raise ConfigError("style factors need beta_window - corr_window >= 20 earlier sessions",
                              setting="style_factors")  # fmt: skip
        if self.amihud_short >= self.amihud_long:
            raise ConfigError("amihud_short must be below amihud_long", setting="amihud_short")
        return self

    @property
    def data_window(self) -> int:
        """Rows of returns behind one session."""
        return max(self.beta_window, self.amihud_long)

    @property
    def lookback_sessions(self) -> int:
        """Sessions of history needed before the first decision."""
        return self.data_window
