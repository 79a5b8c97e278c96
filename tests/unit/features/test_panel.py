"""The point-in-time reader: each session's row from its window as known at its decision time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from prometheus.core.errors import DataError
from prometheus.core.types import Market
from prometheus.data.schema import PRICES_ADJUSTED, Table
from prometheus.data.timemachine import HistorySnapshot, TimeMachine
from prometheus.features import FEATURE_NAMES, LOOKBACK_SESSIONS, OUTPUT_SCHEMA, compute_alpha158
from prometheus.features.panel import point_in_time_alpha158

MARKET = Market.US_EQ
SYMBOLS = ("AAA", "BBB", "CCC")
_PRICES = ("open", "high", "low", "close")


def _sessions(n: int) -> list[date]:
    days, d = [], date(2020, 1, 1)
    while len(days) < n:
        if d.weekday() < 5:
            days.append(d)
        d += timedelta(days=1)
    return days


def _time(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 21, 5, tzinfo=UTC)


def _bars(days: list[date], seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    n = len(days) * len(SYMBOLS)
    close = 50 * np.exp(np.cumsum(0.02 * rng.standard_normal((len(days), len(SYMBOLS))), axis=0)).ravel()
    open_ = close * (1 + 0.01 * rng.standard_normal(n))
    frame = pl.DataFrame(
        {
            "market": str(MARKET),
            "date": np.repeat(np.array(days, dtype="datetime64[D]"), len(SYMBOLS)),
            "symbol": np.tile(SYMBOLS, len(days)),
            "open": open_,
            "high": np.maximum(open_, close) * 1.01,
            "low": np.minimum(open_, close) * 0.99,
            "close": close,
            "volume": rng.integers(1_000, 50_000, n).astype(float),
            "total_return": 0.0,
        }
    ).with_columns(known_at=pl.col("date").map_elements(_time, return_dtype=pl.Datetime("us", "UTC")))
    return frame.select(PRICES_ADJUSTED.names).cast(PRICES_ADJUSTED.dtypes)


def _revised(frame: pl.DataFrame, rows: pl.Expr, known_at: datetime, scale: float) -> pl.DataFrame:
    """New revisions of the rows matching ``rows``: prices scaled (a re-adjustment), known at ``known_at``."""
    prices = [pl.col(c) * scale for c in _PRICES]
    return frame.filter(rows).with_columns(*prices, pl.lit(known_at).cast(pl.Datetime("us", "UTC")).alias("known_at"))


def _snapshot(frame: pl.DataFrame) -> HistorySnapshot:
    return HistorySnapshot(datetime(2100, 1, 1, tzinfo=UTC), {Table.PRICES_ADJUSTED: frame})


def _history(days: list[date]) -> pl.DataFrame:
    """Bars with revisions and late rows: a 2:1 split of AAA (ex-date days[91], re-adjusted bars known that
    evening), a corrected bar of BBB, a late CCC bar."""
    base = _bars(days, seed=3)
    post_split = (pl.col("symbol") == "AAA") & (pl.col("date") > days[90])
    base = base.with_columns(pl.when(post_split).then(pl.col(c) * 0.5).otherwise(pl.col(c)) for c in _PRICES)
    late_ccc = base.filter((pl.col("symbol") == "CCC") & (pl.col("date") == days[100]))
    base = base.filter(~((pl.col("symbol") == "CCC") & (pl.col("date") == days[100])))
    return pl.concat(
        [
            base,
            _revised(base, (pl.col("symbol") == "AAA") & (pl.col("date") <= days[90]), _time(days[91]), 0.5),
            _revised(base, (pl.col("symbol") == "BBB") & (pl.col("date") == days[110]), _time(days[112]), 1.03),
            late_ccc.with_columns(known_at=pl.lit(_time(days[104])).cast(pl.Datetime("us", "UTC"))),
        ]
    )


def _naive(snapshot: HistorySnapshot, days: list[date], served: list[date]) -> pl.DataFrame:
    """The definition: one view per session at its decision time, its window read and computed on its own."""
    rows = []
    for day in served:
        k = days.index(day)
        window = days[max(0, k - LOOKBACK_SESSIONS + 1) : k + 1]
        bars = TimeMachine(snapshot, _time(day)).table(Table.PRICES_ADJUSTED, market=MARKET, start=window[0], end=day)
        rows.append(compute_alpha158(bars, window).filter(pl.col("date") == day))
    return pl.concat(rows)


def _assert_same(a: pl.DataFrame, b: pl.DataFrame) -> None:
    assert a.select("date", "symbol").equals(b.select("date", "symbol"))
    x, y = a.select(FEATURE_NAMES).to_numpy(), b.select(FEATURE_NAMES).to_numpy()
    # Running-window sums depend on where a read starts only in the last bits.
    np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-12, equal_nan=True)


def test_point_in_time_alpha158_when_revisions_and_late_rows_equals_per_session_reads() -> None:
    days = _sessions(130)
    snapshot = _snapshot(_history(days))
    served = days[80:130]
    times = [_time(d) for d in served]

    got = point_in_time_alpha158(TimeMachine(snapshot, times[-1]), MARKET, served, times, days, block=20)

    assert got.schema == OUTPUT_SCHEMA
    _assert_same(got, _naive(snapshot, days, served))


def test_point_in_time_alpha158_when_many_revisions_at_many_instants_equals_per_session_reads() -> None:
    days = _sessions(130)
    rng = np.random.default_rng(11)
    base = _bars(days, seed=4)
    revisions = []
    for _ in range(25):
        k, symbol = int(rng.integers(40, 125)), str(rng.choice(SYMBOLS))
        known = _time(days[min(k + int(rng.integers(1, 20)), 129)])
        row = (pl.col("symbol") == symbol) & (pl.col("date") == days[k])
        revisions.append(_revised(base, row, known, 1 + 0.05 * rng.standard_normal()))
    snapshot = _snapshot(pl.concat([base, *revisions]))
    served = days[70:130]
    times = [_time(d) for d in served]

    got = point_in_time_alpha158(TimeMachine(snapshot, times[-1]), MARKET, served, times, days, block=16)

    _assert_same(got, _naive(snapshot, days, served))


def test_point_in_time_alpha158_when_split_adjusted_reads_whole_window_adjusted() -> None:
    days = _sessions(130)
    snapshot = _snapshot(_history(days))
    served = days[91:96]
    times = [_time(d) for d in served]

    got = point_in_time_alpha158(TimeMachine(snapshot, times[-1]), MARKET, served, times, days)
    roc5 = got.filter(pl.col("symbol") == "AAA")["ROC5"].to_numpy()
    # Each bar as known at its own session would keep the pre-split bars unadjusted: ROC5 near 2 across the split.
    own = pl.concat(
        TimeMachine(snapshot, _time(x)).table(Table.PRICES_ADJUSTED, market=MARKET, start=x, end=x) for x in days
    )
    roc5_own = compute_alpha158(own, days).filter(pl.col("symbol") == "AAA", pl.col("date").is_in(served))["ROC5"]

    assert np.all(np.abs(roc5 - 1) < 0.3)
    assert np.all(np.abs(roc5_own.to_numpy() - 2) < 0.6)


def test_point_in_time_alpha158_when_bars_after_d_poisoned_keeps_rows_up_to_d() -> None:
    days = _sessions(140)
    clean = _bars(days, seed=5)
    d = days[100]
    cutoff = _time(d)
    poisoned = pl.concat(
        [
            _revised(clean, pl.col("date") > d, cutoff + timedelta(days=1), 3.0).filter(pl.col("known_at") > cutoff),
            clean.filter(pl.col("date") <= d),
            # Late rows dated <= d, known only after d's decision time.
            _revised(clean, (pl.col("date") > days[60]) & (pl.col("date") <= d), cutoff + timedelta(hours=1), 7.0),
        ]
    )
    served = days[70:140]
    times = [_time(x) for x in served]

    def up_to_d(frame: pl.DataFrame) -> pl.DataFrame:
        view = TimeMachine(_snapshot(frame), times[-1])
        return point_in_time_alpha158(view, MARKET, served, times, days).filter(pl.col("date") <= d)

    _assert_same(up_to_d(poisoned), up_to_d(clean))


def test_leaky_reader_when_bars_after_d_poisoned_changes_rows_up_to_d() -> None:
    """The poisoning test can fail: features from the latest view (revisions known after d) move rows <= d."""
    days = _sessions(140)
    clean = _bars(days, seed=5)
    d = days[100]
    late = _revised(clean, (pl.col("date") > days[60]) & (pl.col("date") <= d), _time(d) + timedelta(hours=1), 7.0)
    poisoned = pl.concat([clean, late])

    def leaky(frame: pl.DataFrame) -> pl.DataFrame:
        bars = TimeMachine(_snapshot(frame), _time(days[-1])).table(Table.PRICES_ADJUSTED, market=MARKET)
        return compute_alpha158(bars, days).filter(pl.col("date") <= d)

    with pytest.raises(AssertionError):
        _assert_same(leaky(poisoned), leaky(clean))


def test_point_in_time_alpha158_when_decision_times_mismatch_raises() -> None:
    days = _sessions(10)
    view = TimeMachine(_snapshot(_bars(days, 1)), _time(days[-1]))

    with pytest.raises(DataError, match="decision time"):
        point_in_time_alpha158(view, MARKET, days, [_time(days[-1])], days)


def test_point_in_time_alpha158_when_session_not_in_calendar_raises() -> None:
    days = _sessions(10)
    view = TimeMachine(_snapshot(_bars(days, 1)), _time(days[-1]))

    with pytest.raises(DataError, match="not a session"):
        point_in_time_alpha158(view, MARKET, [date(2020, 1, 4)], [_time(days[-1])], days)
