"""Pure maths of the stability measures: shrunk covariance spectra, absorption ratio, turbulence, correlation.

All functions take complete (rows, names) return windows without NaN. The Ledoit-Wolf shrinkage target is
``mu * I`` (``mu`` = mean variance), so the shrunk covariance ``(1 - delta) S + delta mu I`` has the eigenvectors of
the sample covariance ``S`` and eigenvalues ``(1 - delta) lambda + delta mu``. When names outnumber rows the
spectrum is taken from the (rows x rows) Gram matrix, which has the same non-zero eigenvalues and is far cheaper.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import cho_factor, cho_solve


@dataclass(frozen=True)
class ShrunkSpectrum:
    """A Ledoit-Wolf shrunk covariance of a centred window ``x`` (rows T, names n), kept in factored form.

    ``scatter`` is x'x (n <= T) or the Gram matrix xx' (n > T); ``eigenvalues`` (descending, of the sample
    covariance, length min(T, n)) are computed only when asked for.
    """

    x: np.ndarray
    scatter: np.ndarray
    eigenvalues: np.ndarray
    mean_variance: float
    shrinkage: float

    @property
    def names(self) -> int:
        """Number of names n."""
        return int(self.x.shape[1])


def shrunk_spectrum(window: np.ndarray, *, standardise: bool = False, eigen: bool = True) -> ShrunkSpectrum:
    """Centre (and optionally scale to unit variance) ``window`` and return its shrunk covariance."""
    x = window - window.mean(axis=0)
    if standardise:
        sd = x.std(axis=0)
        x = x / np.where(sd > 0, sd, 1.0)
    t, n = x.shape
    small = x.T @ x if n <= t else x @ x.T
    lam = np.clip(np.linalg.eigvalsh(small)[::-1], 0.0, None) / t if eigen else np.empty(0)
    mu = float(np.trace(small)) / t / n
    return ShrunkSpectrum(x, small, lam, mu, ledoit_wolf_shrinkage(x, small, mu))


def ledoit_wolf_shrinkage(x: np.ndarray, small: np.ndarray, mu: float) -> float:
    """Ledoit-Wolf (2004) intensity towards ``mu * I`` from a centred window and its Gram or scatter matrix.

    ``||S||_F^2`` equals ``||small||_F^2 / T^2`` whichever of x'x and xx' ``small`` is.
    """
    t, n = x.shape
    s2 = float(np.sum(small * small)) / t**2
    d2 = s2 - n * mu * mu
    if d2 <= 0.0:
        return 1.0
    norms = np.einsum("ij,ij->i", x, x)
    b2 = (float(np.sum(norms * norms)) / t - s2) / t
    return float(min(max(b2, 0.0), d2) / d2)


def absorption_ratio(spec: ShrunkSpectrum, fraction: float) -> float:
    """Share of total variance in the top ``max(1, round(fraction * n))`` eigenvectors of the shrunk covariance."""
    n = spec.names
    k = max(1, round(fraction * n))
    if spec.mean_variance <= 0.0:
        return float("nan")
    top = np.sum(spec.eigenvalues[:k])
    shrunk_top = (1.0 - spec.shrinkage) * top + spec.shrinkage * k * spec.mean_variance
    return float(shrunk_top / (n * spec.mean_variance))


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
