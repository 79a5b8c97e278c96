"""Typed config of the Universe engine (frozen, unknown keys rejected, content-hashed)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from prometheus.core.config import VersionedConfig
from prometheus.core.errors import ConfigError


class UniverseConfig(VersionedConfig):
    """Screens, rank hysteresis and capacity of the tradable universe; any change is a new ``config_version``.

    Windows count sessions. Membership at session d depends on membership at d - 1 (hysteresis), so a run walks
    ``warmup_sessions`` sessions before its first decided session from an empty universe. Two runs agree on a
    session once both warm-ups have reached a session where every name's band position (rank <= enter, in the
    band, rank > leave or screened out) is decided without the past; ``warmup_sessions`` sets how far back that is
    looked for (docs/engines/universe.md measures it).
    """

    kind: ClassVar[str] = "universe"

    price_floor: float = Field(5.0, ge=0.0, description="Lowest last close (split-adjusted) of a member.")
    volume_window: int = Field(20, ge=1, description="Sessions of the median dollar volume (no bar = 0).")
    volume_floor: float = Field(1e6, ge=0.0, description="Lowest median dollar volume of a member.")
    history_window: int = Field(189, ge=1, description="Trailing sessions in which bars are counted for history.")
    min_history: int = Field(126, ge=1, description="Fewest bars within history_window of a member.")
    qc_window: int = Field(20, ge=1, description="Trailing sessions in which a quarantined bar screens a name out.")
    enter_rank: int = Field(450, ge=1, description="A non-member enters at a dollar-volume rank <= this.")
    leave_rank: int = Field(550, ge=1, description="A member leaves at a rank > this.")
    participation: float = Field(0.05, gt=0.0, le=1.0, description="Share of median dollar volume one may trade.")
    warmup_sessions: int = Field(252, ge=0, description="Sessions walked before the first decision (hysteresis).")

    @model_validator(mode="after")
    def _check(self) -> UniverseConfig:
        if self.enter_rank > self.leave_rank:
            raise ConfigError("enter_rank must not exceed leave_rank", setting="enter_rank")
        if self.min_history > self.history_window:
            raise ConfigError("min_history must not exceed history_window", setting="min_history")
        return self

    @property
    def data_window(self) -> int:
        """Rows of bars behind one session's screens."""
        return max(self.volume_window, self.history_window, self.qc_window)

    @property
    def lookback_sessions(self) -> int:
        """Sessions of history needed before the first decision."""
        return self.warmup_sessions + self.data_window
