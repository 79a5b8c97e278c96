"""Factor structure and returns: GJR-GARCH-t market factor with a slow volatility component, sector and style
factors, size-dependent idiosyncratic GARCH-t, crisis loadings, planted alpha, crowding flow and earnings jumps."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from prometheus.data.synthetic._random import stream, student_t
from prometheus.data.synthetic.alpha import Crowding, Signals, plant_signals, standardised_idio
from prometheus.data.synthetic.config import Regime, SyntheticConfig
from prometheus.data.synthetic.universe import SECTORS, STYLES, Universe

_SQRT_YEAR = np.sqrt(252.0)


@dataclass(frozen=True)
class MarketFactor:
    """Market factor per session: return, conditional annualised volatility and the slow vol multiplier."""

    ret: np.ndarray
    vol: np.ndarray
    slow: np.ndarray
    garch_var: np.ndarray  # unit-mean GJR variance h_t


@dataclass(frozen=True)
class Returns:
    """Return panels, shape (n_sessions, n_names); NaN outside each name's listing window for ``total``."""

    total: np.ndarray  # total return of the session (dividends included), the truth
    idio_std: np.ndarray  # standardised idiosyncratic return s (the IC target)
    idio_vol: np.ndarray  # conditional daily idiosyncratic volatility sigma
    systematic: np.ndarray  # market + sector + style part
    eps: np.ndarray  # standardised idiosyncratic shocks (iid t, unit variance)
    market: MarketFactor
    sector_returns: np.ndarray  # (n_sessions, 11)
    style_returns: np.ndarray  # (n_sessions, 3)
    signals: Signals


def simulate_market_factor(cfg: SyntheticConfig, regimes: np.ndarray) -> MarketFactor:
    """GJR-GARCH(1,1)-t with unit unconditional variance; the regime scales the returns (not the GARCH constant,
    which would make volatility explode) and a slow AR(1) log-vol component adds long memory."""
    rng = stream(cfg.seed, "market")
    n = len(regimes)
    z = student_t(rng, cfg.t_dof, n)
    slow = _slow_component(cfg, rng, z)
    a, g, b = cfg.market_garch
    omega = 1.0 - a - g / 2.0 - b
    h = np.empty(n)
    h_t = 1.0
    for t in range(n):  # the recursion is inherently sequential; scalar loop over ~2.5k sessions
        h[t] = h_t
        u = np.sqrt(h_t) * z[t]
        h_t = omega + (a + (g if u < 0 else 0.0)) * u * u + b * h_t
    sigma = np.asarray(cfg.regime_annual_vol)[regimes] / _SQRT_YEAR
    mu = np.asarray(cfg.regime_annual_drift)[regimes] / 252.0
    ret = mu + sigma * slow * np.sqrt(h) * z
    return MarketFactor(ret=ret, vol=sigma * slow * np.sqrt(h) * _SQRT_YEAR, slow=slow, garch_var=h)


def _slow_component(cfg: SyntheticConfig, rng: np.random.Generator, z: np.ndarray) -> np.ndarray:
    """exp of a persistent AR(1) log-vol whose innovations load on yesterday's market shock (falls raise it: a
    slow leverage effect), scaled so that E[slow^2] = 1."""
    w = cfg.slow_vol_leverage
    innov = np.sqrt(1.0 - w * w) * rng.standard_normal(len(z))
    innov[1:] -= w * z[:-1]
    phi = cfg.slow_vol_phi
    x_before = rng.standard_normal() / np.sqrt(1.0 - phi * phi)  # stationary start
    x, _ = lfilter([1.0], [1.0, -phi], innov, zi=[phi * x_before])
    x *= np.sqrt(1.0 - phi * phi)  # unit variance
    sd = cfg.slow_vol_sd
    return np.exp(sd * x - sd * sd)


def idio_garch(cfg: SyntheticConfig, eps: np.ndarray) -> np.ndarray:
    """Unit-mean GARCH(1,1) variance of every name, driven by its own standardised shocks."""
    a, b = cfg.idio_garch
    omega = 1.0 - a - b
    h = np.empty_like(eps)
    h[0] = 1.0
    for t in range(1, len(eps)):
        h[t] = omega + a * h[t - 1] * eps[t - 1] ** 2 + b * h[t - 1]
    return h


def _factor_returns(cfg: SyntheticConfig, regimes: np.ndarray, slow: np.ndarray) -> tuple[np.ndarray, ...]:
    rng = stream(cfg.seed, "factors")
    n = len(regimes)
    scale = (np.asarray(cfg.factor_vol_mult)[regimes] * slow)[:, None] / _SQRT_YEAR
    sectors = cfg.sector_annual_vol * scale * student_t(rng, cfg.t_dof, (n, len(SECTORS)))
    styles = cfg.style_annual_vol * scale * student_t(rng, cfg.t_dof, (n, len(STYLES)))
    return sectors, styles


def simulate_returns(
    cfg: SyntheticConfig,
    uni: Universe,
    regimes: np.ndarray,
    crowding: Crowding,
    jumps: np.ndarray,
) -> Returns:
    """Compose the total return panel (``jumps``: earnings-day jumps in daily idio sds, (n_sessions, n_names))."""
    rng = stream(cfg.seed, "idio")
    n_t = len(regimes)
    market = simulate_market_factor(cfg, regimes)
    sectors, styles = _factor_returns(cfg, regimes, market.slow)
    eps = student_t(rng, cfg.t_dof, (n_t, uni.n))
    signals = plant_signals(cfg, eps)
    s = standardised_idio(eps, signals, regimes)
    mult = np.asarray(cfg.idio_vol_mult)[regimes] * market.slow  # the slow component moves every vol alike
    sigma = (uni.idio_vol / _SQRT_YEAR)[None, :] * mult[:, None] * np.sqrt(idio_garch(cfg, eps))
    load = np.where(regimes == Regime.CRISIS.ordinal, cfg.crisis_loading_mult, 1.0)[:, None]
    systematic = load * (
        np.outer(market.ret, uni.beta) + sectors[:, uni.sector] * uni.sector_loading + styles @ uni.styles.T
    )
    total = systematic + sigma * (s + jumps) + np.outer(crowding.flow, crowding.loading)
    rows = np.arange(n_t)[:, None]
    total[uni.delisted[uni.is_delisted], np.flatnonzero(uni.is_delisted)] = cfg.delisting_return
    total = np.maximum(total, -0.9)  # a limited-liability floor; only extreme crowded/jump days come near it
    total[(rows < uni.listed) | (rows > uni.delisted)] = np.nan
    return Returns(total, s, sigma, systematic, eps, market, sectors, styles, signals)
