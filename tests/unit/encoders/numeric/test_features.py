"""Causal features of the numeric encoder built on point-in-time price panels."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from prometheus.data.panel import panel_from_frame
from prometheus.encoders.numeric.features import compute_features, rolling_beta, rolling_zscore


def test_rolling_beta_when_compared_with_least_squares_matches() -> None:
    rng = np.random.default_rng(0)
    m = rng.normal(size=80)
    r = (1.3 * m + 0.1 * rng.normal(size=80))[:, None]
    beta = rolling_beta(r, m, 30)
    expected = np.polyfit(m[50:80], r[50:80, 0], 1)[0]

    assert beta[79, 0] == pytest.approx(expected, rel=1e-9)
    assert np.isnan(beta[10, 0])


def test_zscore_when_computed_uses_only_earlier_rows() -> None:
    x = np.arange(30, dtype=float)[:, None]
    z = rolling_zscore(x, 10)
    window = x[19:29, 0]

    assert z[29, 0] == pytest.approx((29 - window.mean()) / window.std())


def test_features_when_rows_appended_are_unchanged_before() -> None:
    rng = np.random.default_rng(1)
    days = [date(2024, 1, 1) + timedelta(days=k) for k in range(120)]
    ret = rng.normal(0, 0.01, size=(120, 5))
    dv = np.exp(rng.normal(10, 1, size=(120, 5)))
    frame = pl.DataFrame({"date": [d for d in days for _ in range(5)], "symbol": [f"S{k}" for k in range(5)] * 120,
                          "close": 1.0, "volume": dv.ravel(), "total_return": ret.ravel()})  # fmt: skip
    dts = [datetime(d.year, d.month, d.day, 21, tzinfo=UTC) for d in days]
    short = compute_features(panel_from_frame(frame, "US_EQ", days[:90], dts[:90]), beta_window=30, volume_window=20)
    long = compute_features(panel_from_frame(frame, "US_EQ", days, dts), beta_window=30, volume_window=20)

    assert np.array_equal(short.values, long.values[:90], equal_nan=True)
