"""Risk-based allocations the optimiser falls back to: hierarchical risk parity and inverse volatility.

HRP (López de Prado, 2016): cluster the names by correlation distance ``sqrt((1 - rho) / 2)``, order them so that
similar names sit next to each other (the leaf order of the linkage tree), then split the ordered list in halves
recursively, giving each half a share of its parent's weight inversely proportional to the half's variance under
inverse-variance weights. It needs no matrix inversion, so it works on singular or badly conditioned covariances
where mean-variance does not. Both allocators are long-only and sum to 1.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy.cluster.hierarchy import leaves_list, linkage
from scipy.spatial.distance import squareform

LinkageMethod = Literal["single", "complete", "average", "ward"]


def hrp_weights(cov: np.ndarray, *, method: LinkageMethod = "single") -> np.ndarray:
    """HRP weights (n,) of a covariance (n, n), summing to 1.

    Raises
    ------
    ValueError
        ``cov`` is not square, not finite, or a variance is not positive.
    """
    cov = np.asarray(cov, dtype=float)
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1]:
        raise ValueError(f"covariance must be square, got shape {cov.shape}")
    n = cov.shape[0]
    if n == 0:
        return np.empty(0)
    var = np.diag(cov)
    if not np.all(np.isfinite(cov)) or np.any(var <= 0):
        raise ValueError("covariance must be finite with positive variances")
    if n == 1:
        return np.ones(1)
    order = quasi_diagonal_order(cov, method=method)
    return _bisect(cov, order)


def quasi_diagonal_order(cov: np.ndarray, *, method: LinkageMethod = "single") -> np.ndarray:
    """Names ordered as the leaves of the correlation-distance linkage tree (similar names adjacent)."""
    sd = np.sqrt(np.diag(cov))
    corr = np.clip(cov / np.outer(sd, sd), -1.0, 1.0)
    dist = np.sqrt(np.clip(0.5 * (1.0 - corr), 0.0, None))
    # Rounding leaves the matrix a hair off symmetric with a non-zero diagonal; squareform needs both exact.
    dist = 0.5 * (dist + dist.T)
    np.fill_diagonal(dist, 0.0)
    tree = linkage(squareform(dist, checks=False), method=method)
    return leaves_list(tree)


def _bisect(cov: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Recursive bisection over the ordered names, iteratively (a stack, no recursion limit at large n)."""
    w = np.ones(cov.shape[0])
    stack = [order]
    while stack:
        items = stack.pop()
        if len(items) < 2:
            continue
        half = len(items) // 2
        left, right = items[:half], items[half:]
        v_left, v_right = _cluster_variance(cov, left), _cluster_variance(cov, right)
        share = 1.0 - v_left / (v_left + v_right)
        w[left] *= share
        w[right] *= 1.0 - share
        stack.extend((left, right))
    return w / w.sum()


def _cluster_variance(cov: np.ndarray, items: np.ndarray) -> float:
    """Variance of a cluster held at inverse-variance weights (the allocation HRP assumes within a cluster)."""
    sub = cov[np.ix_(items, items)]
    ivp = 1.0 / np.diag(sub)
    ivp /= ivp.sum()
    return float(ivp @ sub @ ivp)


def inverse_vol_weights(vol: np.ndarray) -> np.ndarray:
    """Weights proportional to 1 / vol, summing to 1.

    Raises
    ------
    ValueError
        A volatility is not finite and positive.
    """
    vol = np.asarray(vol, dtype=float)
    if vol.size == 0:
        return np.empty(0)
    if not np.all(np.isfinite(vol)) or np.any(vol <= 0):
        raise ValueError("volatilities must be finite and positive")
    inv = 1.0 / vol
    return inv / inv.sum()
