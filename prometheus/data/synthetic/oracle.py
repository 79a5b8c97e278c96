"""The planted-signal oracle: the generator's expected forward idiosyncratic return given the truth at t.

Validation code compares a model's rank IC with the oracle's on the same sessions and the same label. For the
idiosyncratic return ``sigma_{t+j} s_{t+j}`` with ``s[t+1] = (eps[t+1] + k_a z[t] + k_r rev[t] + k_c 1{calm} w[t])
/ norm`` (see :mod:`prometheus.data.synthetic.alpha`), the expectation of its sum over sessions t+1 .. t+H given
everything known at t is, taking sigma and the regime as persistent over the horizon,

    sigma_t / norm * (k_a z_t sum_{j<H} phi_a^j + k_r sum_{j<H} E[rev_{t+j}] + k_c 1{calm_t} w_t sum_{j<H} phi_c^j)

where E[rev_{t+j}] = -(sum of the shocks of rev's window that are already known at t) / sqrt(W). Factor moves,
earnings jumps and the crowding flow are not predictable from the planted signals and are left out. This is the
best a model could do with the latent signals themselves; observable features (the noisy ``alpha_feature``, price
reversal) carry less.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from prometheus.data.synthetic.config import Regime
from prometheus.data.synthetic.market import SyntheticMarket


def _geometric(phi: float, horizon: int) -> float:
    return float(sum(phi**j for j in range(horizon)))


def planted_expectation(market: SyntheticMarket, horizon: int) -> np.ndarray:
    """(sessions, names) oracle score for session t (NaN where the name is not listed at t)."""
    cfg, rets = market.config, market.panel.returns
    sig = rets.signals
    w = cfg.reversal_window
    eps = np.nan_to_num(rets.eps)
    csum = np.vstack([np.zeros((1, eps.shape[1])), np.cumsum(eps, axis=0)])  # csum[k] = sum of rows < k
    n_t = eps.shape[0]
    rev_known = np.zeros_like(eps)
    for j in range(horizon):  # rev_{t+j} = -(eps[t+j-w+1 .. t+j]) / sqrt(w); rows <= t are known at t
        lo = np.clip(np.arange(n_t) + j - w + 1, 0, None)
        hi = np.arange(n_t) + 1  # rows up to t inclusive
        known = np.where((lo < hi)[:, None], csum[hi] - csum[np.minimum(lo, hi)], 0.0)
        rev_known -= known / np.sqrt(w)
    calm = (market.panel.regimes == Regime.CALM.ordinal)[:, None]
    expected = (
        sig.k_alpha * sig.latent * _geometric(cfg.alpha_phi, horizon)
        + sig.k_reversal * rev_known
        + sig.k_calm * np.where(calm, sig.calm, 0.0) * _geometric(cfg.calm_phi, horizon)
    )
    score = rets.idio_vol * expected / sig.norm
    return np.where(np.isfinite(rets.total), score, np.nan)


def oracle_frame(market: SyntheticMarket, horizon: int) -> pl.DataFrame:
    """The oracle as rows (``date``, ``symbol``, ``oracle``) of every listed name-session."""
    score = planted_expectation(market, horizon)
    t, i = np.nonzero(np.isfinite(score))
    return pl.DataFrame(
        {
            "date": np.array(market.sessions, dtype="datetime64[D]")[t],
            "symbol": market.panel.universe.symbols[i],
            "oracle": score[t, i],
        },
        schema={"date": pl.Date(), "symbol": pl.String(), "oracle": pl.Float64()},
    )
