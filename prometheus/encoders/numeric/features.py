"""Causal input features of the numeric encoder (pure numpy).

Channels, per (session, instrument): total return, its absolute value, the market residual (return minus the
trailing beta times the market return) and the z-score of log dollar volume against its trailing window.
Every rolling statistic is computed from its own window (no running sums), so a value at session t is the same
whatever the panel's first session and whatever follows t.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from prometheus.data.panel import PricePanel

#: Channel names, in the order of the last axis of :attr:`Features.values`.
CHANNELS: tuple[str, ...] = ("return", "abs_return", "residual", "dollar_volume_z")
_BLOCK = 128


@dataclass(frozen=True)
class Features:
    """Raw (unscaled) features, shape (sessions, symbols, channels); NaN where undefined."""

    values: np.ndarray
    market: np.ndarray  # (sessions,) market return

    @property
    def observed(self) -> np.ndarray:
        """(sessions, symbols) mask of cells with every channel defined."""
        return np.isfinite(self.values).all(axis=-1)


def market_returns(returns: np.ndarray) -> np.ndarray:
    """Equal-weighted mean return of the names with a bar at each session (NaN when none)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(returns, axis=1)


def trailing(values: np.ndarray, window: int, lag: int = 0) -> np.ndarray:
    """Sliding windows of ``window`` rows ending ``lag`` rows before each row: shape (T, ..., window).

    Rows without a full window are NaN-padded at the front.
    """
    pad_shape = (window - 1 + lag, *values.shape[1:])
    padded = np.concatenate([np.full(pad_shape, np.nan), values], axis=0)
    win = sliding_window_view(padded, window, axis=0)
    return win[: values.shape[0]]


def rolling_beta(returns: np.ndarray, market: np.ndarray, window: int, lag: int = 0) -> np.ndarray:
    """OLS beta of each name on the market over the trailing window (NaN below half a window of pairs)."""
    y_all = trailing(returns, window, lag)
    x_all = trailing(np.broadcast_to(market[:, None], returns.shape).copy(), window, lag)
    out = np.full(returns.shape, np.nan)
    # Blocks of rows bound the memory of the (rows, names, window) temporaries; rows are independent.
    for s in range(0, returns.shape[0], _BLOCK):
        y, x = y_all[s : s + _BLOCK], x_all[s : s + _BLOCK]
        ok = np.isfinite(y) & np.isfinite(x)
        n = ok.sum(axis=-1)
        x0, y0 = np.where(ok, x, 0.0), np.where(ok, y, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mx, my = x0.sum(axis=-1) / n, y0.sum(axis=-1) / n
            dx = np.where(ok, x0 - mx[..., None], 0.0)
            cov = (dx * np.where(ok, y0 - my[..., None], 0.0)).sum(axis=-1)
            var = (dx * dx).sum(axis=-1)
            beta = cov / var
        out[s : s + _BLOCK] = np.where((n >= window // 2) & (var > 0), beta, np.nan)
    return out


def rolling_zscore(values: np.ndarray, window: int) -> np.ndarray:
    """(x_t - mean) / std over the ``window`` rows before t (NaN below half a window)."""
    win_all = trailing(values, window, lag=1)
    out = np.full(values.shape, np.nan)
    for s in range(0, values.shape[0], _BLOCK):
        win = win_all[s : s + _BLOCK]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            n = np.isfinite(win).sum(axis=-1)
            mean = np.nanmean(win, axis=-1)
            std = np.nanstd(win, axis=-1)
            z = (values[s : s + _BLOCK] - mean) / std
        out[s : s + _BLOCK] = np.where((n >= window // 2) & (std > 0), z, np.nan)
    return out


def compute_features(panel: PricePanel, *, beta_window: int, volume_window: int) -> Features:
    """The four raw channels of ``panel``."""
    r = panel.returns
    m = market_returns(r)
    beta = rolling_beta(r, m, beta_window, lag=1)
    resid = r - np.where(np.isfinite(beta), beta, 1.0) * m[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        log_dv = np.where(panel.dollar_volume > 0, np.log(panel.dollar_volume), np.nan)
    dvz = rolling_zscore(log_dv, volume_window)
    values = np.stack([r, np.abs(r), resid, dvz], axis=-1)
    return Features(values, m)


def fit_scales(features: Features, rows: slice) -> np.ndarray:
    """Per-channel scale (standard deviation over ``rows``; 1 for the z-score channel) from a training window."""
    v = features.values[rows]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        scales = np.nanstd(v.reshape(-1, v.shape[-1]), axis=0)
    scales[CHANNELS.index("dollar_volume_z")] = 1.0
    return np.where(np.isfinite(scales) & (scales > 0), scales, 1.0)


def scaled_inputs(features: Features, scales: np.ndarray, clip: float) -> np.ndarray:
    """Scaled, clipped float32 inputs with undefined cells set to 0: shape (sessions, symbols, channels)."""
    x = np.clip(features.values / scales, -clip, clip)
    return np.where(np.isfinite(x), x, 0.0).astype(np.float32)


def coverage(features: Features, window: int) -> np.ndarray:
    """Share of the trailing ``window`` sessions (ending at t) with every channel observed."""
    obs = np.concatenate([np.zeros((window, features.observed.shape[1])), features.observed.astype(np.float64)])
    csum = np.cumsum(obs, axis=0)  # integer counts: exact whatever the start
    return (csum[window:] - csum[:-window]) / window


def rolling_mean(values: np.ndarray, window: int, *, min_count: int | None = None) -> np.ndarray:
    """Mean over the ``window`` rows ending at t (NaN-aware; NaN below ``min_count`` values, default half)."""
    return _rolling(values, window, np.nanmean, min_count)


def rolling_std(values: np.ndarray, window: int, *, min_count: int | None = None) -> np.ndarray:
    """Standard deviation over the ``window`` rows ending at t (NaN-aware)."""
    return _rolling(values, window, np.nanstd, min_count)


def _rolling(values: np.ndarray, window: int, fn: object, min_count: int | None) -> np.ndarray:
    need = window // 2 if min_count is None else min_count
    win_all = trailing(values, window)
    out = np.full(values.shape, np.nan)
    for s in range(0, values.shape[0], _BLOCK):
        win = win_all[s : s + _BLOCK]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            n = np.isfinite(win).sum(axis=-1)
            stat = fn(win, axis=-1)  # type: ignore[operator]
        out[s : s + _BLOCK] = np.where(n >= max(need, 1), stat, np.nan)
    return out
