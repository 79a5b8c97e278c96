"""Publishing: re-ingesting changes nothing, windows publish what became known inside them, runs are logged."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from prometheus.data.ingest import DateWindow, ingest_vendor
from prometheus.data.schema import Table
from prometheus.data.store import HistoricalStore
from tests.support.ingest_kit import (
    BAR_DELAY,
    CAL,
    MARKET,
    SESSIONS,
    actions_frame,
    clean_prices,
    ingest,
    set_cell,
    write_vendor,
)

D = SESSIONS
DATA_TABLES = [t for t in Table if t is not Table.INGESTION_LOG]


def _faulty_dir(tmp_path: Path) -> Path:
    prices = set_cell(clean_prices(), D[8], "BBB", close="-1")
    acts = actions_frame([(D[30], "AAA", "split", 2.0, "2024-01-25T21:30:00Z"), (D[25], "CCC", "dividend", 0.3, None)])
    return write_vendor(tmp_path / "vendor", prices, acts)


def _snapshot(store: HistoricalStore) -> dict[Table, pl.DataFrame]:
    return {t: store.read(t) for t in DATA_TABLES}


def test_reingest_when_same_files_changes_no_table(tmp_path: Path) -> None:
    store = HistoricalStore(tmp_path / "lake")
    directory = _faulty_dir(tmp_path)
    first = ingest(store, directory)
    before = _snapshot(store)
    second = ingest(store, directory)
    after = _snapshot(store)
    for table in DATA_TABLES:
        assert_frame_equal(before[table], after[table])
    assert first.quarantined == second.quarantined == {"non_positive_price": 1}
    runs = store.read(Table.INGESTION_LOG)["run_id"].unique()
    assert len(runs) == 2  # the log records every run


def test_log_when_ingested_has_counts_per_source_and_table(tmp_path: Path) -> None:
    store = HistoricalStore(tmp_path / "lake")
    report = ingest(store, _faulty_dir(tmp_path))
    log = store.read(Table.INGESTION_LOG).filter(pl.col("run_id") == report.run_id)
    prices = log.filter(pl.col("table_name") == "prices_daily").row(0, named=True)
    assert (prices["source"], prices["rows_read"], prices["rows_loaded"], prices["rows_quarantined"]) == (
        "vendor/prices.csv",
        len(D) * 3,
        len(D) * 3 - 1,
        1,
    )
    assert set(log["table_name"]) >= {"instruments", "corporate_actions", "prices_adjusted", "adjustment_factors"}
    assert set(log["status"]) == {"succeeded"}


def test_windows_when_published_in_order_equal_one_full_publication(tmp_path: Path) -> None:
    directory = _faulty_dir(tmp_path)
    full, parts = HistoricalStore(tmp_path / "full"), HistoricalStore(tmp_path / "parts")
    ingest(full, directory)
    months = [
        DateWindow(date(2024, m, 1), date(2024, m + 1, 1) - (date(2024, 2, 1) - date(2024, 1, 31))) for m in (1, 2)
    ]
    months.append(DateWindow(date(2024, 3, 1), date(2024, 3, 31)))
    for window in reversed(months):  # order does not matter: every window reads the whole files
        ingest_vendor(parts, directory, MARKET, bar_delay=BAR_DELAY, calendar=CAL, window=window)
    for table in (Table.PRICES_DAILY, Table.PRICES_ADJUSTED, Table.CORPORATE_ACTIONS, Table.ADJUSTMENT_FACTORS):
        assert_frame_equal(full.read(table), parts.read(table))
    assert len(parts.read(Table.QUARANTINE)) == 1


def test_window_when_one_month_publishes_only_facts_known_in_it(tmp_path: Path) -> None:
    store = HistoricalStore(tmp_path / "lake")
    window = DateWindow(date(2024, 2, 1), date(2024, 2, 29))
    report = ingest_vendor(store, _faulty_dir(tmp_path), MARKET, bar_delay=BAR_DELAY, calendar=CAL, window=window)
    dates = store.read(Table.PRICES_DAILY)["date"]
    assert dates.min() == date(2024, 2, 1)
    assert dates.max() == date(2024, 2, 29)
    # AAA's split (ex-date in February) was announced in January: January publishes it, not February.
    assert store.read(Table.CORPORATE_ACTIONS)["symbol"].to_list() == ["CCC"]
    assert report.quarantined == {}  # the bad bar is dated in January


def test_quarantine_when_folders_share_a_name_keeps_each_delivery_apart(tmp_path: Path) -> None:
    store = HistoricalStore(tmp_path / "lake")
    first = write_vendor(tmp_path / "monday" / "vendor", set_cell(clean_prices(), D[8], "BBB", close="-1"))
    second = write_vendor(tmp_path / "tuesday" / "vendor", set_cell(clean_prices(), D[8], "BBB", close="-2"))

    ingest(store, first)
    ingest(store, second)
    ingest(store, first)  # again: nothing new

    rows = store.read(Table.QUARANTINE).sort("value")
    # Same folder name, file and row number: only the content hash of the delivery tells them apart.
    assert rows["source"].to_list() == ["vendor/prices.csv"] * 2
    assert rows["row"].n_unique() == 1
    assert rows["value"].to_list() == ["-1.0", "-2.0"]
    assert rows["delivery"].n_unique() == 2
