"""Market-level oracles: what a model that knows the generator's true parameters (Regime) or its latent
conditional volatility and correlation (Stability) would report. Validation code scores the engines relative to
them (METHODS "Regime", "Stability"); the engines never see them.

Regime oracle
    The forward (online) filter of a hidden Markov model on the market-factor return with the generator's true
    parameters: the transition matrix of :func:`~prometheus.data.synthetic.regimes.transition_matrix`, its
    stationary distribution as the start, and per regime k the emission ``mu_k + sigma_k * eps`` with ``eps`` the
    generator's unit-variance Student-t(``t_dof``) shock, ``mu_k`` = ``regime_annual_drift[k] / 252`` and
    ``sigma_k`` = ``regime_annual_vol[k] / sqrt(252)``.

    "True per-regime volatility" is the regime's own scale ``regime_annual_vol``: the market return is
    ``mu_k + sigma_k * slow_t * sqrt(h_t) * z_t`` where the slow component and the GJR variance both have unit
    mean square and do not depend on the regime, so ``sigma_k`` is the market factor's volatility within regime k
    averaged over them. The oracle does not know ``slow_t`` or ``h_t`` (latent state, not parameters); treating
    them as 1 makes it a filter with the true parameters of the regime layer, as the issue asks. The label at t
    uses returns up to t only.

Stability oracle
    The generator's true conditional market volatility (``market_vol`` of the truth frame: regime scale x slow
    component x GJR) and the true average pairwise correlation of the listed names' conditional covariance
    (market, sector and style factors with the crisis loadings, and the idiosyncratic variance; the crowding flow,
    a 40-name episode, is left out).
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp
from scipy.stats import t as student_t

from prometheus.data.synthetic.config import Regime, SyntheticConfig
from prometheus.data.synthetic.market import SyntheticMarket
from prometheus.data.synthetic.regimes import stationary_distribution, transition_matrix

_SQRT_YEAR = np.sqrt(252.0)


def regime_log_densities(returns: np.ndarray, cfg: SyntheticConfig) -> np.ndarray:
    """(n, 3) log density of each return under each regime's true emission (0 where the return is NaN)."""
    r = np.asarray(returns, dtype=float)
    mu = np.asarray(cfg.regime_annual_drift) / 252.0
    sigma = np.asarray(cfg.regime_annual_vol) / _SQRT_YEAR
    scale = sigma * np.sqrt((cfg.t_dof - 2.0) / cfg.t_dof)  # Student-t scale whose sd is sigma
    with np.errstate(invalid="ignore"):
        dens = student_t.logpdf((r[:, None] - mu) / scale, cfg.t_dof) - np.log(scale)
    return np.where(np.isfinite(r)[:, None], dens, 0.0)  # a missing return carries no evidence


def regime_filter(returns: np.ndarray, cfg: SyntheticConfig) -> np.ndarray:
    """Filtered regime probabilities P(regime_t | r_0..r_t) under the true parameters; shape (n, 3).

    Row t depends on returns up to t only: appending returns never changes it.
    """
    log_b = regime_log_densities(returns, cfg)
    log_a = np.log(np.maximum(transition_matrix(cfg.regime_durations), 1e-300))
    out = np.empty_like(log_b)
    prev = np.log(stationary_distribution(transition_matrix(cfg.regime_durations))) + log_b[0]
    out[0] = prev - logsumexp(prev)
    for t in range(1, len(log_b)):  # the forward recursion is sequential; ~2.5k steps per 10-year market
        prev = log_b[t] + logsumexp(out[t - 1][:, None] + log_a, axis=0)
        out[t] = prev - logsumexp(prev)
    return np.exp(out)


def oracle_crisis(market: SyntheticMarket) -> np.ndarray:
    """Per session: True where the regime oracle's most probable regime is crisis (market-factor returns)."""
    probs = regime_filter(market.panel.returns.market.ret, market.config)
    return probs.argmax(axis=1) == Regime.CRISIS.ordinal


def true_market_vol(market: SyntheticMarket) -> np.ndarray:
    """Per session: the market factor's true conditional annualised volatility."""
    return np.asarray(market.panel.returns.market.vol, dtype=float)


def true_average_correlation(market: SyntheticMarket) -> np.ndarray:
    """Per session: mean pairwise correlation of the listed names under the true conditional covariance.

    Covariance = L_t^2 (s_m^2 b b' + s_sec^2 (l l' on same-sector pairs) + s_sty^2 S S') + diag(sigma_idio^2),
    with L_t the crisis loading multiplier and every factor's conditional variance of the session (NaN when
    fewer than two names are listed).
    """
    cfg, panel = market.config, market.panel
    uni, rets = panel.universe, panel.returns
    crisis = panel.regimes == Regime.CRISIS.ordinal
    load2 = np.where(crisis, cfg.crisis_loading_mult, 1.0) ** 2
    factor = np.asarray(cfg.factor_vol_mult)[panel.regimes] * rets.market.slow / _SQRT_YEAR
    var_m = (rets.market.vol / _SQRT_YEAR) ** 2
    var_sec = (cfg.sector_annual_vol * factor) ** 2
    var_sty = (cfg.style_annual_vol * factor) ** 2
    same_sector = uni.sector[:, None] == uni.sector[None, :]
    beta_beta = np.outer(uni.beta, uni.beta)
    sector_sector = np.outer(uni.sector_loading, uni.sector_loading) * same_sector
    style_style = uni.styles @ uni.styles.T
    listed = np.isfinite(rets.total)
    out = np.full(len(panel.regimes), np.nan)
    for t in range(len(out)):  # one (names x names) matrix per session; ~2.5k small products
        cols = np.flatnonzero(listed[t])
        if len(cols) < 2:
            continue
        ix = np.ix_(cols, cols)
        cov = load2[t] * (var_m[t] * beta_beta[ix] + var_sec[t] * sector_sector[ix] + var_sty[t] * style_style[ix])
        sd = np.sqrt(np.diag(cov) + rets.idio_vol[t, cols] ** 2)
        corr = cov / np.outer(sd, sd)
        n = len(cols)
        out[t] = (corr.sum() - np.trace(corr)) / (n * (n - 1))
    return out
