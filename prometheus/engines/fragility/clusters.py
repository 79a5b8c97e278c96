"""Pure maths of the Fragility engine: residual returns, point-in-time clusters and their crowding statistics.

Clusters come only from the trailing residual correlations known at the session (never from sector labels or any
ground truth), on residuals net of market, sector and the leading statistical factors of the earlier residuals
(see :func:`remove_style_factors`). Single pairwise residual correlations over a quarter are too noisy to cluster
on (a crowd at rho ~ 0.1 sits inside the noise of one pair), so names are clustered on the similarity of their
whole correlation profiles (the correlation between rows of the residual correlation matrix), which pools every
pair: hierarchical clustering on ``1 - similarity``, cut at ``1 - cut_similarity``. Crowding is then measured on
the residual correlations themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.linalg import eigh
from scipy.spatial.distance import squareform

from prometheus.engines.covariance import absorption_ratio, shrunk_spectrum
from prometheus.engines.fragility.config import FragilityConfig


@dataclass(frozen=True)
class Cluster:
    """One cluster of a session: member column indices and its statistics."""

    members: np.ndarray
    own_corr: np.ndarray  # per member, its mean residual correlation with the other members
    avg_corr: float
    absorption_ratio: float
    amihud_trend: float
    flagged: bool


def market_sector_residuals(returns: np.ndarray, sectors: np.ndarray, cfg: FragilityConfig) -> np.ndarray:
    """The last ``beta_window`` rows of returns net of an OLS fit on [1, market, own sector] over those rows.

    The market and sector factors are equal-weighted means of the complete names; a sector with fewer than
    ``min_sector_names`` names uses the market alone.
    """
    fit = returns[-cfg.beta_window :]
    market = fit.mean(axis=1)
    out = np.empty_like(fit)
    for sector in np.unique(sectors):
        cols = np.flatnonzero(sectors == sector)
        parts = [np.ones_like(market), market]
        if len(cols) >= cfg.min_sector_names and sector != "":
            parts.append(fit[:, cols].mean(axis=1))
        x = np.column_stack(parts)
        beta, *_ = np.linalg.lstsq(x, fit[:, cols], rcond=None)
        out[:, cols] = fit[:, cols] - x @ beta
    return out


def remove_style_factors(residuals: np.ndarray, factors: int, recent: int) -> np.ndarray:
    """The last ``recent`` rows net of the top ``factors`` principal components of the rows before them.

    The components are the leading right singular vectors (loadings over names) of the earlier residuals, each
    name scaled to unit variance; each recent row is projected off their span (the cross-sectional regression of
    the row on the loadings), then scaled back. Estimated without the recent rows, so a crowd that forms inside
    them is not taken for a style; a crowd already as old as the whole window is.
    """
    base, last = residuals[:-recent], residuals[-recent:]
    if factors <= 0 or len(base) < 2:
        return last.copy()
    sd = base.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    loadings = leading_loadings((base - base.mean(axis=0)) / sd, factors)
    z = last / sd
    return (z - (z @ loadings) @ loadings.T) * sd


def leading_loadings(z: np.ndarray, k: int) -> np.ndarray:
    """The top ``k`` right singular vectors of ``z`` as columns (signs arbitrary: only their span is used).

    From a subset eigen problem of the smaller Gram matrix instead of a full SVD (an order of magnitude faster on
    (189 x 500) windows); equal to ``np.linalg.svd(z)[2][:k].T`` up to rounding and signs.
    """
    t, n = z.shape
    k = min(k, t, n)
    if n <= t:
        return eigh(z.T @ z, subset_by_index=[n - k, n - 1])[1][:, ::-1]
    w, u = eigh(z @ z.T, subset_by_index=[t - k, t - 1])
    s = np.sqrt(np.clip(w, 0.0, None))
    if s[0] <= s[-1] * 1e-6:
        # A (near) zero singular value: z'u / s does not determine its vector, the SVD does.
        return np.linalg.svd(z, full_matrices=False)[2][:k].T
    return ((z.T @ u) / s)[:, ::-1]


def residual_returns(returns: np.ndarray, sectors: np.ndarray, cfg: FragilityConfig) -> np.ndarray:
    """Last ``corr_window`` rows of residuals on market and sector, net of ``style_factors`` earlier components."""
    residuals = market_sector_residuals(returns, sectors, cfg)
    return remove_style_factors(residuals, cfg.style_factors, cfg.corr_window)


def correlation(residuals: np.ndarray) -> np.ndarray:
    """Pairwise correlation of the columns (constant columns correlate 0 with everything)."""
    x = residuals - residuals.mean(axis=0)
    sd = np.sqrt(np.sum(x * x, axis=0))
    z = x / np.where(sd > 0, sd, np.inf)
    c = z.T @ z
    np.fill_diagonal(c, 1.0)
    return np.clip(c, -1.0, 1.0)


def cluster_labels(corr: np.ndarray, cfg: FragilityConfig) -> np.ndarray:
    """Cluster label per column from hierarchical clustering of ``1 - profile similarity``."""
    off = corr - np.eye(len(corr))
    dist = np.clip(1.0 - correlation(off), 0.0, 2.0)
    np.fill_diagonal(dist, 0.0)
    tree = linkage(squareform(dist, checks=False), method=cfg.linkage.value)
    return fcluster(tree, t=1.0 - cfg.cut_similarity, criterion="distance")


def amihud_trend(returns: np.ndarray, dollar_volume: np.ndarray, cfg: FragilityConfig) -> np.ndarray:
    """Per name ``log(mean |r|/DV over amihud_short) - log(mean over amihud_long)``; NaN without volume."""
    illiq = np.abs(returns) / np.where(dollar_volume > 0, dollar_volume, np.nan)
    short = np.nanmean(illiq[-cfg.amihud_short :], axis=0)
    long = np.nanmean(illiq[-cfg.amihud_long :], axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(short / long)


def clusters_of(corr: np.ndarray, residuals: np.ndarray, trend: np.ndarray, cfg: FragilityConfig) -> list[Cluster]:
    """Clusters of two names or more with their average correlation, absorption ratio and Amihud trend."""
    labels = cluster_labels(corr, cfg)
    out = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        m = len(members)
        if m < 2:
            continue
        block = corr[np.ix_(members, members)]
        own = (block.sum(axis=1) - 1.0) / (m - 1)
        avg = float(own.mean())
        ar = absorption_ratio(shrunk_spectrum(residuals[:, members], standardise=True), cfg.ar_fraction)
        finite = trend[members][np.isfinite(trend[members])]
        amihud = float(finite.mean()) if finite.size else float("nan")
        flagged = m >= cfg.min_cluster_size and avg >= cfg.flag_correlation and (m - 1) * avg >= cfg.flag_excess
        out.append(Cluster(members, own, avg, ar, amihud, flagged))
    return out


def excess(c: Cluster) -> float:
    """``(size - 1) x average correlation``: the top eigenvalue of an equicorrelated block minus one, i.e. how
    much common variation the cluster concentrates (a big weakly correlated crowd outranks a chance pair)."""
    return (len(c.members) - 1) * max(0.0, c.avg_corr)


def instrument_scores(clusters: list[Cluster], n: int, cfg: FragilityConfig) -> np.ndarray:
    """Crowding penalty per name: its cluster's :func:`excess` times ``min(1, own / average)`` correlation (a loose
    member of a crowd ranks below its core, and no member of a big loose cluster above a tight one), times
    ``1 + max(0, trend)`` for rising illiquidity. Names in no cluster score 0."""
    score = np.zeros(n)
    for c in clusters:
        if c.avg_corr <= 0.0:
            continue
        liquidity = 1.0 + max(0.0, c.amihud_trend) if np.isfinite(c.amihud_trend) else 1.0
        score[c.members] = excess(c) * np.clip(c.own_corr / c.avg_corr, 0.0, 1.0) * liquidity
    return score
