"""SQL helpers: read-only statement checks and the DuckDB views over the lake."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from prometheus.core.errors import StoreError
from prometheus.data.schema import UTC_DATETIME, TableSchema
from prometheus.data.store._layout import PART_FILE


class ReadOnlyQueryError(StoreError):
    """A statement that could write (or is not a single query) was sent to a read-only entry point."""


# First words of statements that only read (DESCRIBE/SHOW/SUMMARIZE are DuckDB; TABLE x = SELECT * FROM x).
_READ_KEYWORDS = frozenset({"SELECT", "WITH", "VALUES", "TABLE", "FROM", "EXPLAIN", "DESCRIBE", "SHOW", "SUMMARIZE"})
# Words that make a statement write even after a reading first word (a data-modifying CTE in PostgreSQL,
# EXPLAIN ANALYZE running its statement). Statements that only start with a keyword (SET, BEGIN, ...) are
# caught by the first-word check; function names such as replace() are not listed.
_WRITE_KEYWORDS = frozenset(
    {
        "INSERT", "UPDATE", "DELETE", "MERGE", "UPSERT", "CREATE", "DROP", "ALTER", "TRUNCATE", "GRANT",
        "REVOKE", "COPY", "ATTACH", "DETACH", "INSTALL", "LOAD", "EXPORT", "IMPORT", "VACUUM", "CHECKPOINT",
        "PRAGMA", "CALL", "EXECUTE", "PREPARE", "REINDEX", "REFRESH", "NOTIFY",
    }
)  # fmt: skip
_LITERALS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/", re.DOTALL)
_WORD = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
_DUCKDB_READ_TYPES = frozenset({duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN})


def ensure_read_only(sql: str) -> str:
    """Return ``sql`` stripped if it is one read-only query; works for DuckDB, SQLite and PostgreSQL text.

    A lexical check, deliberately conservative: string literals, quoted identifiers and comments are
    removed, then the first word must start a query and no word may be a statement keyword that writes
    (``SELECT ... FOR UPDATE`` is refused too: it takes locks).

    Raises
    ------
    ReadOnlyQueryError
        Empty text, several statements, or a statement that could write.
    """
    text = sql.strip().rstrip(";").strip()
    bare = _LITERALS.sub(" ", text)
    words = [w.upper() for w in _WORD.findall(bare)]
    if not words:
        raise ReadOnlyQueryError("refused: empty query")
    if ";" in bare:
        raise ReadOnlyQueryError("refused: only one statement at a time is accepted")
    if words[0] not in _READ_KEYWORDS:
        raise ReadOnlyQueryError(
            f"refused: {words[0]} statements are not allowed; this is a read-only query interface "
            f"(accepted: {', '.join(sorted(_READ_KEYWORDS))})"
        )
    writes = sorted({w for w in words if w in _WRITE_KEYWORDS})
    if writes:
        raise ReadOnlyQueryError(f"refused: the query contains {', '.join(writes)}; only reads are allowed")
    return text


def ensure_duckdb_read_only(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    """:func:`ensure_read_only`, then DuckDB's own parser must agree that it is one SELECT or EXPLAIN.

    Raises
    ------
    ReadOnlyQueryError
        As :func:`ensure_read_only`, or DuckDB parses a non-query statement.
    StoreError
        DuckDB cannot parse the text.
    """
    text = ensure_read_only(sql)
    try:
        statements = con.extract_statements(text)
    except duckdb.Error as exc:
        raise StoreError(f"cannot parse query: {exc}") from None
    if len(statements) != 1 or statements[0].type not in _DUCKDB_READ_TYPES:
        kinds = ", ".join(s.type.name for s in statements)
        raise ReadOnlyQueryError(f"refused: {kinds} statement; only reads are allowed")
    return text


def duckdb_type(dtype: pl.DataType) -> str:
    """DuckDB SQL type of a declared polars dtype."""
    if dtype == UTC_DATETIME:
        return "TIMESTAMPTZ"
    if isinstance(dtype, pl.List):
        return f"{duckdb_type(dtype.inner)}[]"
    mapping = {
        pl.Float32: "FLOAT",
        pl.String: "VARCHAR",
        pl.Float64: "DOUBLE",
        pl.Int64: "BIGINT",
        pl.Date: "DATE",
        pl.Boolean: "BOOLEAN",
    }
    try:
        return mapping[type(dtype)]
    except KeyError:
        raise StoreError(f"no DuckDB type for {dtype}") from None


def quote_ident(name: str) -> str:
    """A double-quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """A single-quoted SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def select_list(schema: TableSchema) -> str:
    """The schema's columns, cast to their declared types, in declared order."""
    return ", ".join(
        f"CAST({quote_ident(c.name)} AS {duckdb_type(c.dtype)}) AS {quote_ident(c.name)}" for c in schema.columns
    )


def view_sql(schema: TableSchema, table_dir: Path, as_of: datetime | None = None) -> str:
    """``CREATE VIEW`` over the table's partition files, or over an empty typed row set when it has none.

    With ``as_of`` (aware) a point-in-time table keeps only rows with ``known_at <= as_of``; other
    tables have no ``known_at`` and are left whole.
    """
    name = quote_ident(schema.table.value)
    if not any(table_dir.glob(f"market=*/**/{PART_FILE}")):
        empty = ", ".join(f"CAST(NULL AS {duckdb_type(c.dtype)}) AS {quote_ident(c.name)}" for c in schema.columns)
        return f"CREATE OR REPLACE VIEW {name} AS SELECT {empty} WHERE false"
    # Glob on the published name only: temporary files never end in ".parquet".
    source = parquet_source(quote_literal(f"{table_dir}/**/*.parquet"))
    where = f" WHERE {known_at_filter(as_of)}" if as_of is not None and schema.point_in_time else ""
    return f"CREATE OR REPLACE VIEW {name} AS SELECT {select_list(schema)} FROM {source}{where}"


def known_at_filter(as_of: datetime) -> str:
    """SQL predicate ``known_at <= as_of`` with the instant as a literal (views cannot hold parameters)."""
    if as_of.tzinfo is None:
        # A literal without offset would be read in the session time zone: callers decide what naive means.
        raise StoreError(f"as_of must be an aware datetime, got {as_of!r}")
    return f"{quote_ident('known_at')} <= TIMESTAMPTZ {quote_literal(as_of.astimezone(UTC).isoformat())}"


def latest_view_sql(schema: TableSchema) -> str:
    """``CREATE VIEW <table>_latest``: per revision key, the row of the table's view with the greatest ``known_at``.

    Built on the table's view, so a catalog as of ``t`` resolves revisions among the rows known at ``t``
    only, as the TimeMachine does. Raises ``StoreError`` for a table that is not point in time.
    """
    if schema.latest_view is None:
        raise StoreError(f"{schema.table.value} is not point in time: it has no latest-revision view")
    # NULLs (news.symbol of market-wide items) form one partition, as they form one group in the TimeMachine.
    partition = ", ".join(quote_ident(k) for k in schema.revision_key)
    rank = f"row_number() OVER (PARTITION BY {partition} ORDER BY {quote_ident('known_at')} DESC)"
    return (
        f"CREATE OR REPLACE VIEW {quote_ident(schema.latest_view)} AS "
        f"SELECT * FROM {quote_ident(schema.table.value)} QUALIFY {rank} = 1"
    )


def catalog_sql(schemas: Iterable[TableSchema], lake: Path, as_of: datetime | None = None) -> list[str]:
    """Statements creating the catalog: one view per table, plus ``<table>_latest`` per point-in-time table."""
    statements = []
    for schema in schemas:
        statements.append(view_sql(schema, lake / schema.table.value, as_of))
        if schema.point_in_time:
            statements.append(latest_view_sql(schema))
    return statements


def parquet_source(files_sql: str) -> str:
    """``read_parquet`` over ``files_sql`` (a quoted glob or a list literal) with hive partitioning."""
    return (
        f"read_parquet({files_sql}, hive_partitioning = true, union_by_name = true, hive_types = {{'market': VARCHAR}})"
    )
