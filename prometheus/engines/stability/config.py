"""Typed config of the Stability engine (frozen, unknown keys rejected, content-hashed)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from prometheus.core.config import VersionedConfig
from prometheus.core.errors import ConfigError


class StabilityConfig(VersionedConfig):
    """Windows and thresholds of the stability measures; any change is a new ``config_version``.

    Windows count sessions. Every statistic at session d uses only values computed at sessions <= d, each from
    the data known at its own decision time, so a run's output never depends on where the run starts.
    """

    kind: ClassVar[str] = "stability"

    # A quarter, not a year: crisis spells last ~40 sessions and a one-year window barely moves within one.
    ar_window: int = Field(63, ge=20, description="Returns behind each absorption ratio (incl. the session).")
    ar_fraction: float = Field(0.2, gt=0.0, le=1.0, description="Eigenvectors counted: fraction of the names.")
    delta_short: int = Field(15, ge=2, description="Recent absorption-ratio mean of Delta AR.")
    delta_long: int = Field(252, ge=20, description="Trailing absorption-ratio mean and sd of Delta AR.")
    turbulence_window: int = Field(252, ge=20, description="Returns before the session that set mean and cov.")
    turbulence_quantile: float = Field(0.75, gt=0.0, lt=1.0, description="Turbulent above this trailing quantile.")
    turbulence_smooth: int = Field(10, ge=1, description="Sessions of turbulence averaged in the composite.")
    corr_window: int = Field(21, ge=5, description="Returns behind the average pairwise correlation.")
    # Three years, not one: a regime is a level, and a one-year baseline that is itself mostly crisis (or calm)
    # hides it. Changed from 252 after the dev-seed study in docs/engines/stability.md.
    norm_window: int = Field(756, ge=20, description="Trailing sessions that standardise each component.")
    score_window: int = Field(252, ge=20, description="Trailing sessions of the composite's percentile.")
    min_history: int = Field(63, ge=5, description="Fewest trailing values for a z-score or percentile.")
    min_names: int = Field(10, ge=3, description="Fewest complete names for the market row.")
    min_sector_names: int = Field(8, ge=3, description="Fewest complete names for a sector row.")
    sectors: bool = Field(True, description="Also score each sector with enough names.")

    @model_validator(mode="after")
    def _check(self) -> StabilityConfig:
        if self.delta_short >= self.delta_long:
            raise ConfigError("delta_short must be below delta_long", setting="delta_short")
        if self.min_history > min(self.norm_window, self.score_window):
            raise ConfigError("min_history must not exceed norm_window or score_window", setting="min_history")
        return self

    @property
    def data_window(self) -> int:
        """Rows of returns behind one session's measures."""
        return max(self.ar_window, self.turbulence_window + 1, self.corr_window)

    @property
    def series_warmup(self) -> int:
        """Sessions of measures needed before a decision (trailing statistics of trailing statistics).

        The percentile reads ``score_window`` composites, each z-scoring ``norm_window`` smoothed turbulences, each
        the mean of ``turbulence_smooth`` turbulences: with fewer sessions the first decisions of a run would
        depend on where it starts, and a run resumed from a checkpoint would not match a fresh one.
        """
        chained = self.norm_window + self.turbulence_smooth - 1
        return self.score_window + max(chained, self.delta_long, self.turbulence_window)

    @property
    def lookback_sessions(self) -> int:
        """Sessions of history needed before the first decision."""
        return self.data_window + self.series_warmup
