"""Shrunk covariance spectra shared by the engines (Stability's absorption ratio, Fragility's cluster AR).

All functions take complete (rows, names) return windows without NaN. The Ledoit-Wolf shrinkage target is
``mu * I`` (``mu`` = mean variance), so the shrunk covariance ``(1 - delta) S + delta mu I`` has the eigenvectors of
the sample covariance ``S`` and eigenvalues ``(1 - delta) lambda + delta mu``. When names outnumber rows the
spectrum is taken from the (rows x rows) Gram matrix, which has the same non-zero eigenvalues and is far cheaper.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
