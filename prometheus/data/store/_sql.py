"""SQL helpers: the DuckDB views over the lake, and the lock-down that makes the catalog read-only.

Read-only is a property of the connection, not of the SQL text: once the views exist, :func:`lock_down` confines
the connection to reading the lake (no other file, no network, no extension install or load, configuration
locked), and :func:`read_only_statement` lets DuckDB's own parser decide that the text is exactly one query.
Nothing here looks for keywords, so comments, quoting or dollar strings cannot smuggle a statement past it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from prometheus.core.errors import StoreError
from prometheus.data.schema import UTC_DATETIME, TableSchema
from prometheus.data.store._layout import PART_FILE


class ReadOnlyQueryError(StoreError):
    """A statement that could write, or that is not a single query, was sent to a read-only entry point."""


#: What the read-only entry points accept, as DuckDB's parser names it (DESCRIBE, SHOW, SUMMARIZE, FROM-first,
#: VALUES and TABLE all parse as SELECT).
ACCEPTED = "one query: SELECT, WITH, FROM, VALUES, TABLE, DESCRIBE, SHOW, SUMMARIZE, or EXPLAIN of a query"


def lock_down(con: duckdb.DuckDBPyConnection, lake: Path) -> None:
    """Confine ``con`` to reading files under ``lake``, with extensions off and its configuration locked.

    Call it after the views exist (they are created with full access). Afterwards no statement on ``con`` can
    open a file outside the lake, reach the network, install or load an extension, look up Python variables, or
    change a setting back; DuckDB enforces all of it. Writes inside the lake are stopped by
    :func:`read_only_statement`, since a directory DuckDB may read is also one it may write.

    Raises
    ------
    StoreError
        The installed DuckDB lacks one of the settings; the catalog is never served unlocked.
    """
    # The trailing separator keeps a sibling such as "lake2/" out of the allowed prefix.
    allowed = quote_literal(str(Path(lake)) + os.sep)
    settings = (
        f"SET allowed_directories = [{allowed}]",
        # Once off it cannot be switched on again in this connection; allowed_directories must be set before.
        "SET enable_external_access = false",
        "SET autoinstall_known_extensions = false",
        "SET autoload_known_extensions = false",
        # The Python client would otherwise resolve an unknown table name to a data frame in the caller's frames.
        "SET python_enable_replacements = false",
        "SET lock_configuration = true",
    )
    for statement in settings:
        try:
            con.execute(statement)
        except duckdb.Error as exc:
            raise StoreError(
                f"cannot lock the SQL catalog down with {statement!r} on DuckDB {duckdb.__version__}: {exc}"
            ) from None


def read_only_statement(con: duckdb.DuckDBPyConnection, sql: str) -> duckdb.Statement:
    """The one query in ``sql`` as DuckDB parsed it; execute the returned statement, not the text again.

    Accepted: a statement DuckDB parses as SELECT, or an EXPLAIN (ANALYZE or not) whose explained statement
    DuckDB parses as SELECT. EXPLAIN ANALYZE runs its statement, so ``EXPLAIN ANALYZE COPY ...`` is refused.

    Raises
    ------
    ReadOnlyQueryError
        Empty text, several statements, or any other statement type (COPY, ATTACH, INSTALL, LOAD, PRAGMA,
        SET, CREATE, INSERT, ...).
    StoreError
        DuckDB cannot parse the text; the message is DuckDB's.
    """
    statements = _parse(con, sql)
    if not statements:
        raise ReadOnlyQueryError(f"refused: empty query; send {ACCEPTED}")
    if len(statements) > 1:
        kinds = ", ".join(s.type.name for s in statements)
        raise ReadOnlyQueryError(f"refused: the text holds {len(statements)} statements ({kinds}); send {ACCEPTED}")
    statement = statements[0]
    if statement.type == duckdb.StatementType.SELECT:
        return statement
    if statement.type == duckdb.StatementType.EXPLAIN and _explains_a_query(con, statement.query):
        return statement
    raise ReadOnlyQueryError(
        f"refused: {statement.type.name} statement; this is a read-only interface that runs {ACCEPTED}"
    )


def run_read_only(con: duckdb.DuckDBPyConnection, sql: str) -> pl.DataFrame:
    """Run the one query of ``sql`` (see :func:`read_only_statement`) on a locked-down ``con``.

    Raises
    ------
    ReadOnlyQueryError
        Not one query, or it tried to open a file outside the lake (DuckDB's permission error).
    StoreError
        DuckDB failed (syntax error, unknown table or column); the message is DuckDB's.
    """
    statement = read_only_statement(con, sql)
    try:
        return con.execute(statement).pl()
    except duckdb.PermissionException as exc:
        raise ReadOnlyQueryError(f"refused: {exc}; the SQL catalog reads the lake's tables and nothing else") from None
    except duckdb.Error as exc:
        raise StoreError(f"query failed: {exc}") from None


def ensure_duckdb_read_only(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    """``sql`` unchanged if DuckDB parses it as one query (see :func:`read_only_statement`).

    For SQL built around a caller's fragment (``read(where=...)``): a fragment that breaks the statement, as
    ``true; DROP VIEW x`` does inside ``WHERE (...)``, is refused like a write.

    Raises
    ------
    ReadOnlyQueryError
        As :func:`read_only_statement`, or DuckDB cannot parse the text.
    """
    try:
        read_only_statement(con, sql)
    except ReadOnlyQueryError:
        raise
    except StoreError as exc:
        raise ReadOnlyQueryError(f"refused: not one query once the fragment is in place; {exc}") from None
    return sql


def _parse(con: duckdb.DuckDBPyConnection, sql: str) -> list[duckdb.Statement]:
    try:
        return con.extract_statements(sql)
    except duckdb.Error as exc:
        raise StoreError(f"cannot parse query: {exc}") from None


def _explains_a_query(con: duckdb.DuckDBPyConnection, text: str) -> bool:
    # DuckDB's own tokenizer (comments skipped, quoting understood) finds where the explained statement
    # starts: after EXPLAIN and an optional ANALYZE. Anything else there (an option list, another statement
    # type) fails the parse or the type check below, and is refused.
    starts = [position for position, _ in duckdb.tokenize(text)]
    words = [text[p:].split(None, 1)[0].upper() for p in starts[:2]]
    if not words or words[0] != "EXPLAIN":
        return False
    body = 2 if len(words) > 1 and words[1] in {"ANALYZE", "ANALYSE"} else 1
    if len(starts) <= body:
        return False
    try:
        inner = con.extract_statements(text[starts[body] :])
    except duckdb.Error:
        return False
    return len(inner) == 1 and inner[0].type == duckdb.StatementType.SELECT


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
