"""``RuntimeStore``: engine creation, migrations, transactions, idempotent upserts and read-only queries.

SQLite is the embedded default (one file, WAL journal so readers never block the writer, a busy timeout so
concurrent writers wait instead of failing); PostgreSQL (``postgresql+psycopg``) is the production backend.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from alembic import command
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Engine, make_url

from prometheus.core.errors import StoreError
from prometheus.core.settings import load_settings, mask_secrets, mask_url
from prometheus.runtime import migrate

#: How long a SQLite writer waits for the lock held by another process before giving up.
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: First keywords ``read_only_query`` accepts.
READ_ONLY_KEYWORDS = frozenset({"SELECT", "WITH", "EXPLAIN", "VALUES", "SHOW", "TABLE"})
# Execution option marking a connection whose transactions only read (SQLite: deferred BEGIN).
_READ_ONLY_OPTION = "prometheus_read_only"
# PostgreSQL advisory lock key held while migrating, so concurrent upgrades queue up instead of colliding.
_MIGRATION_LOCK_KEY = 0x50524F4D  # "PROM"
# SQLite authorizer actions of a query: reading tables and columns, calling functions, recursive CTEs.
_SQLITE_READ_ACTIONS = frozenset(
    {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}
)
# String literals, quoted identifiers and comments: blanked before looking at the statement's keywords.
_LITERALS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/", re.DOTALL)


class RuntimeStore:
    """The runtime store at ``url`` (default: the settings' ``effective_runtime_db_url``).

    Parameters
    ----------
    url
        SQLAlchemy URL: ``sqlite:///path/runtime.sqlite`` or ``postgresql+psycopg://user@host:port/db``
        (plain ``postgresql://`` is taken as psycopg 3).
    """

    def __init__(self, url: str | None = None) -> None:
        self.url = url if url is not None else load_settings().effective_runtime_db_url
        self.engine = _create_engine(self.url)

    def __repr__(self) -> str:
        return f"RuntimeStore({mask_url(self.url)!r})"

    @property
    def masked_url(self) -> str:
        """The URL with any password hidden."""
        return mask_url(self.url)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()

    def __enter__(self) -> RuntimeStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema -------------------------------------------------------------------------------------------

    def upgrade(self, revision: str = "head") -> str | None:
        """Migrate the schema to ``revision`` in one transaction; returns the revision now in force."""
        with self.begin() as conn:
            if self.dialect == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
            command.upgrade(migrate.alembic_config(connection=conn), revision)
        return self.current_revision()

    def current_revision(self) -> str | None:
        """The schema revision of the database (``None`` if never migrated)."""
        with self.read() as conn:
            return migrate.current_revision(conn)

    # -- transactions --------------------------------------------------------------------------------------

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A connection inside a transaction, committed on success and rolled back on error."""
        with self._wrap_errors("writing"), self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reading only; on SQLite its transactions never wait for a writer (deferred BEGIN).

        Connections from :meth:`begin` or ``engine.connect()`` take the SQLite write lock when they begin, which
        is right for writers and needless for readers.
        """
        with self._wrap_errors("reading"), self.engine.connect() as conn:
            yield conn.execution_options(**{_READ_ONLY_OPTION: True})

    def upsert(
        self,
        table: sa.Table,
        rows: Sequence[Mapping[str, Any]],
        *,
        key: Sequence[str] | None = None,
        replace: bool = True,
        connection: Connection | None = None,
    ) -> int:
        """Insert ``rows``, replacing any row with the same ``key`` (default: the table's unique key).

        Re-running a writer therefore replaces its rows and never duplicates them. With ``replace=False`` an
        existing row is kept as it is (insert-if-absent, e.g. ``engine_configs``). Returns the number of rows
        given. Runs in ``connection``'s transaction if given, else in its own.
        """
        if not rows:
            return 0
        columns = set(rows[0])
        for i, row in enumerate(rows):
            if set(row) != columns:
                raise StoreError(f"{table.name}: row {i} has columns {sorted(row)}, row 0 has {sorted(columns)}")
        stmt = upsert_statement(table, key=key, replace=replace, dialect=self.dialect)
        if connection is not None:
            connection.execute(stmt, list(rows))
        else:
            with self.begin() as conn:
                conn.execute(stmt, list(rows))
        return len(rows)

    def read_only_query(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run one read-only statement and return ``(columns, rows)``.

        Read-only by construction, whatever the text: on SQLite the query runs on its own connection opened
        with ``mode=ro`` (the file cannot be written through it), ``PRAGMA query_only``, no database may be
        attached, and an authorizer that allows reading and nothing else. On PostgreSQL it runs in a
        ``READ ONLY`` transaction, through the extended protocol (one statement, never a list), is described
        before it runs (a statement without result columns, such as ``COPY ... TO`` a file, is refused
        unexecuted), and its connection is discarded afterwards so that nothing it set survives. The
        keyword check (:func:`check_read_only_sql`) only gives the common mistakes a clearer message.

        Raises
        ------
        StoreError
            A write or several statements (nothing is changed), a SQLite store that does not exist yet, or a
            failing query.
        """
        check_read_only_sql(sql)
        with self._wrap_errors("running a read-only query"):
            if self.dialect == "sqlite":
                return _sqlite_read_only(self.engine.url, sql)
            with self.engine.connect() as conn:
                try:
                    conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                    return _postgresql_read_only(conn.connection.dbapi_connection, sql)
                finally:
                    # A query may change its session (set_config(..., false)): never hand it to a writer.
                    conn.invalidate()

    @contextmanager
    def _wrap_errors(self, doing: str) -> Iterator[None]:
        # Driver errors arrive wrapped (DBAPIError) from SQLAlchemy, or bare from a raw driver cursor.
        driver_error = self.engine.dialect.loaded_dbapi.Error
        try:
            yield
        except (sa.exc.DBAPIError, driver_error) as exc:
            orig = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
            if _is_refusal(orig):
                raise StoreError(
                    f"runtime store {self.masked_url}: refused, only one read-only query is allowed "
                    f"and the database refused this statement: {mask_secrets(str(orig))}"
                ) from exc
            # Driver messages may quote the connection string: masked like the URL.
            raise StoreError(f"runtime store {self.masked_url}: {doing} failed: {mask_secrets(str(orig))}") from exc
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"runtime store {self.masked_url}: {doing} failed: {mask_secrets(str(exc))}") from exc


def upsert_statement(
    table: sa.Table, *, key: Sequence[str] | None = None, replace: bool = True, dialect: str
) -> sa.Executable:
    """``INSERT ... ON CONFLICT (key) DO UPDATE`` replacing every non-key column (``DO NOTHING`` if not
    ``replace``), for SQLite and PostgreSQL."""
    key_cols = list(key) if key is not None else unique_key(table)
    insert_fn = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}.get(dialect)
    if insert_fn is None:
        raise StoreError(f"upsert is not supported on {dialect!r}; use SQLite or PostgreSQL")
    stmt = insert_fn(table)
    # Every other column is replaced, including ones the caller left out (they take their defaults or NULL):
    # an upsert replaces the row, it does not merge into it.
    columns = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in key_cols and not _is_id(c)}
    if not replace or not columns:
        return stmt.on_conflict_do_nothing(index_elements=key_cols)
    return stmt.on_conflict_do_update(index_elements=key_cols, set_=columns)


def unique_key(table: sa.Table) -> list[str]:
    """Columns of the table's unique key (``uq_<table>_key``), else of its primary key."""
    for cons in table.constraints:
        if isinstance(cons, sa.UniqueConstraint) and cons.name == f"uq_{table.name}_key":
            return [c.name for c in cons.columns]
    pk = [c.name for c in table.primary_key.columns if not _is_id(c)]
    if not pk:
        raise StoreError(f"{table.name} has no unique key to upsert on; pass key=[...]")
    return pk


def check_read_only_sql(sql: str) -> None:
    """Refuse anything but one statement starting with a read keyword (see :data:`READ_ONLY_KEYWORDS`).

    A courtesy that names the common mistakes early, not the guarantee: a lexer this small can be fooled
    (nested comments, ``E'...'`` or dollar strings), so :meth:`RuntimeStore.read_only_query` relies on the
    database's own read-only modes, whatever this check lets through.
    """
    code = _LITERALS.sub(lambda m: " " if m.group().startswith(("--", "/*")) else "''", sql).strip()
    code = code.rstrip("; \t\r\n")
    if ";" in code:
        raise StoreError("refused: only one statement at a time is allowed in a read-only query")
    match = re.match(r"[\s(]*([A-Za-z]+)", code)
    keyword = match.group(1).upper() if match else ""
    if keyword not in READ_ONLY_KEYWORDS:
        shown = keyword or "(empty)"
        raise StoreError(
            f"refused: {shown} is not a read-only statement; allowed: {', '.join(sorted(READ_ONLY_KEYWORDS))}"
        )


def _is_id(column: sa.Column[Any]) -> bool:
    return column.primary_key and column.autoincrement is True


def _rows(cursor: Any) -> tuple[list[str], list[tuple[Any, ...]]]:
    if cursor.description is None:
        return [], []
    return [d[0] for d in cursor.description], [tuple(r) for r in cursor.fetchall()]


def _sqlite_read_only(url: URL, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    connection = sqlite3.connect(
        _sqlite_read_only_uri(url), uri=True, isolation_level=None, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000
    )
    try:
        # Three locks, each enough alone for writes: mode=ro (the file), query_only (the connection) and the
        # authorizer (every statement); attaching is off too, since ATTACH could create a file elsewhere.
        connection.execute("PRAGMA query_only = ON")
        connection.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        connection.set_authorizer(_read_only_authorizer())
        # sqlite3 prepares one statement per execute and refuses a second one after it.
        cursor = connection.execute(sql)
        return _rows(cursor)
    finally:
        connection.close()


def _sqlite_read_only_uri(url: URL) -> str:
    database = url.database or ""
    if database in ("", ":memory:") or "mode=memory" in database:
        raise StoreError("read-only queries need a SQLite file; an in-memory runtime store has nothing to read")
    if database.startswith("file:"):
        return f"{database}{'&' if '?' in database else '?'}mode=ro"
    path = Path(database).expanduser().resolve()
    if not path.is_file():
        # Opening it would create an empty database; a read-only query must not create anything.
        raise StoreError(f"no runtime store at {path}: run `prometheus db upgrade` first")
    return f"{path.as_uri()}?mode=ro"


def _read_only_authorizer() -> Callable[[int, str | None, str | None, str | None, str | None], int]:
    # Table-valued pragmas (SELECT * FROM pragma_table_info('t')) exist only for pragmas without side effects.
    # Inside a SELECT they report SQLITE_PRAGMA, and declaring their virtual table asks for SQLITE_UPDATE on
    # sqlite_master columns without writing anything; both are allowed there only. A statement that is not a
    # query never starts with SQLITE_SELECT, and the file (mode=ro) and connection (query_only) stay read-only.
    in_select = False

    def authorize(action: int, table: str | None, *_: str | None) -> int:
        nonlocal in_select
        in_select = in_select or action == sqlite3.SQLITE_SELECT
        if action in _SQLITE_READ_ACTIONS:
            return sqlite3.SQLITE_OK
        if in_select and (
            action == sqlite3.SQLITE_PRAGMA or (action == sqlite3.SQLITE_UPDATE and table == "sqlite_master")
        ):
            return sqlite3.SQLITE_OK
        return sqlite3.SQLITE_DENY

    return authorize


def _postgresql_read_only(connection: Any, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    # Parse and describe without executing (the unnamed statement of the extended protocol): the server
    # refuses several statements in one Parse, and a statement without result columns (COPY TO a file, SET,
    # DO, LOCK, ...) is refused here, before it can run.
    pgconn = connection.pgconn
    parsed = pgconn.prepare(b"", sql.encode(connection.info.encoding))
    if parsed.status != psycopg.pq.ExecStatus.COMMAND_OK:
        raise psycopg.errors.error_from_result(parsed, encoding=connection.info.encoding)
    described = pgconn.describe_prepared(b"")
    if described.status != psycopg.pq.ExecStatus.COMMAND_OK:
        raise psycopg.errors.error_from_result(described, encoding=connection.info.encoding)
    if described.nfields == 0:
        raise StoreError("refused: the statement returns no rows, so it is not a query; only reads are allowed")
    # prepare=True keeps psycopg on the extended protocol, where one execute is one statement.
    with connection.cursor() as cursor:
        cursor.execute(sql, prepare=True)
        return _rows(cursor)


def _is_refusal(orig: BaseException | None) -> bool:
    # PostgreSQL: SQLSTATE 25006 read_only_sql_transaction, or several statements in one Parse. SQLite: a write
    # on the mode=ro file or under query_only, a denial of the authorizer, an ATTACH past the limit of 0, or a
    # second statement.
    text = str(orig)
    markers = (
        "readonly database",
        "not authorized",
        "authorization denied",
        "too many attached databases",
        "one statement at a time",
        "cannot insert multiple commands",
    )
    return getattr(orig, "sqlstate", None) == "25006" or any(marker in text for marker in markers)


def _create_engine(url: str) -> Engine:
    # Every failure names the URL masked: the raw text may hold a password (user info or ?password=).
    try:
        parsed = make_url(url)
        backend = parsed.get_backend_name()
        if backend == "sqlite":
            return _sqlite_engine(parsed)
        if backend == "postgresql":
            if parsed.drivername == "postgresql":
                parsed = parsed.set(drivername="postgresql+psycopg")
            return sa.create_engine(
                parsed, pool_pre_ping=True, json_serializer=_pg_json_dumps, json_deserializer=_pg_json_loads
            )
    except (sa.exc.SQLAlchemyError, ValueError, ImportError) as exc:
        # ValueError: a port that is not a number; ImportError/NoSuchModuleError: an unknown driver.
        raise StoreError(f"invalid runtime store URL {mask_url(url)!r}: {mask_secrets(str(exc))}") from None
    raise StoreError(f"unsupported runtime store backend {backend!r} in {mask_url(url)}; use sqlite or postgresql")


#: Non-finite floats as PostgreSQL's json type accepts them (it rejects the bare Infinity/NaN Python writes); read
#: back as floats, so a config with an unbounded cost tier or a NaN metric round-trips as on SQLite.
_NON_FINITE = {"Infinity": math.inf, "-Infinity": -math.inf, "NaN": math.nan}


def _finite_json(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _finite_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite_json(v) for v in value]
    return value


def _from_finite_json(value: Any) -> Any:
    if isinstance(value, str):
        return _NON_FINITE.get(value, value)
    if isinstance(value, dict):
        return {k: _from_finite_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_finite_json(v) for v in value]
    return value


def _pg_json_dumps(value: Any) -> str:
    return json.dumps(_finite_json(value))


def _pg_json_loads(text: str | bytes) -> Any:
    return _from_finite_json(json.loads(text))


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's 'begin' hook below issue BEGIN itself (pysqlite's implicit BEGIN is deferred and
        # emitted late, which turns lock upgrades into immediate 'database is locked' errors).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous = NORMAL")  # durable across process crashes in WAL mode
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front (waiting up to busy_timeout); readers use a deferred BEGIN so
        # they never wait for a writer under WAL.
        read_only = conn.get_execution_options().get(_READ_ONLY_OPTION, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine
