"""Point-in-time price panels read through the TimeMachine, and the causal features built on them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from prometheus.core.errors import DataError
from prometheus.data.panel import load_price_panel, panel_from_frame
from prometheus.data.schema import Table
from prometheus.data.store import HistoricalStore
from prometheus.data.timemachine import TimeMachine
from prometheus.encoders.numeric.features import compute_features, rolling_beta, rolling_zscore

DAYS = [date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 4), date(2024, 1, 5)]
DTS = [datetime(d.year, d.month, d.day, 21, 5, tzinfo=UTC) for d in DAYS]


def _rows(day: int, close: float, ret: float, known: datetime) -> dict:
    return {"market": "US_EQ", "date": DAYS[day], "symbol": "AAA", "open": close, "high": close, "low": close,
            "close": close, "volume": 100.0, "total_return": ret, "known_at": known}  # fmt: skip


def test_panel_when_bar_revised_later_uses_version_known_at_its_session(tmp_path) -> None:
    store = HistoricalStore(tmp_path / "lake")
    rows = [_rows(k, 10.0 + k, 0.01 * (k + 1), DTS[k]) for k in range(4)]
    rows.append(_rows(1, 99.0, 0.5, DTS[2] + timedelta(hours=1)))  # correction of day 1 known after day 2
    store.write_frame(Table.PRICES_ADJUSTED, pl.DataFrame(rows))
    panel = load_price_panel(TimeMachine(store, DTS[-1]), "US_EQ", DAYS, DTS)

    assert panel.symbols == ("AAA",)
    assert panel.returns[:, 0].tolist() == [0.01, 0.02, 0.03, 0.04]
    assert panel.dollar_volume[1, 0] == pytest.approx(1100.0)


def test_panel_when_bar_arrives_after_its_session_leaves_it_missing(tmp_path) -> None:
    store = HistoricalStore(tmp_path / "lake")
    rows = [_rows(k, 10.0, 0.01, DTS[k]) for k in (0, 2, 3)]
    rows.append(_rows(1, 10.0, 0.02, DTS[3]))  # day 1 only delivered on day 3
    store.write_frame(Table.PRICES_ADJUSTED, pl.DataFrame(rows))
    panel = load_price_panel(TimeMachine(store, DTS[-1]), "US_EQ", DAYS, DTS)

    assert np.isnan(panel.returns[1, 0])
    assert panel.returns[3, 0] == 0.01


def test_panel_from_frame_when_column_missing_raises_data_error() -> None:
    frame = pl.DataFrame({"date": DAYS, "symbol": ["A"] * 4, "close": [1.0] * 4, "volume": [1.0] * 4})

    with pytest.raises(DataError, match="total_return"):
        panel_from_frame(frame, "US_EQ", DAYS, DTS)


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
