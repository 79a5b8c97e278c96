"""Degradation detectors on outcome series: trailing t-statistics, a one-sided CUSUM, volatility-forecast drift.

Each works on one time-ordered series (one engine, config version, horizon and, where sliced, regime) and never
looks past its last element, so a finding at session t depends on outcomes known by t only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def t_stat(x: np.ndarray) -> float:
    """Student t of the mean of ``x`` against zero (NaN with fewer than 3 finite values or no dispersion)."""
    v = x[np.isfinite(x)]
    if v.size < 3:
        return math.nan
    sd = float(np.std(v, ddof=1))
    return float(np.mean(v) / (sd / math.sqrt(v.size))) if sd > 0 else math.nan


def non_overlapping(x: np.ndarray, horizon: int) -> np.ndarray:
    """Every ``horizon``-th value, ending at the last: outcomes over H sessions decided on consecutive sessions
    share H-1 sessions of returns, and their t-statistic would be inflated by about sqrt(H)."""
    if horizon <= 1:
        return x
    return x[::-1][::horizon][::-1]


@dataclass(frozen=True)
class CusumAlarm:
    """Where a lower CUSUM crossed its threshold: position in the series, the statistic, the reference mean/sd."""

    index: int
    statistic: float
    reference_mean: float
    reference_sd: float


def lower_cusum(x: np.ndarray, reference: int, k: float = 0.5, h: float = 7.0) -> CusumAlarm | None:
    """Page's one-sided CUSUM for a fall in the mean of ``x`` after its first ``reference`` values.

    The series is standardised by the reference part's mean and standard deviation; ``S_t = min(0, S_{t-1} + z_t +
    k)`` and the first ``t`` with ``S_t < -h`` is an alarm (``k`` = half the shift to detect, in sd). The textbook
    ``h`` = 5 assumes known parameters; estimated from 252 values it alarms falsely on 19 % of 148 in-control
    values (400 simulated normal series), ``h`` = 7 on 3 %, still catching a one-sd fall on 99 % of them with a
    median delay of 11 values. None when there is no alarm or too little reference data.
    """
    v = x[np.isfinite(x)]
    if reference < 10 or v.size <= reference:
        return None
    mu, sd = float(np.mean(v[:reference])), float(np.std(v[:reference], ddof=1))
    if not sd > 0:
        return None
    s = 0.0
    for i in range(reference, v.size):
        s = min(0.0, s + (v[i] - mu) / sd + k)
        if s < -h:
            return CusumAlarm(i, s, mu, sd)
    return None


def vol_ratio(realised: np.ndarray, predicted: np.ndarray) -> float:
    """Mean realised / predicted volatility over the pairs where both are finite and predicted > 0 (NaN if none)."""
    ok = np.isfinite(realised) & np.isfinite(predicted) & (predicted > 0)
    return float(np.mean(realised[ok] / predicted[ok])) if ok.any() else math.nan
