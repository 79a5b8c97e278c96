"""Configs of the encoders (frozen, unknown keys rejected, content-hashed)."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import Field, model_validator

from prometheus.core.config import VersionedConfig
from prometheus.core.errors import ConfigError


class EncoderKind(StrEnum):
    """Values of ``encoder_models.encoder``."""

    NUMERIC = "numeric"
    TEXT = "text"


class RetrainPeriod(StrEnum):
    """How often the numeric encoder is retrained (one model partition per period)."""

    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


class NumericEncoderConfig(VersionedConfig):
    """The causal return encoder: architecture, features, walk-forward training and its budget.

    The encoder is a dilated causal CNN; the embedding of (instrument, session t) is the output at t, which
    depends only on the ``receptive_field`` sessions ending at t.
    """

    kind: ClassVar[str] = "numeric_encoder"

    dim: int = Field(32, ge=8, le=128, description="Embedding dimension.")
    channels: int = Field(32, ge=4, le=256, description="Hidden channels of the CNN.")
    kernel_size: int = Field(3, ge=2, le=7)
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16)
    volume_window: int = Field(60, ge=5, description="Sessions of the dollar-volume z-score baseline.")
    beta_window: int = Field(60, ge=10, description="Sessions of the beta used for the market residual.")
    clip: float = Field(8.0, gt=0.0, description="Inputs are clipped at +-clip after scaling.")
    min_coverage: float = Field(0.8, gt=0.0, le=1.0, description="Share of the window with bars for an embedding.")
    retrain: RetrainPeriod = RetrainPeriod.QUARTER
    train_sessions: int = Field(504, ge=60, description="Training window: sessions before the period.")
    min_train_sessions: int = Field(252, ge=60, description="No model for a period with less history.")
    steps_initial: int = Field(300, ge=1, description="Optimiser steps of a model trained from scratch.")
    steps_retrain: int = Field(60, ge=1, description="Optimiser steps of a warm-started retrain.")
    warm_start: bool = Field(True, description="Start each retrain from the previous period's weights.")
    batch_sessions: int = Field(8, ge=1, description="Distinct sessions per batch.")
    batch_names: int = Field(32, ge=2, description="Names per session in a batch.")
    learning_rate: float = Field(3e-3, gt=0.0)
    temperature: float = Field(0.2, gt=0.0)
    jitter: float = Field(0.1, ge=0.0, description="Gaussian noise added to scaled inputs (augmentation).")
    max_train_names: int | None = Field(200, ge=10, description="Names sampled for training (None: all).")
    alignment_sessions: int = Field(63, ge=5, description="Last training sessions used to align a retrain.")
    seed: int = Field(7, ge=0)
    threads: int = Field(1, ge=1, le=64, description="torch intra-op threads: 1 is fastest on shared cores.")

    @model_validator(mode="after")
    def _check(self) -> NumericEncoderConfig:
        if not self.dilations or min(self.dilations) < 1:
            raise ConfigError("dilations must be positive integers", setting="dilations")
        if self.min_train_sessions > self.train_sessions:
            raise ConfigError("min_train_sessions must not exceed train_sessions", setting="min_train_sessions")
        return self

    @property
    def receptive_field(self) -> int:
        """Sessions that one embedding depends on."""
        return 1 + (self.kernel_size - 1) * sum(self.dilations)

    @property
    def feature_lookback(self) -> int:
        """Sessions of history the input features need before their first value."""
        return max(self.volume_window, self.beta_window) + 1

    @property
    def lookback_sessions(self) -> int:
        """Sessions of history needed before the first embedded session."""
        return self.receptive_field + self.feature_lookback


class TextEncoderConfig(VersionedConfig):
    """The news encoder (all-MiniLM-L6-v2, offline) and the per-session aggregation."""

    kind: ClassVar[str] = "text_encoder"

    model_name: str = Field("all-MiniLM-L6-v2", description="Sentence-transformers model shipped in the wheel.")
    batch_size: int = Field(64, ge=1)
    lookback_sessions: int = Field(5, ge=1, description="Items of the last n decision windows are aggregated.")
    threads: int = Field(1, ge=1, le=64)


#: The embedded default's numeric encoder, the code location's default (so `make demo` and `make ui` agree):
#: yearly retrains on a subsample of names keep the step under a minute.
DEMO_NUMERIC = NumericEncoderConfig(
    retrain="year", channels=16, steps_initial=150, steps_retrain=25, max_train_names=100, batch_sessions=4
)
