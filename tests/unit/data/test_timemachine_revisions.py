"""TimeMachine.revisions: every revision known at the view's instant, none known later."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from prometheus.core.errors import StoreError
from prometheus.data.schema import SIGNALS, Table
from prometheus.data.store import HistoricalStore
from prometheus.data.timemachine import HistorySnapshot, TimeMachine

T0 = datetime(2024, 3, 4, 21, 30, tzinfo=UTC)
DAY = datetime(2024, 3, 4).date()


@pytest.fixture
def store(tmp_path: Path) -> HistoricalStore:
    s = HistoricalStore(tmp_path / "lake")
    rows = [("AAA", 1.0, T0), ("AAA", 2.0, T0 + timedelta(days=1)), ("AAA", 3.0, T0 + timedelta(days=2)),
            ("BBB", 4.0, T0)]  # fmt: skip
    frame = pl.DataFrame(
        [
            {"market": "US_EQ", "date": DAY, "symbol": s, "signal": "alpha", "value": v, "known_at": t}
            for s, v, t in rows
        ]
    )
    s.merge(Table.SIGNALS, frame.cast(SIGNALS.dtypes))  # type: ignore[arg-type]
    return s


def test_revisions_when_later_ones_exist_serves_every_revision_known_then_only(store: HistoricalStore) -> None:
    view = TimeMachine(store, T0 + timedelta(days=1))
    got = view.revisions(Table.SIGNALS, symbols=["AAA"], columns=["value", "known_at"])
    assert got["value"].to_list() == [1.0, 2.0]
    # table() keeps only the latest of them.
    assert view.table(Table.SIGNALS, symbols=["AAA"])["value"].to_list() == [2.0]


def test_revisions_when_read_from_a_snapshot_match_the_store(store: HistoricalStore) -> None:
    snap = HistorySnapshot.load(store, [Table.SIGNALS], known_until=T0 + timedelta(days=5))
    t = T0 + timedelta(days=2)
    assert TimeMachine(snap, t).revisions(Table.SIGNALS).equals(TimeMachine(store, t).revisions(Table.SIGNALS))
    assert TimeMachine(snap, t).revisions(Table.SIGNALS).height == 4


def test_revisions_when_table_is_bookkeeping_or_column_unknown_raise(store: HistoricalStore) -> None:
    view = TimeMachine(store, T0)
    with pytest.raises(StoreError, match="not a point-in-time table"):
        view.revisions(Table.QUARANTINE)
    with pytest.raises(StoreError, match="unknown columns"):
        view.revisions(Table.SIGNALS, columns=["nope"])
