"""Regime features of a market return series: pure functions over arrays, no I/O.

Per half-life h: the EWM mean return, the log EWM downside deviation and the EWM Sortino ratio (mean over
downside deviation). Row ``u`` is a weighted sum over at most ``window`` returns ending at ``u`` (weights
normalised over the returns present), so it depends on those returns only: appending data never changes it.

Optional cross-sectional features (:func:`cross_section_features`) read the returns of the listed names each
session: per half-life, a correlation proxy (EWM of the squared equal-weighted mean return over the EWM of the
mean squared stock return; for n names with average pairwise correlation rho it is about rho + (1 - rho) / n)
and the log EWM cross-sectional dispersion. Crises raise both (loadings and idiosyncratic volatility rise).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from prometheus.engines.regime.config import RegimeConfig

#: Floor of the downside deviation before its log (a run of gains has none).
_DD_FLOOR = 1e-6


def feature_names(half_lives: Sequence[int]) -> tuple[str, ...]:
    """Column names of :func:`ewm_features`, in order."""
    return tuple(f"{k}_{h}" for h in half_lives for k in ("ewm_return", "log_downside_dev", "sortino"))


def _weights(half_life: int, window: int) -> np.ndarray:
    # Oldest first, newest last, matching sliding_window_view's order.
    decay = 0.5 ** (1.0 / half_life)
    return decay ** np.arange(window - 1, -1, -1, dtype=float)


def _window_means(values: np.ndarray, weights: np.ndarray, present: np.ndarray) -> np.ndarray:
    # Row u: sum(w * x) / sum(w) over the window ending at u; absent returns (NaN) weigh nothing.
    window = len(weights)
    padded_x = np.concatenate([np.zeros(window - 1), np.where(present, values, 0.0)])
    padded_p = np.concatenate([np.zeros(window - 1), present.astype(float)])
    num = (sliding_window_view(padded_x, window) * weights).sum(axis=1)
    den = (sliding_window_view(padded_p, window) * weights).sum(axis=1)
    return num / den


def ewm_features(returns: np.ndarray, half_lives: Sequence[int], window: int, min_returns: int) -> np.ndarray:
    """Feature matrix (one row per return) of shape (n, 3 * len(half_lives)); NaN rows lack history.

    Parameters
    ----------
    returns
        Simple daily returns, oldest first; NaN marks a session without a return.
    half_lives
        EWM half-lives in sessions.
    window
        Most returns a row looks back over.
    min_returns
        Rows with fewer returns in their window are NaN.
    """
    r = np.asarray(returns, dtype=float)
    present = np.isfinite(r)
    count = np.convolve(present.astype(float), np.ones(window))[: len(r)]
    cols: list[np.ndarray] = []
    for h in half_lives:
        w = _weights(h, window)
        mean = _window_means(r, w, present)
        downside = np.sqrt(_window_means(np.minimum(r, 0.0) ** 2, w, present))
        dd = np.maximum(downside, _DD_FLOOR)
        cols += [mean, np.log(dd), mean / dd]
    out = np.column_stack(cols)
    out[count < min_returns] = np.nan
    return out


def cross_section_names(half_lives: Sequence[int]) -> tuple[str, ...]:
    """Column names of :func:`cross_section_features`, in order."""
    return tuple(f"{k}_{h}" for h in half_lives for k in ("xs_corr", "xs_log_dispersion"))


def daily_cross_section(returns: np.ndarray, min_names: int) -> np.ndarray:
    """Per session (row of a (sessions, names) panel, NaN = no return): mean, mean square, variance.

    Shape (sessions, 3); rows with fewer than ``min_names`` returns are NaN (no cross-section that day).
    """
    r = np.asarray(returns, dtype=float)
    present = np.isfinite(r)
    n = present.sum(axis=1)
    x = np.where(present, r, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = x.sum(axis=1) / n
        square = (x * x).sum(axis=1) / n
    out = np.column_stack([mean, square, square - mean * mean])
    out[n < min_names] = np.nan
    return out


def cross_section_features(daily: np.ndarray, half_lives: Sequence[int], window: int, min_returns: int) -> np.ndarray:
    """Cross-sectional feature rows from :func:`daily_cross_section` rows; shape (n, 2 * len(half_lives)).

    Row ``u`` uses the daily rows up to ``u`` only (at most ``window``); rows with fewer than ``min_returns``
    daily cross-sections in their window are NaN.
    """
    d = np.asarray(daily, dtype=float).reshape(-1, 3)
    present = np.isfinite(d).all(axis=1)
    count = np.convolve(present.astype(float), np.ones(window))[: len(d)]
    cols: list[np.ndarray] = []
    for h in half_lives:
        w = _weights(h, window)
        index_var = _window_means(d[:, 0] ** 2, w, present)
        stock_var = np.maximum(_window_means(d[:, 1], w, present), _DD_FLOOR**2)
        dispersion = np.maximum(_window_means(d[:, 2], w, present), _DD_FLOOR**2)
        cols += [index_var / stock_var, 0.5 * np.log(dispersion)]
    out = np.column_stack(cols) if cols else np.empty((len(d), 0))
    out[count < min_returns] = np.nan
    return out


def regime_features(returns: np.ndarray, daily: np.ndarray | None, cfg: RegimeConfig) -> np.ndarray:
    """The feature rows of ``cfg``: market-series features, then cross-sectional ones when configured.

    ``daily`` holds :func:`daily_cross_section` rows aligned with ``returns`` (None: no cross-section, the
    columns are NaN and models fall back to the market-series features).
    """
    market = ewm_features(returns, cfg.half_lives, cfg.feature_window, cfg.min_feature_returns)
    if not cfg.cross_section:
        return market
    if daily is None:
        daily = np.full((len(market), 3), np.nan)
    xs = cross_section_features(daily, cfg.cross_section_half_lives, cfg.feature_window, cfg.min_feature_returns)
    return np.hstack([market, xs])


@dataclass(frozen=True)
class FeatureScaler:
    """Clip at mean +- k sd, then standardise: both learned on the training rows only."""

    lower: np.ndarray
    upper: np.ndarray
    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, train: np.ndarray, clip_sigmas: float) -> FeatureScaler:
        """Learn the clip bounds and standardisation from ``train`` (rows without NaN)."""
        mu, sd = train.mean(axis=0), train.std(axis=0)
        sd = np.where(sd > 0, sd, 1.0)
        lower, upper = mu - clip_sigmas * sd, mu + clip_sigmas * sd
        clipped = np.clip(train, lower, upper)
        scale = clipped.std(axis=0)
        return cls(lower, upper, clipped.mean(axis=0), np.where(scale > 0, scale, 1.0))

    def transform(self, rows: np.ndarray) -> np.ndarray:
        """Clip and standardise ``rows`` with the training statistics."""
        return (np.clip(rows, self.lower, self.upper) - self.mean) / self.scale
