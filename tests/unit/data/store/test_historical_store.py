"""HistoricalStore: partition layout, idempotent writes, schema validation, reads, views and read-only SQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from prometheus.core.errors import DataError, StoreError
from prometheus.core.types import Market
from prometheus.data.schema import SCHEMAS, Table
from prometheus.data.store import Partition, ReadOnlyQueryError
from prometheus.data.timemachine import TimeMachine


def _files(root: Path) -> list[str]:
    # Table files only: writers keep their lock files and commit journals in dot folders of the lake.
    paths = (p.relative_to(root) for p in root.rglob("*") if p.is_file())
    return sorted(str(p) for p in paths if not p.parts[0].startswith("."))


def test_write_when_yearly_table_creates_one_hive_file_per_market_and_year(store, prices) -> None:
    frame = pl.concat([prices(start=date(2023, 12, 28), days=4), prices(market="JP_EQ", days=2)])

    store.write_frame(Table.PRICES_DAILY, frame)

    assert _files(store.root) == [
        "prices_daily/market=JP_EQ/year=2024/part.parquet",
        "prices_daily/market=US_EQ/year=2023/part.parquet",
        "prices_daily/market=US_EQ/year=2024/part.parquet",
    ]
    assert store.partitions("prices_daily") == [
        Partition(Market.JP_EQ, 2024),
        Partition(Market.US_EQ, 2023),
        Partition(Market.US_EQ, 2024),
    ]


def test_write_when_monthly_table_nests_year_and_month_folders(store) -> None:
    news = pl.DataFrame(
        {
            "market": ["EU_EQ", "EU_EQ"],
            "date": [date(2024, 2, 29), date(2024, 3, 1)],
            "item_id": ["n1", "n2"],
            "published_at": [datetime(2024, 2, 29, 8, tzinfo=UTC), datetime(2024, 3, 1, 8, tzinfo=UTC)],
            "symbol": [None, "SAP"],
            "headline": ["Rates", "Earnings"],
            "body": [None, None],
            "source": ["wire", "wire"],
            "known_at": [datetime(2024, 2, 29, 8, 1, tzinfo=UTC), datetime(2024, 3, 1, 8, 1, tzinfo=UTC)],
        }
    )

    store.write_frame("news", news)

    assert _files(store.root) == [
        "news/market=EU_EQ/year=2024/month=02/part.parquet",
        "news/market=EU_EQ/year=2024/month=03/part.parquet",
    ]
    assert_frame_equal(store.read("news"), news.cast(SCHEMAS[Table.NEWS].dtypes))


def test_write_when_same_partition_written_twice_keeps_only_last_frame(store, prices) -> None:
    first, second = prices(seed=1), prices(seed=2, days=3)

    store.write("prices_daily", first, market="US_EQ", period=2024)
    store.write("prices_daily", second, market="US_EQ", period=2024)
    store.write("prices_daily", second, market=Market.US_EQ, period="2024")

    assert_frame_equal(store.read("prices_daily"), second)
    assert len(_files(store.root)) == 1


def test_write_frame_when_rewritten_leaves_untouched_partitions(store, prices) -> None:
    old_2023 = prices(start=date(2023, 12, 27), days=3)
    store.write_frame("prices_daily", pl.concat([old_2023, prices(seed=1)]))
    new_2024 = prices(seed=9)

    store.write_frame("prices_daily", new_2024)

    assert_frame_equal(store.read("prices_daily"), pl.concat([old_2023, new_2024]))


def test_merge_when_keys_overlap_replaces_those_rows_and_keeps_others(store, prices) -> None:
    base = prices(days=3)
    store.write_frame("prices_daily", base)
    update = base.filter(pl.col("date") == date(2024, 1, 3)).with_columns(close=pl.lit(1.0))

    store.merge("prices_daily", update)
    store.merge("prices_daily", update)

    got = store.read("prices_daily")
    assert got.height == base.height
    assert got.filter(pl.col("date") == date(2024, 1, 3))["close"].to_list() == [1.0, 1.0]
    assert_frame_equal(got.filter(pl.col("date") != date(2024, 1, 3)), base.filter(pl.col("date") != date(2024, 1, 3)))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda f: f.drop("volume"), "volume"),
        (lambda f: f.with_columns(extra=pl.lit(1)), "extra"),
        (lambda f: f.with_columns(pl.col("close").cast(pl.String)), "close"),
        (lambda f: f.with_columns(pl.col("known_at").dt.replace_time_zone(None)), "known_at"),
        (
            lambda f: f.with_columns(
                pl.when(pl.col("symbol") == "S001").then(None).otherwise("symbol").alias("symbol")
            ),
            "symbol",
        ),
        (lambda f: f.with_columns(close=pl.lit(float("nan"))), "close"),
        (lambda f: f.with_columns(market=pl.lit("MOON")), "market"),
        (lambda f: pl.concat([f, f.head(1)]), "market,date,symbol,known_at"),
    ],
    ids=["missing", "extra", "dtype", "naive-datetime", "null", "nan", "unknown-market", "duplicate-key"],
)
def test_write_when_frame_breaks_schema_raises_data_error_naming_table_and_column(store, prices, change, field) -> None:
    with pytest.raises(DataError, match="prices_daily") as info:
        store.write_frame("prices_daily", change(prices()))

    assert info.value.field == field
    assert not store.root.exists() or _files(store.root) == []


def test_write_when_rows_outside_partition_raises_and_keeps_old_data(store, prices) -> None:
    store.write("prices_daily", prices(), market="US_EQ", period=2024)

    with pytest.raises(DataError, match="outside partition US_EQ/2023") as info:
        store.write("prices_daily", prices(seed=3), market="US_EQ", period=2023)
    with pytest.raises(DataError, match="market 'US_EQ'"):
        store.write("prices_daily", prices(), market="JP_EQ", period=2024)

    assert info.value.field == "date"
    assert_frame_equal(store.read("prices_daily"), prices())


def test_write_when_aware_non_utc_and_int_volume_converts_losslessly(store, prices) -> None:
    frame = prices()
    local = frame.with_columns(
        pl.col("known_at").dt.convert_time_zone("America/New_York"), pl.col("volume").cast(pl.Int64)
    )

    store.write_frame("prices_daily", local)

    assert_frame_equal(store.read("prices_daily"), frame)


@pytest.mark.parametrize(
    ("table", "period"),
    [("prices_daily", None), ("prices_daily", "2024-13"), ("news", 2024), ("instruments", 2024), ("nope", 2024)],
)
def test_write_when_period_or_table_does_not_fit_raises_store_error(store, table, period) -> None:
    with pytest.raises(StoreError):
        store.write(table, pl.DataFrame(), market="US_EQ", period=period)


def test_delete_partition_when_present_removes_file_and_empty_folders(store, prices) -> None:
    store.write_frame("prices_daily", pl.concat([prices(start=date(2023, 12, 28), days=2), prices()]))

    assert store.delete_partition("prices_daily", market="US_EQ", period=2023) is True
    assert store.delete_partition("prices_daily", market="US_EQ", period=2023) is False

    assert _files(store.root) == ["prices_daily/market=US_EQ/year=2024/part.parquet"]
    assert not (store.root / "prices_daily" / "market=US_EQ" / "year=2023").exists()


def test_read_when_filtered_by_market_dates_columns_and_where_returns_matching_sorted_rows(store, prices) -> None:
    us = prices(start=date(2023, 12, 27), days=6, symbols=3)
    store.write_frame("prices_daily", pl.concat([prices(market="JP_EQ", seed=3), us]))

    got = store.read(
        "prices_daily",
        market="US_EQ",
        start=date(2023, 12, 29),
        end=date(2024, 1, 2),
        columns=["date", "symbol", "close"],
        where="symbol IN ('S000', 'S002')",
    )

    expected = (
        us.filter(pl.col("date").is_between(date(2023, 12, 29), date(2024, 1, 2)), pl.col("symbol") != "S001")
        .sort("date", "symbol")
        .select("date", "symbol", "close")
    )
    assert_frame_equal(got, expected)


def test_read_when_table_empty_returns_typed_empty_frame(store) -> None:
    got = store.read("corporate_actions", market="US_EQ", start=date(2024, 1, 1))

    assert got.height == 0
    assert got.schema == SCHEMAS[Table.CORPORATE_ACTIONS].polars_schema


def test_read_when_where_tries_to_write_is_refused(store, prices) -> None:
    store.write_frame("prices_daily", prices())

    with pytest.raises(ReadOnlyQueryError):
        store.read("prices_daily", where="true; DROP VIEW prices_daily")


def test_read_when_unknown_column_or_dates_on_undated_table_raises_store_error(store) -> None:
    with pytest.raises(StoreError, match="unknown column"):
        store.read("prices_daily", columns=["price"])
    with pytest.raises(StoreError, match="has no dates"):
        store.read("markets", start=date(2024, 1, 1))


def test_catalog_when_lake_empty_has_a_typed_view_per_table_and_latest_per_point_in_time_table(store) -> None:
    con = store.catalog()
    try:
        views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
        for schema in SCHEMAS.values():
            for view in filter(None, (schema.table.value, schema.latest_view)):
                described = con.execute(f"DESCRIBE {view}").fetchall()
                assert [r[0] for r in described] == list(schema.names)
                assert con.execute(f"SELECT count(*) FROM {view}").fetchone() == (0,)
    finally:
        con.close()

    point_in_time = {f"{t.value}_latest" for t in Table if SCHEMAS[t].point_in_time}
    assert views == {t.value for t in Table} | point_in_time
    assert "prices_adjusted_latest" in point_in_time
    assert "quarantine_latest" not in point_in_time
    assert "ingestion_log_latest" not in point_in_time


def test_query_when_files_exist_reads_hive_market_and_typed_columns(store, prices) -> None:
    store.write_frame("prices_daily", pl.concat([prices(), prices(market="JP_EQ", days=2)]))

    got = store.query(
        "SELECT market, count(*) AS n, max(known_at) AS last FROM prices_daily GROUP BY market ORDER BY 1"
    )

    assert got.rows() == [
        ("JP_EQ", 4, datetime(2024, 1, 3, 21, 5, tzinfo=UTC)),
        ("US_EQ", 10, datetime(2024, 1, 8, 21, 5, tzinfo=UTC)),
    ]


def test_scan_when_files_exist_matches_read(store, prices) -> None:
    store.write_frame("prices_daily", pl.concat([prices(start=date(2023, 12, 28), days=4), prices(market="EU_EQ")]))

    scanned = store.scan("prices_daily").collect().sort(SCHEMAS[Table.PRICES_DAILY].key)

    assert_frame_equal(scanned, store.read("prices_daily"))


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO prices_daily SELECT * FROM prices_daily",
        "DELETE FROM news",
        "UPDATE news SET headline = 'x'",
        "CREATE TABLE t AS SELECT 1",
        "DROP VIEW news",
        "COPY (SELECT 1) TO 'out.csv'",
        "EXPORT DATABASE 'dump'",
        "ATTACH 'other.duckdb'",
        "SET threads = 1",
        "PRAGMA threads = 1",
        "EXPLAIN ANALYZE CREATE TABLE t AS SELECT 1",
        "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x",
        "SELECT 1; DROP VIEW news",
        "",
    ],
)
def test_query_when_statement_could_write_raises_read_only_error(store, tmp_path, sql) -> None:
    with pytest.raises(ReadOnlyQueryError):
        store.query(sql)

    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT count(*) FROM news",
        "with x as (select 1 as a) select * from x",
        "DESCRIBE prices_daily",
        "SHOW TABLES",
        "SUMMARIZE prices_daily",
        "FROM markets",
        "SELECT 'DROP TABLE x; DELETE' AS text -- INSERT",
        "SELECT replace(symbol, '.', '_') FROM instruments",
    ],
)
def test_query_when_statement_only_reads_returns_frame(store, sql) -> None:
    assert isinstance(store.query(sql), pl.DataFrame)


def test_query_when_sql_is_invalid_raises_store_error_with_duckdb_message(store) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        store.query("SELECT * FROM no_such_table")


def test_export_catalog_when_written_opens_in_duckdb_with_views(store, prices, tmp_path) -> None:
    store.write_frame("prices_daily", prices())

    path = store.export_catalog(tmp_path / "catalog.duckdb")

    con = duckdb.connect(str(path), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM prices_daily").fetchone() == (10,)
        assert con.execute("SELECT count(*) FROM prices_daily_latest").fetchone() == (10,)
        assert con.execute("SELECT count(*) FROM news").fetchone() == (0,)
    finally:
        con.close()


LATEST_ADJUSTED = "SELECT * FROM prices_adjusted_latest ORDER BY market, date, symbol"


@pytest.mark.parametrize(
    "as_of",
    [
        datetime(2024, 1, 1, tzinfo=UTC),  # before anything was known
        datetime(2024, 1, 3, 21, 5, tzinfo=UTC),  # exactly when a bar became known: it is included
        datetime(2024, 1, 4, 11, 59, 59, tzinfo=UTC),  # one second before the re-adjustment
        datetime(2024, 1, 4, 12, 0, tzinfo=UTC),  # the re-adjustment
        datetime(2024, 1, 5, 9, 0, tzinfo=UTC),  # the late bar
        datetime(2024, 1, 6, 15, 30, tzinfo=UTC),  # the second correction
        datetime(2030, 1, 1, tzinfo=UTC),
    ],
)
def test_query_when_as_of_given_latest_view_matches_time_machine(revised_store, as_of) -> None:
    got = revised_store.query(LATEST_ADJUSTED, as_of=as_of)

    assert_frame_equal(got, TimeMachine(revised_store, as_of).table("prices_adjusted"))


def test_query_when_no_as_of_latest_view_is_latest_revision_of_everything(revised_store) -> None:
    got = revised_store.query(LATEST_ADJUSTED)

    assert got.height == 8
    assert_frame_equal(got, TimeMachine(revised_store, datetime(2100, 1, 1, tzinfo=UTC)).table("prices_adjusted"))


def test_query_when_as_of_given_base_view_keeps_every_revision_known_then(revised_store) -> None:
    sql = "SELECT date, symbol, count(*) AS n FROM prices_adjusted GROUP BY ALL HAVING n > 1 ORDER BY date"

    before = revised_store.query(sql, as_of=datetime(2024, 1, 4, 11, tzinfo=UTC))
    after = revised_store.query(sql, as_of=datetime(2024, 1, 4, 12, tzinfo=UTC))

    assert before.is_empty()
    assert after.rows() == [(date(2024, 1, 2), "S000", 2), (date(2024, 1, 3), "S000", 2)]
    assert revised_store.query("SELECT count(*) AS n FROM prices_adjusted").item() == 11


def test_query_when_as_of_naive_or_other_offset_means_the_same_utc_instant(revised_store) -> None:
    utc = revised_store.query(LATEST_ADJUSTED, as_of=datetime(2024, 1, 4, 12, tzinfo=UTC))

    naive = revised_store.query(LATEST_ADJUSTED, as_of=datetime(2024, 1, 4, 12))
    new_york = revised_store.query(LATEST_ADJUSTED, as_of=datetime(2024, 1, 4, 7, tzinfo=ZoneInfo("America/New_York")))

    assert_frame_equal(naive, utc)
    assert_frame_equal(new_york, utc)


def test_query_when_as_of_given_leaves_tables_without_known_at_whole(store) -> None:
    rejected = pl.DataFrame(
        {
            "market": ["US_EQ"],
            "delivery": ["0123456789abcdef"],
            "source": ["prices.csv"],
            "row": [3],
            "field": ["close"],
            "value": ["-1"],
            "reason": ["negative close"],
            "rule": ["price_positive"],
            "date": [date(2024, 1, 2)],
            "symbol": ["S000"],
            "ingested_at": [datetime(2024, 6, 1, tzinfo=UTC)],
        }
    )
    store.write_frame("quarantine", rejected)

    got = store.query("SELECT count(*) AS n FROM quarantine", as_of=datetime(2024, 1, 1, tzinfo=UTC))

    assert got.item() == 1
    with pytest.raises(StoreError, match="quarantine_latest"):
        store.query("SELECT * FROM quarantine_latest")


def test_query_when_as_of_given_still_refuses_writes(revised_store) -> None:
    with pytest.raises(ReadOnlyQueryError):
        revised_store.query("DROP VIEW prices_adjusted_latest", as_of=datetime(2024, 1, 4, tzinfo=UTC))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lags=st.lists(st.integers(min_value=0, max_value=96), min_size=1, max_size=12),
    cut=st.integers(min_value=-24, max_value=120),
)
def test_latest_view_when_revisions_arrive_in_any_order_matches_time_machine(store, prices, lags, cut) -> None:
    # Each lag (hours after the first bar's known_at) is one more revision of a bar: 3 bars share them out.
    base = prices(days=3, symbols=1)
    first = base["known_at"][0]
    rows = [
        base.slice(i % 3, 1).with_columns(close=pl.lit(float(i)), known_at=pl.lit(first + timedelta(hours=lag)))
        for i, lag in enumerate(lags)
    ]
    frame = pl.concat(rows).unique(subset=["date", "symbol", "known_at"], keep="first", maintain_order=True)
    store.write_frame("prices_daily", frame)
    as_of = first + timedelta(hours=cut)

    got = store.query("SELECT * FROM prices_daily_latest ORDER BY date", as_of=as_of)

    assert_frame_equal(got, TimeMachine(store, as_of).table("prices_daily"))


def test_fingerprint_when_a_partition_up_to_the_year_changes_changes_and_later_years_do_not(store, prices) -> None:
    """Models are reused on an equal fingerprint: it must move with every file they could have read, and only
    with those (a write to a later year leaves the models of earlier periods valid)."""
    store.write_frame("prices_daily", pl.concat([prices(start=date(2023, 12, 27), days=3), prices(seed=1)]))
    first = store.fingerprint(["prices_daily"], until=date(2023, 12, 31))
    assert store.fingerprint(["prices_daily", Table.PRICES_DAILY], until=date(2023, 6, 1)) == first
    assert len(first) == 64
    store.write_frame("prices_daily", prices(seed=9))  # only the 2024 partition is rewritten
    assert store.fingerprint(["prices_daily"], until=date(2023, 12, 31)) == first
    with_2024 = store.fingerprint(["prices_daily"], until=date(2024, 1, 1))
    assert with_2024 != first
    store.write_frame("prices_daily", prices(start=date(2023, 12, 27), days=3, seed=5))
    assert store.fingerprint(["prices_daily"], until=date(2023, 12, 31)) != first
    assert store.fingerprint(["instruments"], until=date(2023, 12, 31)) != first  # nothing written there
