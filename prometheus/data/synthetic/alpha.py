"""Planted alpha (latent signal, reversal, calm-only signal, noise features) and the crowding episode."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from prometheus.data.synthetic._random import ar1, stream
from prometheus.data.synthetic.config import Regime, SyntheticConfig
from prometheus.data.synthetic.universe import Universe


@dataclass(frozen=True)
class Signals:
    """Planted signals, shape (n_sessions, n_names); row t is known at the close of session t and acts on t+1.

    ``k_*`` are the loadings in the standardised idiosyncratic return
    ``s[t+1] = (eps[t+1] + k_alpha z[t] + k_reversal rev[t] + k_calm 1{calm at t+1} w[t]) / norm``.
    """

    latent: np.ndarray  # z: AR(1), unit variance
    feature: np.ndarray  # noisy observable copy of z (corr alpha_feature_corr)
    reversal: np.ndarray  # minus the scaled sum of the last `window` standardised idio shocks
    calm: np.ndarray  # w: AR(1), works only when the next session is calm
    noise: np.ndarray  # (n_features, n_sessions, n_names): no effect on returns
    k_alpha: float
    k_reversal: float
    k_calm: float
    norm: float
    calm_feature: np.ndarray | None = None  # noisy observable copy of w, when published (publish_calm_signal)


def loadings(cfg: SyntheticConfig) -> tuple[float, float, float, float]:
    """(k_alpha, k_reversal, k_calm, norm) that give each signal its designed IC in a calm session.

    With independent unit-variance parts, corr(signal_j, s) = k_j / sqrt(1 + sum k^2) = IC_j; solving gives
    k_j = IC_j / sqrt(1 - sum IC^2) (for one signal, k = IC / sqrt(1 - IC^2)).
    """
    ics = np.array([cfg.alpha_ic, cfg.reversal_ic, cfg.calm_ic])
    denom = np.sqrt(1.0 - np.sum(ics**2))
    k = ics / denom
    return float(k[0]), float(k[1]), float(k[2]), float(np.sqrt(1.0 + np.sum(k**2)))


def designed_ic(cfg: SyntheticConfig, regimes: np.ndarray) -> dict[str, float]:
    """Population IC of each signal, averaged over the sessions t+1 it predicts (the calm-only term is absent
    outside calm sessions, which lifts the other ICs very slightly there)."""
    k_a, k_r, k_c, _ = loadings(cfg)
    calm_next = (regimes[1:] == Regime.CALM.ordinal).astype(float)
    sd = np.sqrt(1.0 + k_a**2 + k_r**2 + k_c**2 * calm_next)
    return {
        "alpha": float(np.mean(k_a / sd)),
        "alpha_feature": float(np.mean(k_a / sd)) * cfg.alpha_feature_corr,
        "reversal": float(np.mean(k_r / sd)),
        "calm_in_calm": float(k_c / np.sqrt(1.0 + k_a**2 + k_r**2 + k_c**2)),
    }


def rolling_reversal(eps: np.ndarray, window: int) -> np.ndarray:
    """-(sum of the last ``window`` shocks) / sqrt(window): unit variance when shocks are iid unit variance."""
    csum = np.cumsum(eps, axis=0)
    total = csum.copy()
    total[window:] -= csum[:-window]
    return -total / np.sqrt(window)


def plant_signals(cfg: SyntheticConfig, eps: np.ndarray) -> Signals:
    """Draw the signals for standardised idiosyncratic shocks ``eps`` (stream ``alpha``)."""
    rng = stream(cfg.seed, "alpha")
    n_t, n = eps.shape
    latent = ar1(rng, cfg.alpha_phi, n_t, n)
    rho = cfg.alpha_feature_corr
    feature = rho * latent + np.sqrt(1.0 - rho * rho) * ar1(rng, cfg.alpha_phi, n_t, n)
    calm = ar1(rng, cfg.calm_phi, n_t, n)
    noise = np.stack([ar1(rng, cfg.noise_phi, n_t, n) for _ in range(cfg.n_noise_features)])
    k_a, k_r, k_c, norm = loadings(cfg)
    calm_feature = None
    if cfg.publish_calm_signal:
        # Its own stream: markets without the option keep every draw they had.
        extra = stream(cfg.seed, "calm_feature")
        calm_feature = rho * calm + np.sqrt(1.0 - rho * rho) * ar1(extra, cfg.calm_phi, n_t, n)
    return Signals(
        latent=latent,
        feature=feature,
        reversal=rolling_reversal(eps, cfg.reversal_window),
        calm=calm,
        noise=noise.reshape(cfg.n_noise_features, n_t, n),
        k_alpha=k_a,
        k_reversal=k_r,
        k_calm=k_c,
        norm=norm,
        calm_feature=calm_feature,
    )


def standardised_idio(eps: np.ndarray, sig: Signals, regimes: np.ndarray) -> np.ndarray:
    """The standardised idiosyncratic return s (unit variance in calm sessions)."""
    s = eps.copy()
    calm_now = (regimes[1:] == Regime.CALM.ordinal)[:, None]
    s[1:] += sig.k_alpha * sig.latent[:-1] + sig.k_reversal * sig.reversal[:-1]
    s[1:] += sig.k_calm * np.where(calm_now, sig.calm[:-1], 0.0)
    return s / sig.norm


@dataclass(frozen=True)
class Crowding:
    """The crowding episode: ``members`` load ``loading`` on the hidden ``flow`` return (zero outside it)."""

    members: np.ndarray  # int indices of the crowded names
    loading: np.ndarray  # (n_names,) zero for others
    flow: np.ndarray  # (n_sessions,) flow factor return
    start: int  # first build-up session
    unwind_start: int  # first unwind session
    end: int  # last unwind session (inclusive)


def plant_crowding(cfg: SyntheticConfig, uni: Universe, n_sessions: int) -> Crowding:
    """Pick the episode window and the crowded names (stream ``crowding``); build the flow factor.

    The flow volatility ramps up linearly so the members' residual correlation rises from 0 towards
    ``crowding_target_corr`` during the build-up; the unwind is a run of large negative flow returns.
    """
    rng = stream(cfg.seed, "crowding")
    span = cfg.crowding_sessions + cfg.unwind_sessions
    lo, hi = int(0.3 * n_sessions), int(0.85 * n_sessions) - span
    start = int(rng.integers(lo, max(lo + 1, hi)))
    start = max(0, min(start, n_sessions - span))
    unwind, end = start + cfg.crowding_sessions, start + span - 1
    eligible = np.flatnonzero((uni.listed <= max(0, start - 60)) & (uni.delisted >= min(end + 20, n_sessions - 1)))
    size = min(cfg.crowded_names, max(2, len(eligible) // 4))
    members = np.sort(rng.choice(eligible, size=size, replace=False))
    loading = np.zeros(uni.n)
    loading[members] = rng.uniform(0.8, 1.2, size=size)
    daily_idio = cfg.idio_annual_vol / np.sqrt(252.0)
    target = daily_idio * np.sqrt(cfg.crowding_target_corr / (1.0 - cfg.crowding_target_corr))
    flow = np.zeros(n_sessions)
    ramp = np.linspace(0.0, 1.0, cfg.crowding_sessions) * target
    flow[start:unwind] = 0.001 + ramp * rng.standard_normal(cfg.crowding_sessions)
    flow[unwind : end + 1] = cfg.unwind_daily_return + 2 * target * rng.standard_normal(cfg.unwind_sessions)
    return Crowding(members, loading, flow, start, unwind, end)
