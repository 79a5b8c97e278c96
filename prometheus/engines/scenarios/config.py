"""Typed config of the Synthetic Scenarios engine (frozen, unknown keys rejected, content-hashed)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from prometheus.core.config import VersionedConfig
from prometheus.core.errors import ConfigError


class ScenarioKind(StrEnum):
    """The scenario generators (``prometheus.engines.scenarios.generators``)."""

    FILTERED_HISTORICAL = "filtered_historical"  # GJR-GARCH-t filter, whole-row bootstrap of standardised residuals
    BLOCK_BOOTSTRAP = "block_bootstrap"  # stationary bootstrap of whole rows of returns
    REGIME_BOOTSTRAP = "regime_bootstrap"  # rows of the current regime (and a stressed variant: crisis rows)
    REPLAY = "replay"  # named historical windows replayed as paths
    SHOCK = "shock"  # hypothetical shocks: market, sector, crisis correlation


class GarchFit(StrEnum):
    """Where the GARCH dynamics of the filtered historical simulation are estimated."""

    #: One ``arch`` fit on the equal-weighted market; every name shares its (alpha, gamma, beta) and gets its own
    #: constant by variance targeting. One fit instead of n keeps 500 names well under a second.
    MARKET = "market"
    #: One ``arch`` fit per name (about 30 ms each: ~17 s for 500 names on one core).
    NAME = "name"


class GarchDist(StrEnum):
    """Innovation distribution of the GARCH fit."""

    STUDENT_T = "t"
    NORMAL = "normal"


class GarchSpec(BaseModel):
    """The volatility filter: GJR-GARCH(1,1) (``asymmetric``) or GARCH(1,1), fitted by ``arch``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    asymmetric: bool = Field(True, description="GJR term (o=1): falls raise volatility more than rises.")
    dist: GarchDist = GarchDist.STUDENT_T
    fit: GarchFit = GarchFit.MARKET
    # Persistence alpha + gamma/2 + beta at or above one has no unconditional variance to target.
    max_persistence: float = Field(0.995, gt=0.0, lt=1.0, description="Fitted persistence is capped here.")


class ReplayWindow(BaseModel):
    """A named historical window (sessions from ``start`` to ``end``, both inclusive) replayed as one path."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _check(self) -> ReplayWindow:
        if self.end < self.start:
            # A ValueError (not ConfigError) so pydantic reports the window's full path, e.g. replay_windows[0].
            raise ValueError(f"replay window {self.name!r}: end before start")
        return self


class ScenarioConfig(VersionedConfig):
    """Scenario sets, their history and seed, the hypothetical shocks and the VaR levels.

    Paths are daily simple returns over ``horizon_sessions``. Each generator draws from its own random stream,
    seeded by (``seed``, generator name), so switching one generator off never changes another's paths.
    """

    kind: ClassVar[str] = "scenarios"

    paths: int = Field(1000, ge=1, description="Paths per generated scenario set.")
    horizon_sessions: int = Field(20, ge=1, le=252, description="Sessions per path.")
    history_sessions: int = Field(756, ge=60, description="Trailing sessions the generators draw from.")
    seed: int = Field(0, ge=0)
    generators: tuple[ScenarioKind, ...] = tuple(ScenarioKind)
    garch: GarchSpec = Field(default_factory=GarchSpec)
    block_length: float | None = Field(
        None, ge=1.0, description="Mean block of the stationary bootstrap; None = automatic (Politis-White)."
    )
    replay_windows: tuple[ReplayWindow, ...] = ()
    market_shock: float = Field(-0.10, gt=-1.0, description="Market move; a name moves beta times it.")
    sector_shock: float = Field(-0.20, gt=-1.0, description="Move of every name of the shocked sector.")
    shock_sectors: tuple[str, ...] = Field((), description="Sectors shocked one at a time; empty = every sector.")
    crisis_correlation: float = Field(0.6, gt=0.0, lt=1.0, description="Average pairwise correlation under stress.")
    every_sessions: int = Field(5, ge=1, description="Scenarios run every this many sessions (5 = weekly).")
    var_levels: tuple[float, ...] = Field((0.95, 0.99), min_length=1)
    stress_loss_limit: float | None = Field(
        None, gt=0.0, description="Largest stress loss allowed (fraction of capital); None = no scaling."
    )

    @model_validator(mode="after")
    def _check(self) -> ScenarioConfig:
        if len(set(self.generators)) != len(self.generators):
            raise ConfigError("generators must not repeat", setting="generators")
        if any(not 0.5 < v < 1.0 for v in self.var_levels):
            raise ConfigError("every VaR level must be in (0.5, 1)", setting="var_levels")
        names = [w.name for w in self.replay_windows]
        if len(set(names)) != len(names):
            raise ConfigError("replay window names must be unique", setting="replay_windows")
        return self

    def runs_on(self, session_index: int) -> bool:
        """Whether scenarios run on the ``session_index``-th session of a run (the first one, then every N)."""
        return session_index % self.every_sessions == 0
