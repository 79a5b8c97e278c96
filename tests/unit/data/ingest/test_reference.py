"""Reference data from the arch package: benchmark closes known like bars, Fama-French a month late."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

from prometheus.data.ingest import ingest_reference
from prometheus.data.schema import Table
from prometheus.data.store import HistoricalStore
from prometheus.data.timemachine import TimeMachine
from tests.support.ingest_kit import BAR_DELAY, CAL


def test_reference_when_ingested_publishes_indices_and_factors_point_in_time(tmp_path: Path) -> None:
    store = HistoricalStore(tmp_path / "lake")
    report = ingest_reference(store, bar_delay=BAR_DELAY, calendar=CAL)
    obs = store.read(Table.MACRO_OBSERVATIONS)
    assert set(obs["series"]) == {"SP500", "NASDAQ", "FF_MKT_RF", "FF_SMB", "FF_HML", "FF_RF"}
    sp = obs.filter(pl.col("series") == "SP500")
    assert sp["date"].min() == date(1999, 1, 4)
    assert sp["date"].max() == date(2018, 12, 31)
    assert report.loaded[Table.MACRO_OBSERVATIONS.value] + report.rows_quarantined == 2 * 5031 + 4 * 1109
    first = sp.row(0, named=True)
    assert first["known_at"] == CAL.close_at("US_EQ", date(1999, 1, 4)) + BAR_DELAY
    # October 2018's factors become known at the end of November 2018 (New York).
    view = TimeMachine(store, datetime(2018, 11, 30, 12, tzinfo=UTC))
    ff = view.table(Table.MACRO_OBSERVATIONS).filter(pl.col("series") == "FF_MKT_RF")
    assert ff["date"].max() == date(2018, 9, 30)
    later = TimeMachine(store, datetime(2018, 12, 1, 5, tzinfo=UTC)).table(Table.MACRO_OBSERVATIONS)
    assert later.filter(pl.col("series") == "FF_MKT_RF")["date"].max() == date(2018, 10, 31)
    assert set(store.read(Table.MACRO_SERIES)["series"]) == set(obs["series"])


def test_reference_when_ingested_twice_changes_nothing(tmp_path: Path) -> None:
    store = HistoricalStore(tmp_path / "lake")
    ingest_reference(store, bar_delay=BAR_DELAY, calendar=CAL)
    before = store.read(Table.MACRO_OBSERVATIONS)
    ingest_reference(store, bar_delay=timedelta(minutes=5), calendar=CAL)
    assert store.read(Table.MACRO_OBSERVATIONS).equals(before)
