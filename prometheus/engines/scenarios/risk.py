"""Scenario risk: portfolio P&L of scenario paths, VaR and ES, stress scaling, and VaR backtests.

P&L and losses are fractions of the portfolio's capital; VaR and ES are positive numbers for losses.
The backtests are the likelihood-ratio tests of Kupiec (1995, proportion of failures) and Christoffersen (1998,
independence and conditional coverage), with chi-square p-values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import xlogy
from scipy.stats import chi2


def portfolio_pnl(paths: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(paths,) cumulative P&L over the horizon of buy-and-hold ``weights`` (n,) on daily simple-return ``paths``.

    Each name compounds over the path (``prod(1 + r) - 1``) and the weights, fractions of capital at the start
    (negative = short), sum its moves; so the P&L is linear in the weights.
    """
    return horizon_growth(paths, len(weights)) @ np.asarray(weights, dtype=np.float64)


def horizon_growth(paths: np.ndarray, names: int) -> np.ndarray:
    """(paths, names) growth ``prod(1 + r) - 1`` of each name over each path: what :func:`portfolio_pnl` weights.

    Computed once per set when several portfolios are valued on it (the product over the paths dominates).
    """
    if np.ndim(paths) != 3 or np.shape(paths)[2] != names:
        raise ValueError(f"paths {np.shape(paths)} do not match {names} weights")
    # One float64 copy, made 1 + r in place (the same values as 1.0 + p, one temporary fewer).
    gross = np.array(paths, dtype=np.float64)
    gross += 1.0
    growth = np.prod(gross, axis=1)
    growth -= 1.0
    return growth


@dataclass(frozen=True)
class VarEs:
    """Value at risk and expected shortfall at ``level`` as positive losses (ES >= VaR)."""

    level: float
    var: float
    es: float


def var_es(pnl: np.ndarray, levels: tuple[float, ...] | list[float]) -> dict[float, VarEs]:
    """Historical VaR and ES of a P&L sample at each level (e.g. 0.99).

    VaR is the k-th largest loss with ``k = ceil(n (1 - level))`` (the empirical quantile, a sample value); ES the
    mean of the losses at or beyond it. Every loss averaged is >= VaR, so ES >= VaR always.
    """
    x = np.asarray(pnl, dtype=np.float64)
    losses = np.sort(-x[np.isfinite(x)])[::-1]
    if not losses.size:
        raise ValueError("no finite P&L")
    out = {}
    for level in levels:
        if not 0.0 < level < 1.0:
            raise ValueError(f"VaR level {level} not in (0, 1)")
        # The tolerance keeps 1 - 0.95 = 0.05000000000000004 from counting one loss too many.
        k = max(1, math.ceil(losses.size * (1.0 - level) - 1e-9))
        var = float(losses[k - 1])
        out[level] = VarEs(level, var, float(losses[losses >= var].mean()))
    return out


def stress_scale(worst_loss: float, limit: float | None) -> float:
    """Factor in (0, 1] that brings a portfolio's worst stress loss within ``limit`` (P&L is linear in weights)."""
    if limit is None or worst_loss <= limit:
        return 1.0
    return float(limit / worst_loss)


def portfolio_vol(weights: np.ndarray, cov: np.ndarray) -> float:
    """Volatility ``sqrt(w' C w)`` of the portfolio under the covariance ``cov`` (e.g. a stressed one)."""
    w = np.asarray(weights, dtype=np.float64)
    return float(np.sqrt(max(float(w @ cov @ w), 0.0)))


@dataclass(frozen=True)
class LRTest:
    """A likelihood-ratio test: statistic, chi-square degrees of freedom and p-value."""

    statistic: float
    dof: int
    p_value: float


def _lr(statistic: float, dof: int) -> LRTest:
    stat = max(float(statistic), 0.0)  # rounding can give -1e-15 when the two likelihoods are equal
    return LRTest(stat, dof, float(chi2.sf(stat, dof)))


def _bernoulli_loglik(hits: float, n: float, p: float) -> float:
    """log L of ``hits`` successes in ``n`` Bernoulli(p) trials, with 0 log 0 = 0."""
    return float(xlogy(n - hits, 1.0 - p) + xlogy(hits, p))


def kupiec_pof(exceptions: int, n: int, level: float) -> LRTest:
    """Kupiec's proportion-of-failures test: are ``exceptions`` in ``n`` days consistent with rate ``1 - level``?

    ``LR = -2 [log L(p) - log L(x / n)]`` with ``p = 1 - level``, chi-square with 1 degree of freedom.
    """
    if n <= 0 or not 0 <= exceptions <= n:
        raise ValueError(f"need 0 <= exceptions ({exceptions}) <= n ({n}) and n > 0")
    p = 1.0 - level
    return _lr(-2.0 * (_bernoulli_loglik(exceptions, n, p) - _bernoulli_loglik(exceptions, n, exceptions / n)), 1)


@dataclass(frozen=True)
class ChristoffersenTest:
    """Christoffersen's tests on an exception series: unconditional coverage (Kupiec on the same series),
    independence (first-order Markov against iid) and conditional coverage (their sum, 2 degrees of freedom)."""

    coverage: LRTest
    independence: LRTest
    conditional_coverage: LRTest
    transitions: tuple[int, int, int, int]  # n00, n01, n10, n11: counts of (yesterday, today) exception pairs


def christoffersen(exceptions_series: np.ndarray, level: float) -> ChristoffersenTest:
    """Independence and conditional-coverage LR tests of a 0/1 exception series at VaR ``level``.

    With ``nij`` the number of days in state j after a day in state i (1 = exception), ``pi01 = n01 / (n00 +
    n01)``, ``pi11 = n11 / (n10 + n11)`` and ``pi = (n01 + n11) / (n00 + n01 + n10 + n11)``:
    ``LR_ind = -2 [log L(pi) - log L(pi01, pi11)]`` ~ chi2(1) and ``LR_cc = LR_pof + LR_ind`` ~ chi2(2), where
    ``LR_pof`` is Kupiec's statistic over the whole series.
    """
    hits = np.asarray(exceptions_series).astype(bool)
    if hits.size < 2:
        raise ValueError("need at least two days of exceptions")
    prev, curr = hits[:-1], hits[1:]
    n00 = int(np.sum(~prev & ~curr))
    n01 = int(np.sum(~prev & curr))
    n10 = int(np.sum(prev & ~curr))
    n11 = int(np.sum(prev & curr))
    pi01 = n01 / (n00 + n01) if n00 + n01 else 0.0
    pi11 = n11 / (n10 + n11) if n10 + n11 else 0.0
    pi = (n01 + n11) / (n00 + n01 + n10 + n11)
    markov = _bernoulli_loglik(n01, n00 + n01, pi01) + _bernoulli_loglik(n11, n10 + n11, pi11)
    iid = _bernoulli_loglik(n01 + n11, n00 + n01 + n10 + n11, pi)
    independence = _lr(-2.0 * (iid - markov), 1)
    coverage = kupiec_pof(int(hits.sum()), hits.size, level)
    conditional = _lr(coverage.statistic + independence.statistic, 2)
    return ChristoffersenTest(coverage, independence, conditional, (n00, n01, n10, n11))
