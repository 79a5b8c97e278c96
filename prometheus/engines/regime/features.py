"""Regime features of a market return series: pure functions over arrays, no I/O.

Per half-life h: the EWM mean return, the log EWM downside deviation and the EWM Sortino ratio (mean over
downside deviation). Row ``u`` is a weighted sum over at most ``window`` returns ending at ``u`` (weights
normalised over the returns present), so it depends on those returns only: appending data never changes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

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
