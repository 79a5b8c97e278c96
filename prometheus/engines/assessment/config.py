"""Typed config of the Assessment engine (frozen, unknown keys rejected, content-hashed)."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from prometheus.core.config import VersionedConfig
from prometheus.core.errors import ConfigError


class Objective(StrEnum):
    """What the LightGBM model fits."""

    #: L2 regression on the label (the cross-sectional rank of the forward return, centred on 0).
    REGRESSION = "regression"
    #: LambdaRank with one query per session and the label's quantile bucket as the relevance grade.
    LAMBDARANK = "lambdarank"


class FeatureFamily(StrEnum):
    """Feature families the model may use (``docs/features.md``)."""

    ALPHA158 = "alpha158"
    RESIDUAL = "residual"  # market- and sector-neutral residual returns (short-term residual reversal)
    SIGNALS = "signals"  # vendor signals (signals.csv)
    EMBEDDING = "embedding"  # leading columns of the aligned numeric-encoder embedding
    PROFILE = "profile"
    EVENT = "event"
    NEWS = "news"
    ENGINE = "engine"  # regime, stability and fragility outputs


class Normalisation(StrEnum):
    """How features are scaled per session before the model sees them."""

    #: Cross-sectional percentile rank per session, centred on 0 (nulls stay null). The label is a cross-sectional
    #: rank, so only a name's place among its peers matters; raw levels drift with the regime (volatility,
    #: volume) and let trees split on time instead of on the cross-section. Market-level features (regime,
    #: market stability: one value per session) are left raw, as ranking would erase them.
    RANK = "rank"
    NONE = "none"


class LightGBMParams(BaseModel):
    """The booster's parameters. Defaults are strongly regularised: daily equity labels are mostly noise (a rank IC
    of a few hundredths is a good model), so shallow trees, large leaves, random thresholds and subsampling beat a
    close fit. Chosen on development markets (seeds 1001-1005, never the test seed): docs/engines/assessment.md."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    num_leaves: int = Field(4, ge=2)
    learning_rate: float = Field(0.05, gt=0.0, le=1.0)
    n_estimators: int = Field(100, ge=1, description="Boosting rounds.")
    min_data_in_leaf: int = Field(3000, ge=1)
    feature_fraction: float = Field(0.5, gt=0.0, le=1.0)
    bagging_fraction: float = Field(0.7, gt=0.0, le=1.0)
    bagging_freq: int = Field(1, ge=0)
    lambda_l2: float = Field(10.0, ge=0.0)
    max_bin: int = Field(63, ge=2)
    extra_trees: bool = Field(True, description="Random split thresholds (less fitting of noise).")
    min_gain_to_split: float = Field(0.0, ge=0.0)
    seed: int = 7
    # One thread by default: OpenMP threads thrash on a shared 2-core machine (a fit took 19 s on two contended
    # threads against 3 s on one), and one thread is deterministic whatever the machine.
    num_threads: int = Field(1, ge=0, description="Threads per fit; 0 = one per core.")


class AssessmentConfig(VersionedConfig):
    """Label, walk-forward schedule, features and model of the Assessment engine.

    A sample is (session d, instrument). Its label is the cross-sectional rank of the forward return over
    ``horizon`` sessions from the first tradable price after d's decision (the open of d + 1) to the open of
    d + 1 + horizon; the label is known once that bar is, at the decision time of d + 1 + horizon.

    The model of a refit period is trained on the sessions whose labels were known before the period's first
    session (purge), minus the last ``embargo_sessions`` of them (embargo), over at most ``train_sessions``.
    """

    kind: ClassVar[str] = "assessment"

    horizon: int = Field(5, ge=1, le=63, description="Sessions of the forward return (H).")
    objective: Objective = Objective.REGRESSION
    refit_months: int = Field(1, description="Months per refit period: 1, 3, 6 or 12.")
    train_sessions: int = Field(756, ge=21, description="Most sessions of samples a model is trained on.")
    min_train_sessions: int = Field(189, ge=21, description="Fewest sessions of samples to train a model.")
    embargo_sessions: int = Field(5, ge=0, description="Sessions dropped after the purge; must be >= horizon.")
    min_names: int = Field(20, ge=2, description="Fewest labelled names for a session to be a training sample.")
    relevance_grades: int = Field(10, ge=2, le=31, description="LambdaRank: quantile grades of the label.")
    families: tuple[FeatureFamily, ...] = (
        FeatureFamily.ALPHA158,
        FeatureFamily.RESIDUAL,
        FeatureFamily.SIGNALS,
        FeatureFamily.EMBEDDING,
        FeatureFamily.PROFILE,
        FeatureFamily.EVENT,
        FeatureFamily.NEWS,
        FeatureFamily.ENGINE,
    )
    normalisation: Normalisation = Normalisation.RANK
    screen_t: float = Field(
        3.0,
        ge=0.0,
        description="Features whose mean daily rank IC over the training window has |t| below this are left out of "
        "that model (0 keeps all); market-level features (regime, market stability) are always kept.",
    )
    embedding_dims: int = Field(16, ge=1, description="Leading (largest-variance) embedding columns used.")
    embedding_config: str = Field("", description="Encoder config_version of the embeddings ('' = the only one).")
    profile_config: str = Field("", description="Profile config_version ('' = the only one).")
    lightgbm: LightGBMParams = Field(default_factory=LightGBMParams)

    @model_validator(mode="after")
    def _check(self) -> AssessmentConfig:
        if self.refit_months not in (1, 3, 6, 12):
            raise ConfigError("refit_months must be 1, 3, 6 or 12", setting="refit_months")
        if self.embargo_sessions < self.horizon:
            raise ConfigError(
                f"embargo_sessions ({self.embargo_sessions}) must be >= horizon ({self.horizon}): overlapping "
                "labels would leak the test period into training",
                setting="embargo_sessions",
            )
        if self.min_train_sessions > self.train_sessions:
            raise ConfigError("min_train_sessions must not exceed train_sessions", setting="min_train_sessions")
        if len(set(self.families)) != len(self.families) or not self.families:
            raise ConfigError("families must be a non-empty list without repeats", setting="families")
        return self

    @property
    def label_span(self) -> int:
        """Sessions after d whose bars the label of d needs (entry at d + 1, exit at d + 1 + horizon)."""
        return self.horizon + 1

    @property
    def lookback_sessions(self) -> int:
        """Sessions of history a run reads before its first session: the training window of the first period
        (which may start up to ``refit_months`` before the run), its purge and embargo, and the features' lookback.
        """
        return self.train_sessions + self.label_span + self.embargo_sessions + 23 * self.refit_months + 61
