"""Vendor directories: file formats, unreadable files, known_at rules and views over ingested data."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from prometheus.core.errors import DataError
from prometheus.data.ingest import adjusted_as_of
from prometheus.data.schema import Table
from prometheus.data.store import HistoricalStore
from prometheus.data.timemachine import TimeMachine
from tests.support.ingest_kit import (
    BAR_DELAY,
    SESSIONS,
    actions_frame,
    clean_prices,
    close_at,
    ingest,
    instruments,
    write_vendor,
)

D = SESSIONS


def test_ingest_when_parquet_loads_same_rows_as_csv(tmp_path: Path) -> None:
    a, b = HistoricalStore(tmp_path / "a"), HistoricalStore(tmp_path / "b")
    ingest(a, write_vendor(tmp_path / "csv"))
    ingest(b, write_vendor(tmp_path / "pq", parquet=True))
    assert_frame_equal(a.read(Table.PRICES_DAILY), b.read(Table.PRICES_DAILY))
    assert_frame_equal(a.read(Table.PRICES_ADJUSTED), b.read(Table.PRICES_ADJUSTED))


def test_ingest_when_a_line_has_extra_fields_raises_naming_file_and_line_and_loads_nothing(tmp_path: Path) -> None:
    directory = write_vendor(tmp_path / "vendor")
    lines = (directory / "prices.csv").read_text().splitlines()
    lines[5] += ",1,2,3"
    (directory / "prices.csv").write_text("\n".join(lines) + "\n")
    store = HistoricalStore(tmp_path / "lake")
    with pytest.raises(DataError, match=r"prices\.csv.*row 6") as err:
        ingest(store, directory)
    assert err.value.row == 6
    for table in (Table.PRICES_DAILY, Table.INSTRUMENTS, Table.QUARANTINE):
        assert store.read(table).is_empty()
    log = store.read(Table.INGESTION_LOG)
    assert log["status"].to_list() == ["failed"]
    assert "prices.csv" in log["message"][0]


def test_ingest_when_required_column_missing_raises_naming_the_column(tmp_path: Path) -> None:
    directory = write_vendor(tmp_path / "vendor", clean_prices().drop("volume"))
    with pytest.raises(DataError, match="volume") as err:
        ingest(HistoricalStore(tmp_path / "lake"), directory)
    assert err.value.field == "volume"


def test_ingest_when_prices_file_absent_raises(tmp_path: Path) -> None:
    directory = write_vendor(tmp_path / "vendor")
    (directory / "prices.csv").unlink()
    with pytest.raises(DataError, match="prices.csv"):
        ingest(HistoricalStore(tmp_path / "lake"), directory)


def test_bar_known_at_when_ingested_is_close_plus_delay(tmp_path: Path) -> None:
    store = HistoricalStore(tmp_path / "lake")
    ingest(store, write_vendor(tmp_path / "vendor"))
    bars = store.read(Table.PRICES_DAILY, where="symbol = 'AAA'")
    assert bars["known_at"].to_list() == [close_at(d) + BAR_DELAY for d in D]


def test_timemachine_when_reading_ingested_bars_hides_bar_until_close_plus_delay(tmp_path: Path) -> None:
    store = HistoricalStore(tmp_path / "lake")
    ingest(store, write_vendor(tmp_path / "vendor"))
    d = D[20]
    before = TimeMachine(store, close_at(d) - timedelta(seconds=1))
    at = TimeMachine(store, close_at(d) + BAR_DELAY)
    for table in (Table.PRICES_DAILY, Table.PRICES_ADJUSTED):
        assert before.table(table)["date"].max() == D[19]
        assert at.table(table)["date"].max() == d
    assert len(at.table(Table.PRICES_ADJUSTED).filter(pl.col("date") == d)) == 3


def test_timemachine_when_ingested_with_actions_serves_pure_adjustment_at_each_instant(tmp_path: Path) -> None:
    acts = actions_frame(
        [(D[30], "AAA", "split", 2.0, "2024-01-20T15:00:00Z"), (D[31], "BBB", "dividend", 0.5, None),
         (D[10], "CCC", "dividend", 0.4, "2024-03-20T12:00:00Z")]  # announced after its ex-date: a late correction
    )  # fmt: skip
    store = HistoricalStore(tmp_path / "lake")
    ingest(store, write_vendor(tmp_path / "vendor", actions=acts))
    for d in (D[5], D[12], D[30], D[-1]):
        for as_of in (close_at(d) - timedelta(seconds=1), close_at(d) + BAR_DELAY):
            view = TimeMachine(store, as_of)
            expected = adjusted_as_of(view.table(Table.PRICES_DAILY), view.table(Table.CORPORATE_ACTIONS), as_of)
            assert_frame_equal(view.table(Table.PRICES_ADJUSTED), expected, check_exact=False)


def test_instruments_when_delisted_learn_delisting_only_at_its_close(tmp_path: Path) -> None:
    names = instruments().with_columns(
        pl.when(pl.col("symbol") == "CCC").then(pl.lit(D[30].isoformat())).otherwise(None).alias("delisted")
    )
    prices = clean_prices().filter((pl.col("symbol") != "CCC") | (pl.col("date") <= D[30].isoformat()))
    store = HistoricalStore(tmp_path / "lake")
    ingest(store, write_vendor(tmp_path / "vendor", prices, names=names))

    def delisted_at(as_of) -> object:
        return TimeMachine(store, as_of).table(Table.INSTRUMENTS, symbols=["CCC"])["delisted"].item()

    assert delisted_at(close_at(D[30])) is None
    assert delisted_at(close_at(D[30]) + BAR_DELAY) == D[30]
    # Names appear with their first bar, at the close of the listing session plus the bar delay.
    assert TimeMachine(store, close_at(D[0])).table(Table.INSTRUMENTS).is_empty()
    first_day = TimeMachine(store, close_at(D[0]) + BAR_DELAY).table(Table.INSTRUMENTS)
    assert sorted(first_day["symbol"].to_list()) == ["AAA", "BBB", "CCC"]


def test_optional_files_when_present_get_their_known_at_rules(tmp_path: Path) -> None:
    directory = write_vendor(tmp_path / "vendor")
    pl.DataFrame({"date": [D[3].isoformat()], "symbol": ["AAA"], "event": ["earnings"], "value": [0.1],
                  "detail": ["AMC"], "announced_at": [None]}).write_csv(directory / "events.csv")  # fmt: skip
    published = close_at(D[4]) + timedelta(minutes=30)  # after the close: usable on the next session
    stamp = published.strftime("%Y-%m-%dT%H:%M:%SZ")
    pl.DataFrame({"item_id": ["N1"], "published_at": [stamp], "symbol": ["AAA"], "source": ["Wire"],
                  "headline": ["AAA, BBB and CCC merge"]}).write_csv(directory / "news.csv")  # fmt: skip
    pl.DataFrame({"series": ["X"], "date": [D[2].isoformat()], "value": [1.5],
                  "released_at": ["2024-02-01T13:30:00Z"]}).write_csv(directory / "macro.csv")  # fmt: skip
    store = HistoricalStore(tmp_path / "lake")
    ingest(store, directory)
    assert store.read(Table.EVENTS)["known_at"].item() == close_at(D[3]) + BAR_DELAY
    news = store.read(Table.NEWS).row(0, named=True)
    assert (news["date"], news["known_at"], news["headline"]) == (D[5], published, "AAA, BBB and CCC merge")
    assert store.read(Table.MACRO_OBSERVATIONS)["known_at"].item().isoformat() == "2024-02-01T13:30:00+00:00"
