"""Pure maths of the stability measures: turbulence, correlation, Delta AR and trailing normalisation.

All functions take complete (rows, names) return windows without NaN; the shrunk covariance spectra and the
absorption ratio live in :mod:`prometheus.engines.covariance` (Fragility uses them too).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import cho_factor, cho_solve

from prometheus.engines.covariance import ShrunkSpectrum


def mahalanobis(spec: ShrunkSpectrum, y: np.ndarray, mean: np.ndarray) -> float:
    """``(y - mean)' Sigma^-1 (y - mean) / n`` under the shrunk covariance ``Sigma = a I + b x'x`` of ``spec``.

    ``a = delta mu`` and ``b = (1 - delta) / T``. With n > T, Woodbury gives
    ``(|v|^2 - b (x v)' (a I + b x x')^-1 (x v)) / a``, a (T x T) solve instead of an (n x n) one.
    """
    v = y - mean
    n, t = spec.names, spec.x.shape[0]
    a, b = spec.shrinkage * spec.mean_variance, (1.0 - spec.shrinkage) / t
    try:
        if n <= t:
            m = b * spec.scatter
            m[np.diag_indices_from(m)] += a
            return float(v @ cho_solve(cho_factor(m), v)) / n
        if a <= 0.0:
            return float("nan")
        m = b * spec.scatter
        m[np.diag_indices_from(m)] += a
        p = spec.x @ v
        return float((v @ v - b * (p @ cho_solve(cho_factor(m), p))) / a / n)
    except np.linalg.LinAlgError:
        # Only a degenerate window (no shrinkage, singular sample covariance) gets here.
        return float("nan")


def average_correlation(window: np.ndarray) -> float:
    """Mean pairwise correlation of the columns: ``(sum of all entries of R - n) / (n (n - 1))``."""
    t, n = window.shape
    if n < 2:
        return float("nan")
    x = window - window.mean(axis=0)
    sd = x.std(axis=0)
    ok = sd > 0
    z = x[:, ok] / sd[ok]
    m = z.shape[1]
    if m < 2:
        return float("nan")
    total = float(np.sum(z.sum(axis=1) ** 2)) / t
    return (total - m) / (m * (m - 1))


def delta_absorption(history: np.ndarray, short: int, long: int) -> float:
    """``(mean of the last short - mean of the last long) / sd of the last long`` over finite values."""
    recent, year = history[-short:], history[-long:]
    recent, year = recent[np.isfinite(recent)], year[np.isfinite(year)]
    if len(recent) < short or len(year) < max(short + 2, long // 2):
        return float("nan")
    sd = float(np.std(year, ddof=1))
    return float((recent.mean() - year.mean()) / sd) if sd > 0 else float("nan")


def trailing_zscore(history: np.ndarray, min_count: int) -> float:
    """z-score of the last value against the finite values of ``history`` (itself included)."""
    values = history[np.isfinite(history)]
    if len(values) < min_count or not np.isfinite(history[-1]):
        return float("nan")
    sd = float(np.std(values, ddof=1))
    return float((history[-1] - values.mean()) / sd) if sd > 0 else 0.0


def trailing_percentile(history: np.ndarray, min_count: int) -> float:
    """Share of the finite values of ``history`` at or below its last value (itself included)."""
    values = history[np.isfinite(history)]
    if len(values) < min_count or not np.isfinite(history[-1]):
        return float("nan")
    return float(np.mean(values <= history[-1]))
