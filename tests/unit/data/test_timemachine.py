"""TimeMachine: nothing known after ``as_of`` exists in a view, revisions resolve to the latest known one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prometheus.calendar import get_calendar
from prometheus.core.errors import LookAheadError
from prometheus.data.known_at import bar_known_at, with_bar_known_at
from prometheus.data.schema import Table
from prometheus.data.store import HistoricalStore
from prometheus.data.timemachine import HistorySnapshot, TimeMachine

BAR_DELAY = timedelta(minutes=5)
CAL = get_calendar()
SESSIONS = CAL.sessions("US_EQ", "2024-03-01", "2024-03-28")
SYMBOLS = ["AAA", "BBB", "CCC"]


def _bars() -> pl.DataFrame:
    rows = [
        {"market": "US_EQ", "date": d, "symbol": s, "open": 10.0 + i, "high": 11.0 + i, "low": 9.0 + i,
         "close": 10.5 + i, "volume": 1000.0 * (j + 1)}
        for i, d in enumerate(SESSIONS)
        for j, s in enumerate(SYMBOLS)
    ]  # fmt: skip
    return with_bar_known_at(pl.DataFrame(rows), CAL, "US_EQ", BAR_DELAY)


@pytest.fixture
def store(tmp_path: Path) -> HistoricalStore:
    s = HistoricalStore(tmp_path / "lake")
    s.write_frame(Table.PRICES_DAILY, _bars())
    return s


def test_view_when_one_second_before_close_lacks_that_bar(store: HistoricalStore) -> None:
    d = SESSIONS[5]
    close = CAL.close_at("US_EQ", d)
    before = TimeMachine(store, close - timedelta(seconds=1)).table(Table.PRICES_DAILY)
    assert d not in before["date"].to_list()
    assert before["date"].max() == SESSIONS[4]


def test_view_when_close_plus_bar_delay_has_that_bar(store: HistoricalStore) -> None:
    d = SESSIONS[5]
    at = bar_known_at(CAL, "US_EQ", d, BAR_DELAY)
    view = TimeMachine(store, at).table(Table.PRICES_DAILY)
    assert view["date"].max() == d
    assert len(view.filter(pl.col("date") == d)) == 3
    # Between the close and the end of the delay the bar is not yet known.
    assert TimeMachine(store, at - timedelta(seconds=1)).table(Table.PRICES_DAILY)["date"].max() == SESSIONS[4]


def test_view_when_bar_revised_later_serves_revision_only_after_it_was_known(store: HistoricalStore) -> None:
    d = SESSIONS[3]
    revised_at = datetime(2024, 3, 20, 12, tzinfo=UTC)
    fix = (
        _bars()
        .filter((pl.col("date") == d) & (pl.col("symbol") == "BBB"))
        .with_columns(pl.lit(99.0).alias("close"), pl.lit(revised_at).cast(pl.Datetime("us", "UTC")).alias("known_at"))
    )
    store.merge(Table.PRICES_DAILY, fix)

    def close_of(as_of: datetime) -> float:
        t = TimeMachine(store, as_of).table(Table.PRICES_DAILY, symbols=["BBB"])
        rows = t.filter(pl.col("date") == d)
        assert len(rows) == 1  # one row per fact, never both revisions
        return rows["close"].item()

    assert close_of(revised_at - timedelta(seconds=1)) == 10.5 + 3
    assert close_of(revised_at) == 99.0


def test_at_when_moving_forward_is_look_ahead(store: HistoricalStore) -> None:
    view = TimeMachine(store, datetime(2024, 3, 10, tzinfo=UTC))
    assert view.at(datetime(2024, 3, 5, tzinfo=UTC)).as_of < view.as_of
    with pytest.raises(LookAheadError):
        view.at(datetime(2024, 3, 11, tzinfo=UTC))


def test_snapshot_when_view_later_than_loaded_is_look_ahead(store: HistoricalStore) -> None:
    snap = HistorySnapshot.load(store, [Table.PRICES_DAILY], known_until=datetime(2024, 3, 10, tzinfo=UTC))
    with pytest.raises(LookAheadError):
        TimeMachine(snap, datetime(2024, 3, 11, tzinfo=UTC))


def test_snapshot_when_same_as_of_matches_store_view(store: HistoricalStore) -> None:
    t = datetime(2024, 3, 15, 21, tzinfo=UTC)
    snap = HistorySnapshot.load(store, [Table.PRICES_DAILY], known_until=datetime(2024, 3, 29, tzinfo=UTC))
    assert TimeMachine(snap, t).table(Table.PRICES_DAILY).equals(TimeMachine(store, t).table(Table.PRICES_DAILY))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cut=st.integers(min_value=0, max_value=len(SESSIONS) - 2),
    poison_close=st.floats(min_value=0.01, max_value=1e6, allow_nan=False),
    late_offset_hours=st.integers(min_value=1, max_value=24 * 30),
    late_index=st.integers(min_value=0, max_value=len(SESSIONS) - 1),
)
def test_view_when_data_known_after_t_is_poisoned_is_unchanged(
    cut: int, poison_close: float, late_offset_hours: int, late_index: int
) -> None:
    """Poisoning every row known after t — later bars and late revisions of earlier bars — changes nothing at t."""
    bars = _bars()
    t = bar_known_at(CAL, "US_EQ", SESSIONS[cut], BAR_DELAY)
    clean = TimeMachine(HistorySnapshot(t + timedelta(days=60), {Table.PRICES_DAILY: bars}), t)

    poisoned = bars.with_columns(
        pl.when(pl.col("known_at") > t).then(poison_close).otherwise(pl.col("close")).alias("close")
    )
    late = bars.filter(pl.col("date") == SESSIONS[late_index]).with_columns(
        pl.lit(-poison_close).alias("close"),
        (pl.max_horizontal(pl.col("known_at"), pl.lit(t)) + pl.duration(hours=late_offset_hours)).alias("known_at"),
    )
    dirty = TimeMachine(HistorySnapshot(t + timedelta(days=60), {Table.PRICES_DAILY: pl.concat([poisoned, late])}), t)
    assert dirty.table(Table.PRICES_DAILY).equals(clean.table(Table.PRICES_DAILY))
    assert clean.table(Table.PRICES_DAILY)["date"].max() == SESSIONS[cut]
