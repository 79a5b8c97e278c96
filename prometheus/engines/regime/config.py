"""Typed config of the Regime engine (frozen, unknown keys rejected, content-hashed)."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import Field, model_validator

from prometheus.core.config import VersionedConfig
from prometheus.core.errors import ConfigError


class RegimeMethod(StrEnum):
    """Which model labels the regimes."""

    #: Statistical jump model (``jumpmodels``), labels from its online predictions only.
    JUMP = "jump"
    #: Gaussian HMM (``hmmlearn`` fit) with a forward filter: the baseline.
    HMM = "hmm"


class RegimeLabel(StrEnum):
    """Label of a regime state; states are ordered by their volatility (calm lowest)."""

    CALM = "calm"
    NORMAL = "normal"
    CRISIS = "crisis"


def labels_for(n_states: int) -> tuple[RegimeLabel, ...]:
    """Labels of states 0..n-1 in increasing volatility: (calm, crisis) or (calm, normal, crisis)."""
    if n_states == 2:
        return (RegimeLabel.CALM, RegimeLabel.CRISIS)
    if n_states == 3:
        return (RegimeLabel.CALM, RegimeLabel.NORMAL, RegimeLabel.CRISIS)
    raise ConfigError(f"n_states must be 2 or 3, not {n_states}", setting="n_states")


class RegimeConfig(VersionedConfig):
    """Everything that shapes the regime labels; any change is a new ``config_version``.

    Refits are walk-forward: the model for a refit period (a calendar year by default) is trained on the
    ``train_sessions`` sessions before the period starts (at least ``min_train_sessions``), so it is known after
    its training window, before the first session it labels.
    """

    kind: ClassVar[str] = "regime"

    method: RegimeMethod = RegimeMethod.JUMP
    n_states: int = Field(2, ge=2, le=3, description="2 (calm, crisis) or 3 (calm, normal, crisis).")
    half_lives: tuple[int, ...] = Field((5, 20, 60), min_length=1, description="EWM half-lives of the features.")
    feature_window: int = Field(
        600, ge=60, description="Most returns behind a feature row (EWM weight beyond 10 half-lives is < 0.1 %)."
    )
    min_feature_returns: int = Field(20, ge=5, description="Fewer returns known than this: no feature row.")
    downside_weight: float = Field(
        3.0, gt=0.0, description="Weight of the log downside deviation features in the jump model's distance."
    )
    cross_section: bool = Field(
        False,
        description="Add cross-sectional features (correlation proxy, dispersion) of the listed names' returns; "
        "a market without a cross-section (a single index series) falls back to the market-series features.",
    )
    cross_section_half_lives: tuple[int, ...] = Field(
        (5, 20), min_length=1, description="EWM half-lives of the cross-sectional features."
    )
    cross_section_weight: float = Field(
        1.0, gt=0.0, description="Weight of each cross-sectional feature in the jump model's distance."
    )
    min_cross_section_names: int = Field(
        10, ge=2, description="Fewer returns than this on a session: no cross-section that session."
    )
    clip_sigmas: float = Field(3.0, gt=0.0, description="Features clipped at mean +- this many training sds.")
    refit_months: int = Field(12, ge=1, le=12, description="Refit period in months; must divide 12.")
    train_sessions: int = Field(2016, ge=250, description="Training window (sessions before the refit period).")
    min_train_sessions: int = Field(
        400, ge=200, description="Fewer training rows than this before a refit period: no model for it."
    )
    validation_sessions: int = Field(126, ge=40, description="Last part of the training window scoring penalties.")
    jump_penalties: tuple[float, ...] = Field(
        (10.0, 30.0, 60.0, 100.0), min_length=1, description="Jump penalties tried on the validation block."
    )
    continuous: bool = Field(True, description="Continuous jump model: graded state probabilities.")
    switch_cost: float = Field(0.001, ge=0.0, description="Cost per switch in the validation strategy (10 bp).")
    online_warmup_sessions: int = Field(
        60, ge=0, description="Sessions before a refit period the online filter starts from (state carries over)."
    )
    n_init: int = Field(4, ge=1, description="Initialisations per jump-model fit (k-means++ starts).")
    hmm_iterations: int = Field(200, ge=10)
    random_state: int = Field(0, ge=0, description="Seed of model initialisations.")

    @model_validator(mode="after")
    def _check(self) -> RegimeConfig:
        if 12 % self.refit_months:
            raise ConfigError("refit_months must divide 12 (1, 2, 3, 4, 6 or 12)", setting="refit_months")
        if self.min_train_sessions > self.train_sessions:
            raise ConfigError("min_train_sessions exceeds train_sessions", setting="min_train_sessions")
        if self.validation_sessions >= self.min_train_sessions // 2:
            raise ConfigError(
                "validation_sessions must be under half of min_train_sessions", setting="validation_sessions"
            )
        if any(p < 0 for p in self.jump_penalties):
            raise ConfigError("jump penalties must be >= 0", setting="jump_penalties")
        return self

    @property
    def labels(self) -> tuple[RegimeLabel, ...]:
        """Labels of the states in increasing volatility."""
        return labels_for(self.n_states)
