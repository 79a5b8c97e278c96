"""The market series: the configured benchmark, else the equal-weighted total return of the listed names."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from prometheus.data.ingest import publish_market
from prometheus.data.market_series import market_series
from prometheus.data.schema import UTC_DATETIME, Table
from prometheus.data.store import HistoricalStore
from prometheus.data.timemachine import TimeMachine
from tests.support.ingest_kit import BAR_DELAY, MARKET, SESSIONS, close_at, ingest, write_vendor

D = SESSIONS


@pytest.fixture
def store(tmp_path: Path) -> HistoricalStore:
    s = HistoricalStore(tmp_path / "lake")
    ingest(s, write_vendor(tmp_path / "vendor"))
    return s


def test_market_series_when_no_benchmark_is_equal_weighted_total_return(store: HistoricalStore) -> None:
    view = TimeMachine(store, close_at(D[10]) + BAR_DELAY)
    series = market_series(view, MARKET, D[0], D[-1])
    assert series["date"].to_list() == D[1:11]  # nothing after the view, no return on the first session
    adj = view.table(Table.PRICES_ADJUSTED)
    expected = adj.filter(pl.col("date") == D[5])["total_return"].mean()
    assert series.filter(pl.col("date") == D[5])["market_return"].item() == pytest.approx(expected)
    assert set(series["names"]) == {3}
    assert set(series["source"]) == {"equal_weighted"}


def test_market_series_when_benchmark_configured_uses_its_returns(store: HistoricalStore) -> None:
    publish_market(store, MARKET, benchmark="IDX")
    levels = pl.DataFrame(
        {"market": "US_EQ", "series": "IDX", "date": D[:4], "value": [100.0, 110.0, 99.0, 99.0],
         "known_at": [close_at(d) + BAR_DELAY for d in D[:4]]}
    ).with_columns(pl.col("known_at").cast(UTC_DATETIME))  # fmt: skip
    store.merge(Table.MACRO_OBSERVATIONS, levels)
    view = TimeMachine(store, close_at(D[2]) + timedelta(hours=1))
    series = market_series(view, MARKET, D[1], D[-1])
    assert series["market_return"].to_list() == pytest.approx([0.1, -0.1])
    assert set(series["source"]) == {"benchmark"}
