"""The declared historical schemas: point-in-time columns, keys, partitioning, and docs/schema.md in sync."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from prometheus.data.schema import SCHEMAS, UTC_DATETIME, Partitioning, Table, schema_markdown, schema_of

DOC = Path(__file__).resolve().parents[3] / "docs" / "schema.md"
REFERENCE = {Table.MARKETS, Table.MACRO_SERIES}
BOOKKEEPING = {Table.QUARANTINE, Table.INGESTION_LOG}


@pytest.mark.parametrize("table", list(Table))
def test_schema_when_declared_has_market_keys_and_partition_column(table: Table) -> None:
    schema = SCHEMAS[table]

    assert schema.names[0] == "market"
    assert set(schema.key) <= set(schema.names)
    assert all(not schema.column(k).nullable or k == "symbol" for k in schema.key)
    assert (schema.period_column is None) == (schema.partitioning is Partitioning.MARKET)
    if schema.period_column:
        assert schema.dtypes[schema.period_column] in (pl.Date(), UTC_DATETIME)
    assert all(c.meaning for c in schema.columns)


@pytest.mark.parametrize("table", sorted(set(Table) - BOOKKEEPING))
def test_schema_when_fact_table_carries_known_at_utc_in_key(table: Table) -> None:
    schema = SCHEMAS[table]

    assert schema.point_in_time
    assert schema.dtypes["known_at"] == UTC_DATETIME
    assert schema.key[-1] == "known_at"
    if table not in REFERENCE:
        assert schema.dtypes["date"] == pl.Date()


def test_schema_when_every_datetime_is_declared_aware_utc() -> None:
    datetimes = [c for s in SCHEMAS.values() for c in s.columns if isinstance(c.dtype, pl.Datetime)]

    assert datetimes
    assert all(c.dtype == UTC_DATETIME for c in datetimes)


def test_schema_of_when_unknown_table_raises_key_error_listing_tables() -> None:
    with pytest.raises(KeyError, match="prices_daily"):
        schema_of("prices")


def test_docs_when_compared_with_schemas_are_in_sync() -> None:
    text = DOC.read_text()

    assert text.endswith(schema_markdown()), "docs/schema.md is stale: regenerate its Tables section"
