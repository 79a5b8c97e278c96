"""Stylised-fact and IC measurements (pure functions on arrays), used by the truth manifest, tests and docs."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def hill_tail_index(x: np.ndarray, tail_fraction: float = 0.02) -> float:
    """Hill estimator of the tail index of |x| from its largest ``tail_fraction`` share (NaNs ignored)."""
    a = np.sort(np.abs(x[np.isfinite(x)]))[::-1]
    k = max(10, int(tail_fraction * len(a)))
    return float(1.0 / np.mean(np.log(a[:k] / a[k])))


def acf(x: np.ndarray, lags: tuple[int, ...]) -> dict[int, float]:
    """Sample autocorrelations of ``x`` at ``lags``."""
    d = x - x.mean()
    var = float(np.dot(d, d))
    return {lag: float(np.dot(d[:-lag], d[lag:]) / var) for lag in lags}


def leverage_correlation(x: np.ndarray) -> float:
    """corr(r_t, |r_{t+1}|): negative when falls raise future volatility."""
    return float(np.corrcoef(x[:-1], np.abs(x[1:]))[0, 1])


def leverage_future_vol(x: np.ndarray, horizon: int = 20) -> float:
    """corr(r_t, mean |r| over t+1 .. t+horizon): the leverage effect against future realised volatility."""
    fut = np.convolve(np.abs(x - x.mean()), np.ones(horizon) / horizon, mode="valid")
    return float(np.corrcoef(x[:-horizon], fut[1:])[0, 1])


def mean_abs_acf(panel: np.ndarray, lags: tuple[int, ...], min_obs: int = 250) -> dict[int, float]:
    """Average over names (columns with at least ``min_obs`` finite values) of the ACF of |r - mean|."""
    out = []
    for col in panel.T:
        x = col[np.isfinite(col)]
        if len(x) >= min_obs:
            out.append(list(acf(np.abs(x - x.mean()), lags).values()))
    means = np.mean(out, axis=0)
    return {lag: float(v) for lag, v in zip(lags, means, strict=True)}


def stylised_facts(total: np.ndarray, regimes: np.ndarray) -> dict[str, float]:
    """The stylised facts of a return panel (sessions x names, NaN where not listed) and its regime path.

    The index is the equal-weighted mean of the names listed each session; pooled returns are standardised by
    each name's full-sample standard deviation before the Hill estimate (top 1 % of |r|).
    """
    with np.errstate(invalid="ignore"):
        index = np.nanmean(total, axis=1)
        pooled = (total / np.nanstd(total, axis=0)).ravel()
    corr = [average_pairwise_correlation(total, np.flatnonzero(regimes == k)) for k in range(3)]
    index_abs = acf(np.abs(index - index.mean()), (1, 20, 60))
    stock_abs = mean_abs_acf(total, (1, 20, 60))
    return {
        "hill_pooled_1pct": hill_tail_index(pooled, 0.01),
        "hill_pooled_2pct": hill_tail_index(pooled, 0.02),
        "hill_index_2pct": hill_tail_index(index, 0.02),
        "index_acf_r_1": acf(index, (1,))[1],
        **{f"index_acf_abs_{k}": v for k, v in index_abs.items()},
        **{f"stock_acf_abs_{k}": v for k, v in stock_abs.items()},
        "index_leverage_next_abs": leverage_correlation(index),
        "index_leverage_future_vol_20": leverage_future_vol(index, 20),
        "avg_corr_calm": corr[0],
        "avg_corr_normal": corr[1],
        "avg_corr_crisis": corr[2],
        "crisis_to_calm_corr": corr[2] / corr[0],
        "index_annual_vol": float(np.std(index) * np.sqrt(252.0)),
        "stock_annual_vol_mean": float(np.nanmean(np.nanstd(total, axis=0)) * np.sqrt(252.0)),
    }


def average_pairwise_correlation(panel: np.ndarray, rows: np.ndarray) -> float:
    """Mean off-diagonal correlation of the columns of ``panel[rows]`` that have no NaN there."""
    sub = panel[rows]
    sub = sub[:, np.isfinite(sub).all(axis=0)]
    c = np.corrcoef(sub, rowvar=False)
    n = c.shape[0]
    return float((c.sum() - n) / (n * (n - 1)))


def _row_corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = np.where(ok, a, 0.0), np.where(ok, b, 0.0)
    n = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ma, mb = a.sum(axis=1) / n, b.sum(axis=1) / n
        da, db = np.where(ok, a - ma[:, None], 0.0), np.where(ok, b - mb[:, None], 0.0)
        r = (da * db).sum(axis=1) / np.sqrt((da * da).sum(axis=1) * (db * db).sum(axis=1))
    return np.where(n >= 10, r, np.nan)


def cross_sectional_ic(signal: np.ndarray, target: np.ndarray, rank: bool = False) -> np.ndarray:
    """Per-row (per-session) correlation of ``signal`` with ``target`` over names where both are finite
    (Pearson, or Spearman when ``rank``); NaN for rows with fewer than 10 names. Align the lag before calling."""
    if rank:
        ok = np.isfinite(signal) & np.isfinite(target)
        signal = rankdata(np.where(ok, signal, np.nan), axis=1, nan_policy="omit")
        target = rankdata(np.where(ok, target, np.nan), axis=1, nan_policy="omit")
    return _row_corr(signal, target)


def mean_ic(signal: np.ndarray, target: np.ndarray, rows: np.ndarray | None = None, rank: bool = False) -> float:
    """Mean IC of ``signal[t]`` against ``target[t+1]`` (optionally only for predicted sessions ``rows``+1)."""
    ics = cross_sectional_ic(signal[:-1], target[1:], rank=rank)
    if rows is not None:
        ics = ics[rows]
    return float(np.nanmean(ics))
