"""Configuration of the synthetic market (frozen, unknown keys rejected, content-hashed)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import ClassVar

from pydantic import Field, model_validator

from prometheus.core.config import VersionedConfig
from prometheus.core.errors import ConfigError


class Regime(StrEnum):
    """Latent market regime; arrays store its ordinal (calm 0 < normal 1 < crisis 2)."""

    CALM = "calm"
    NORMAL = "normal"
    CRISIS = "crisis"

    @property
    def ordinal(self) -> int:
        """0, 1 or 2: the code used in arrays and the order of per-regime tuples."""
        return REGIMES.index(self)


#: Regimes in ordinal order (the order of every per-regime tuple in the config).
REGIMES: tuple[Regime, ...] = (Regime.CALM, Regime.NORMAL, Regime.CRISIS)


Triple = tuple[float, float, float]


class SyntheticConfig(VersionedConfig):
    """Every knob of the generator. Tuples of three are per regime: (calm, normal, crisis).

    The defaults are the design of METHODS "Synthetic market"; the same config and seed give the same market, so
    ``config_version`` is the version of the generated market.
    """

    kind: ClassVar[str] = "synthetic_market"

    seed: int = Field(42, ge=0, description="Root seed; every component draws from its own child stream.")
    n_names: int = Field(500, ge=20, le=5000, description="Instruments over the whole history.")
    years: int = Field(10, ge=1, le=30, description="Calendar years of the market's sessions (XNYS by default).")
    start: date = Field(date(2014, 1, 2), description="First calendar day (the first session on or after).")

    # Regimes and the market factor.
    regime_durations: Triple = (250.0, 80.0, 40.0)  # mean sessions per visit
    regime_annual_vol: Triple = (0.11, 0.17, 0.32)  # market factor volatility
    regime_annual_drift: Triple = (0.12, 0.04, -0.30)  # market factor drift
    min_regime_sessions: int = Field(20, ge=0, description="Redraw the chain until each regime has this many.")
    # The regime must stay the dominant driver of market volatility (a crisis visit out-vols the normal visits
    # around it), so the GJR-GARCH and the slow component only modulate it: with slow_vol_sd 0.4 and a GJR
    # persistence of .93 a crisis could realise less volatility than a normal spell and the regime labels were
    # not identifiable from returns. Long memory in |r| then comes mostly from the persistent regimes.
    market_garch: Triple = (0.0, 0.10, 0.80)  # GJR (alpha, gamma, beta), unit unconditional variance
    slow_vol_phi: float = Field(0.997, ge=0.0, lt=1.0)  # slow log-volatility component
    slow_vol_sd: float = Field(0.2, ge=0.0)  # its stationary standard deviation (multiplier ~ 0.6x-1.5x)
    slow_vol_leverage: float = Field(0.8, ge=0.0, lt=1.0)  # weight of minus yesterday's market shock in it
    t_dof: float = Field(5.0, gt=2.0)  # Student-t degrees of freedom of every shock

    # Cross-section.
    beta_mean: float = 1.0
    beta_sd: float = 0.3
    beta_clip: tuple[float, float] = (0.3, 2.0)
    sector_annual_vol: float = 0.10
    style_annual_vol: float = 0.04
    idio_annual_vol: float = Field(0.25, gt=0.0, description="Idiosyncratic vol of a median-size name.")
    idio_size_elasticity: float = 0.12  # idio vol ~ (cap / median cap) ** -elasticity
    idio_garch: tuple[float, float] = (0.05, 0.93)  # GARCH (alpha, beta), unit unconditional variance
    factor_vol_mult: Triple = (0.9, 1.0, 1.3)  # sector / style factor volatility by regime
    idio_vol_mult: Triple = (0.9, 1.0, 1.3)  # idiosyncratic volatility by regime
    crisis_loading_mult: float = 1.25  # every factor loading in crisis

    # Planted alpha (designed cross-sectional ICs against the standardised idiosyncratic return).
    alpha_ic: float = Field(0.05, ge=0.0, lt=0.3)
    alpha_phi: float = Field(0.98, ge=0.0, lt=1.0)
    alpha_feature_corr: float = Field(0.9, gt=0.0, le=1.0, description="corr(noisy feature, latent signal).")
    reversal_ic: float = Field(0.03, ge=0.0, lt=0.3)
    reversal_window: int = Field(5, ge=1, le=60)
    calm_ic: float = Field(0.04, ge=0.0, lt=0.3, description="IC of the calm-only signal in calm sessions.")
    calm_phi: float = Field(0.9, ge=0.0, lt=1.0)
    publish_calm_signal: bool = Field(
        False,
        description="Also publish a noisy copy of the calm-only signal (corr alpha_feature_corr) as the vendor "
        "signal calm_feature: a signal that works in calm regimes only, observable (Kronos validation).",
    )
    n_noise_features: int = Field(3, ge=0, le=20)
    noise_phi: float = Field(0.9, ge=0.0, lt=1.0)

    # Crowding episode.
    crowded_names: int = Field(40, ge=2)
    crowding_sessions: int = Field(120, ge=10)
    unwind_sessions: int = Field(10, ge=1)
    crowding_target_corr: float = Field(0.3, gt=0.0, lt=1.0)  # residual corr reached at the end of build-up
    unwind_daily_return: float = -0.025

    # Lifecycle and corporate actions.
    late_listing_fraction: float = Field(0.1, ge=0.0, le=0.5)
    delisting_fraction: float = Field(0.1, ge=0.0, le=0.5)
    delisting_return: float = Field(-0.30, gt=-1.0, le=0.0)
    dividend_payer_fraction: float = Field(0.6, ge=0.0, le=1.0)
    dividend_yield_range: tuple[float, float] = (0.01, 0.04)  # annual, for payers
    split_threshold_range: tuple[float, float] = (120.0, 400.0)  # raw price that triggers a forward split
    reverse_split_below: float = 2.0  # raw price that triggers a 1-for-10 reverse split
    action_notice_sessions: tuple[int, int] = (10, 30)  # sessions between announcement and ex-date

    # Events, news, volume.
    news_rate: float = Field(0.02, ge=0.0, le=1.0, description="Headlines per name and session.")
    news_tone_corr: float = Field(0.5, ge=0.0, le=1.0, description="corr(latent tone score, latent signal).")
    earnings_jump_sd: float = Field(2.0, ge=0.0, description="Earnings-day jump in daily idio sds.")
    volume_cap_elasticity: float = 0.8

    @model_validator(mode="after")
    def _check(self) -> SyntheticConfig:
        if sum(x * x for x in (self.alpha_ic, self.reversal_ic, self.calm_ic)) >= 0.5:
            raise ConfigError("planted ICs too large: their squares must sum below 0.5", setting="alpha_ic")
        if min(self.regime_durations) < 1.0:
            raise ConfigError("regime_durations must be >= 1 session", setting="regime_durations")
        a, g, b = self.market_garch
        if a < 0 or g < 0 or b < 0 or a + g / 2 + b >= 1:
            raise ConfigError("market_garch must satisfy alpha + gamma/2 + beta < 1", setting="market_garch")
        if sum(self.idio_garch) >= 1 or min(self.idio_garch) < 0:
            raise ConfigError("idio_garch needs 0 <= alpha, beta and alpha + beta < 1", setting="idio_garch")
        if self.beta_clip[0] >= self.beta_clip[1]:
            raise ConfigError("beta_clip must be (low, high) with low < high", setting="beta_clip")
        return self

    @property
    def end(self) -> date:
        """Last calendar day covered: ``years`` after ``start``, minus a day."""
        try:
            last = self.start.replace(year=self.start.year + self.years)
        except ValueError:  # 29 February
            last = self.start.replace(year=self.start.year + self.years, day=28)
        return date.fromordinal(last.toordinal() - 1)
