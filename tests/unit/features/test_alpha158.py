"""Alpha158 expressions: declared count, hand-computable values, window boundaries, no cross-instrument leakage."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from prometheus.core.errors import DataError
from prometheus.features import (
    FEATURE_NAMES,
    FEATURES,
    OUTPUT_SCHEMA,
    WINDOWS,
    Family,
    compute_alpha158,
    expression,
    features_markdown,
)

DOC = Path(__file__).resolve().parents[3] / "docs" / "features.md"
OPERATORS = (
    "ROC MA STD BETA RSQR RESI MAX MIN QTLU QTLD RANK RSV IMAX IMIN IMXD CORR CORD CNTP CNTN CNTD SUMP SUMN SUMD "
    "VMA VSTD WVMA VSUMP VSUMN VSUMD"
).split()


def _days(n: int) -> list[date]:
    return [date(2021, 1, 1) + timedelta(days=k) for k in range(n)]


def _series(n: int, seed: int, symbol: str = "AAA") -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    close = 20 * np.exp(np.cumsum(0.03 * rng.standard_normal(n)))
    open_ = close * (1 + 0.01 * rng.standard_normal(n))
    return pl.DataFrame(
        {
            "date": _days(n),
            "symbol": symbol,
            "open": open_,
            "high": np.maximum(open_, close) * (1 + 0.02 * rng.random(n)),
            "low": np.minimum(open_, close) * (1 - 0.02 * rng.random(n)),
            "close": close,
            "volume": rng.integers(100, 10_000, n).astype(float),
        }
    )


def _col(frame: pl.DataFrame, name: str, symbol: str = "AAA") -> np.ndarray:
    return frame.filter(pl.col("symbol") == symbol).sort("date")[name].fill_null(np.nan).to_numpy()


def test_features_when_declared_are_qlibs_158() -> None:
    families = [f.family for f in FEATURES]

    assert len(FEATURES) == 158
    assert len(set(FEATURE_NAMES)) == 158
    assert (families.count(Family.KBAR), families.count(Family.PRICE), families.count(Family.ROLLING)) == (9, 4, 145)
    assert [f.operator for f in FEATURES if f.family is Family.ROLLING and f.window == 5] == OPERATORS
    assert OUTPUT_SCHEMA.names() == ["date", "symbol", *FEATURE_NAMES]


def test_compute_alpha158_when_one_bar_gives_hand_computed_kbar_and_price_values() -> None:
    bar = pl.DataFrame(
        {"date": [date(2021, 1, 4)], "symbol": ["AAA"], "open": [10.0], "high": [12.0], "low": [9.0]}
        | {"close": [11.0], "volume": [500.0]}
    )

    row = compute_alpha158(bar).row(0, named=True)

    expected = {
        "KMID": 0.1, "KLEN": 0.3, "KMID2": 1 / 3, "KUP": 0.1, "KUP2": 1 / 3, "KLOW": 0.1, "KLOW2": 1 / 3,
        "KSFT": 0.1, "KSFT2": 1 / 3, "OPEN0": 10 / 11, "HIGH0": 12 / 11, "LOW0": 9 / 11, "VWAP0": (32 / 3) / 11,
    }  # fmt: skip
    assert {k: row[k] for k in expected} == pytest.approx(expected, rel=1e-9)
    assert all(row[f.name] is None for f in FEATURES if f.family is Family.ROLLING)


def test_compute_alpha158_when_vwap_given_uses_it() -> None:
    bar = pl.DataFrame(
        {"date": [date(2021, 1, 4)], "symbol": ["AAA"], "open": [10.0], "high": [12.0], "low": [9.0]}
        | {"close": [11.0], "volume": [500.0], "vwap": [10.5]}
    )

    assert compute_alpha158(bar)["VWAP0"].item() == pytest.approx(10.5 / 11)


def test_compute_alpha158_when_rolling_compared_with_numpy_matches() -> None:
    bars = _series(80, seed=1)
    out = compute_alpha158(bars)
    c, h, lo, v = (bars[k].to_numpy() for k in ("close", "high", "low", "volume"))
    t, w = 70, 5
    win = slice(t - w + 1, t + 1)
    x = np.arange(1, w + 1)
    slope, intercept = np.polyfit(x, c[win], 1)
    fitted = intercept + slope * x
    r2 = 1 - ((c[win] - fitted) ** 2).sum() / ((c[win] - c[win].mean()) ** 2).sum()
    dc = np.diff(c)[t - w : t]
    dv = np.diff(v)[t - w : t]
    wv = np.abs(c[win] / c[t - w : t] - 1) * v[win]
    expected = {
        "ROC5": c[t - 5] / c[t],
        "MA5": c[win].mean() / c[t],
        "STD5": c[win].std(ddof=1) / c[t],
        "BETA5": slope / c[t],
        "RSQR5": r2,
        "RESI5": (c[t] - fitted[-1]) / c[t],
        "MAX5": h[win].max() / c[t],
        "MIN5": lo[win].min() / c[t],
        "QTLU5": np.quantile(c[win], 0.8) / c[t],
        "RANK5": (np.sum(c[win] < c[t]) + 1) / w,
        "RSV5": (c[t] - lo[win].min()) / (h[win].max() - lo[win].min() + 1e-12),
        "IMAX5": (np.argmax(h[win]) + 1) / w,
        "IMIN5": (np.argmin(lo[win]) + 1) / w,
        "CORR5": np.corrcoef(c[win], np.log(v[win] + 1))[0, 1],
        "CORD5": np.corrcoef(c[win] / c[t - w : t], np.log(v[win] / v[t - w : t] + 1))[0, 1],
        "CNTP5": np.mean(dc > 0),
        "SUMP5": dc.clip(min=0).sum() / (np.abs(dc).sum() + 1e-12),
        "VSTD5": v[win].std(ddof=1) / (v[t] + 1e-12),
        "QTLD5": np.quantile(c[win], 0.2) / c[t],
        "IMXD5": (np.argmax(h[win]) - np.argmin(lo[win])) / w,
        "CNTN5": np.mean(dc < 0),
        "CNTD5": np.mean(dc > 0) - np.mean(dc < 0),
        "SUMN5": (-dc).clip(min=0).sum() / (np.abs(dc).sum() + 1e-12),
        "SUMD5": (dc.clip(min=0).sum() - (-dc).clip(min=0).sum()) / (np.abs(dc).sum() + 1e-12),
        "VMA5": v[win].mean() / (v[t] + 1e-12),
        "WVMA5": wv.std(ddof=1) / (wv.mean() + 1e-12),
        "VSUMP5": dv.clip(min=0).sum() / (np.abs(dv).sum() + 1e-12),
        "VSUMN5": (-dv).clip(min=0).sum() / (np.abs(dv).sum() + 1e-12),
        "VSUMD5": (dv.clip(min=0).sum() - (-dv).clip(min=0).sum()) / (np.abs(dv).sum() + 1e-12),
        "MA60": c[t - 59 : t + 1].mean() / c[t],
        "BETA60": np.polyfit(np.arange(1, 61), c[t - 59 : t + 1], 1)[0] / c[t],
        "IMAX60": (np.argmax(h[t - 59 : t + 1]) + 1) / 60,
        "STD60": c[t - 59 : t + 1].std(ddof=1) / c[t],
    }

    got = {k: _col(out, k)[t] for k in expected}

    assert got == pytest.approx(expected, rel=1e-9)


def test_compute_alpha158_when_ties_takes_first_extreme_and_average_rank() -> None:
    bars = pl.DataFrame(
        {
            "date": _days(5),
            "symbol": "AAA",
            "open": [1.0, 2.0, 2.0, 3.0, 2.0],
            "high": [1.0, 3.0, 2.0, 3.0, 1.0],
            "low": [1.0, 0.5, 2.0, 0.5, 1.0],
            "close": [1.0, 2.0, 2.0, 3.0, 2.0],
            "volume": [10.0, 20.0, 30.0, 40.0, 50.0],
        }
    )

    last = compute_alpha158(bars).row(4, named=True)

    # Highest high 3 first on the 2nd session, lowest low 0.5 first on the 2nd; close 2 ties ranks 2, 3, 4.
    assert (last["IMAX5"], last["IMIN5"], last["IMXD5"]) == pytest.approx((2 / 5, 2 / 5, 0.0))
    assert last["RANK5"] == pytest.approx(3 / 5)


@pytest.mark.parametrize("feature", [f for f in FEATURES if f.family is Family.ROLLING], ids=lambda f: f.name)
def test_compute_alpha158_when_window_not_full_is_null(feature) -> None:  # noqa: ANN001
    out = compute_alpha158(_series(70, seed=2))

    values = _col(out, feature.name)

    assert np.all(np.isnan(values[: feature.history - 1]))
    assert np.all(np.isfinite(values[feature.history - 1 :]))


def test_compute_alpha158_when_bar_missing_nulls_windows_holding_it() -> None:
    days = _days(30)
    bars = _series(30, seed=3).filter(pl.col("date") != days[12])

    ma5 = _col(compute_alpha158(bars, days), "MA5")

    # Rows: sessions without the gap (the frame has no row for days[12]).
    dates = [d for d in days if d != days[12]]
    held = [k for k, d in enumerate(dates) if days[12] <= d <= days[16]]
    assert np.all(np.isnan(ma5[held]))
    assert np.isfinite(ma5[dates.index(days[17])])


def test_compute_alpha158_when_other_instrument_changes_keeps_own_rows() -> None:
    a, b = _series(70, seed=4, symbol="AAA"), _series(70, seed=5, symbol="BBB")
    b_changed = b.with_columns(pl.col(c) * 9.0 for c in ("open", "high", "low", "close", "volume"))

    first = compute_alpha158(pl.concat([a, b])).filter(pl.col("symbol") == "AAA")
    second = compute_alpha158(pl.concat([a, b_changed])).filter(pl.col("symbol") == "AAA")

    assert first.equals(second)
    assert first.equals(compute_alpha158(a))


def test_compute_alpha158_when_compared_with_over_symbol_matches() -> None:
    """The masked whole-grid computation equals each expression applied ``.over("symbol")``."""
    days = _days(75)
    bars = pl.concat([_series(75, seed=6, symbol="AAA"), _series(75, seed=7, symbol="BBB")])
    bars = bars.filter(~((pl.col("symbol") == "BBB") & (pl.col("date") == days[40])))
    grid = (
        bars.select("symbol").unique().join(pl.DataFrame({"date": days}), how="cross")
        .join(bars, on=["symbol", "date"], how="left").sort("symbol", "date")
        .with_columns(_vwap=(pl.col("high") + pl.col("low") + pl.col("close")) / 3)
    )  # fmt: skip
    over = grid.with_columns(expression(f).over("symbol").alias(f.name) for f in FEATURES)
    over = over.join(bars.select("date", "symbol"), on=["date", "symbol"]).sort("date", "symbol")
    expected = over.select(pl.when(pl.col(n).is_finite()).then(pl.col(n)).alias(n) for n in FEATURE_NAMES)

    got = compute_alpha158(bars, days).select(FEATURE_NAMES)

    # Running-window sums differ only in the last bits where a window starts elsewhere in the column.
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy().astype(float), rtol=1e-9, atol=1e-12, equal_nan=True)


def test_compute_alpha158_when_constant_prices_gives_null_not_nan() -> None:
    bars = _series(70, seed=8).with_columns(pl.lit(10.0).alias(c) for c in ("open", "high", "low", "close"))

    out = compute_alpha158(bars)

    assert out.select(pl.col(FEATURE_NAMES).is_nan().any()).to_numpy().sum() == 0
    assert out["CORR5"].null_count() == out.height
    assert _col(out, "MA60")[-1] == pytest.approx(1.0)


def test_compute_alpha158_when_duplicated_bar_raises() -> None:
    bars = _series(3, seed=9)

    with pytest.raises(DataError, match="duplicated"):
        compute_alpha158(pl.concat([bars, bars.head(1)]))


def test_compute_alpha158_when_bar_outside_sessions_raises() -> None:
    bars = _series(5, seed=9)

    with pytest.raises(DataError, match="not among the sessions"):
        compute_alpha158(bars, _days(4))


def test_compute_alpha158_when_column_missing_raises() -> None:
    with pytest.raises(DataError, match="volume"):
        compute_alpha158(_series(3, seed=9).drop("volume"))


def test_docs_when_compared_with_declarations_are_in_sync() -> None:
    assert DOC.read_text().endswith(features_markdown()), "docs/features.md is stale: regenerate its table"


def test_windows_when_declared_are_qlibs() -> None:
    assert WINDOWS == (5, 10, 20, 30, 60)
