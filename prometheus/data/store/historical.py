"""The historical store: a hive-partitioned Parquet lake with DuckDB views as its catalog.

Writers replace whole partitions with an atomic rename (see ``_layout``), one writer per table at a time (a lock
across processes, see ``_lock``); a transaction publishes partitions of several tables together (see ``_journal``).
Readers use DuckDB (``read``, ``query``, ``catalog``) or Polars (``scan``) and take no lock. DuckDB only ever holds
views, in a private connection per call, so any number of processes can read while one writes.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import polars as pl

from prometheus.core.errors import DataError, StoreError
from prometheus.core.settings import Settings
from prometheus.core.types import Market
from prometheus.data.revisions import Revisions, resolve
from prometheus.data.schema import SCHEMAS, Partitioning, Table, TableSchema
from prometheus.data.store import _journal, _layout, _sql, _validate
from prometheus.data.store._layout import PART_FILE, Partition
from prometheus.data.store._lock import DEFAULT_LOCK_TIMEOUT_S, LockHolder, StoreLockedError, TableLocks
from prometheus.data.store._transaction import StoreTransaction


class HistoricalStore:
    """Historical tables in a Parquet lake under ``root`` (``<data_root>/lake``).

    Parameters
    ----------
    root
        Lake folder; one sub-folder per table, created on first write.
    lock_timeout_s
        How long a write waits for a table that another writer holds before it fails with
        :class:`StoreLockedError` naming that writer (0: fail at once).
    """

    def __init__(self, root: Path, *, lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S) -> None:
        self.root = Path(root).expanduser().resolve()
        self._locks = TableLocks(self.root, lock_timeout_s)

    @classmethod
    def from_settings(cls, settings: Settings, *, lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S) -> HistoricalStore:
        """The store at the settings' lake path."""
        return cls(settings.lake_path, lock_timeout_s=lock_timeout_s)

    def table_dir(self, table: Table | str) -> Path:
        """Folder of ``table`` in the lake."""
        return self.root / _schema(table).table.value

    # ----------------------------------------------------------------------------------------------- writes
    def write(
        self,
        table: Table | str,
        frame: pl.DataFrame,
        *,
        market: Market | str,
        period: int | str | date | None,
    ) -> Path:
        """Replace one partition of ``table`` with ``frame`` (validated against the schema), atomically.

        ``period`` is a year for yearly tables, ``"YYYY-MM"`` (or a date) for monthly ones, None for tables
        partitioned by market only. Writing the same frame twice leaves the same data (idempotent); an empty
        frame leaves an empty partition file.

        Returns
        -------
        Path
            The partition file.

        Raises
        ------
        DataError
            The frame does not fit the schema or has rows outside the partition (names table, row, column).
        StoreError
            Unknown table/market, a period that does not fit the partitioning, or an I/O failure.
        """
        schema = _schema(table)
        partition = _layout.make_partition(schema.partitioning, market, period)
        conformed = _validate.conform(schema, frame)
        _validate.check_in_partition(schema, conformed, partition)
        with self._writing([schema.table.value]):
            return self._write_partition(schema, partition, conformed)

    def write_frame(self, table: Table | str, frame: pl.DataFrame) -> list[Path]:
        """Split ``frame`` by market and period and replace each partition it touches.

        Partitions the frame does not touch are left as they are.

        Raises
        ------
        DataError
            As :meth:`write`.
        """
        schema = _schema(table)
        conformed = _validate.conform(schema, frame)
        with self._writing([schema.table.value]):
            return [self._write_partition(schema, p, part) for p, part in _validate.split(schema, conformed)]

    def merge(self, table: Table | str, frame: pl.DataFrame) -> list[Path]:
        """Upsert ``frame`` by the table's key: in each partition it touches, rows with a key in ``frame``
        are replaced and all other rows kept. Re-merging the same frame changes nothing. A row with the key of a
        stored one replaces it: pass delivered facts through :meth:`resolve_revisions` first, so that a changed
        value becomes a new revision instead.

        Raises
        ------
        DataError
            As :meth:`write`.
        """
        schema = _schema(table)
        conformed = _validate.conform(schema, frame)
        with self._writing([schema.table.value]):
            return [
                self._write_partition(schema, p, _validate.upsert(schema, self._read_partition(schema, p), part))
                for p, part in _validate.split(schema, conformed)
            ]

    @contextmanager
    def transaction(
        self, tables: Iterable[Table | str], *, timeout_s: float | None = None
    ) -> Iterator[StoreTransaction]:
        """Hold the writer locks of ``tables`` for the block and publish its writes together at its end.

        Writes through the yielded :class:`StoreTransaction` are staged; when the block ends without an exception
        they become visible at once (a commit journal makes this hold across a crash: see ``_journal``), and on an
        exception they are discarded. Writes through the store itself inside the block (to a declared table) are
        published at once, e.g. a log row saying the publication started. Declare every table the block reads to
        derive what it writes: their locks keep other writers out until the commit.

        Raises
        ------
        StoreLockedError
            A table stayed held by another writer for ``timeout_s`` (default: the store's lock timeout).
        """
        names = frozenset(_schema(t).table.value for t in tables)
        with self._writing(names, timeout_s=timeout_s):
            tx = StoreTransaction(self.root, names)
            try:
                yield tx
            except BaseException:
                tx.abort()
                raise
            tx.commit()

    def resolve_revisions(self, table: Table | str, frame: pl.DataFrame, *, at: datetime) -> Revisions:
        """The rows of ``frame`` that are new to ``table``, with changed values re-stamped as revisions known at
        ``at`` (see :mod:`prometheus.data.revisions`); writes nothing. Hold the table's lock (a transaction) while
        resolving and writing, so that no other writer changes what was compared.

        Raises
        ------
        DataError
            ``frame`` does not fit the schema.
        StoreError
            ``table`` is not a point-in-time table.
        """
        schema = _schema(table)
        if not schema.point_in_time:
            raise StoreError(f"{schema.table.value} has no known_at: it has no revisions")
        conformed = _validate.conform(schema, frame)
        parts = [resolve(schema, self._read_partition(schema, p), part, _utc_required(at))
                 for p, part in _validate.split(schema, conformed)]  # fmt: skip
        if not parts:
            return Revisions(conformed, 0, 0, 0)
        return Revisions(
            pl.concat([r.rows for r in parts]),
            sum(r.new for r in parts),
            sum(r.revised for r in parts),
            sum(r.unchanged for r in parts),
        )

    def recover(self) -> list[str]:
        """Finish the commits that writers killed in mid-commit left behind; returns their transaction ids.

        Takes the locks of each commit's tables (waiting up to the store's lock timeout). Writers call it before
        taking their own locks, and readers try it without waiting, so it rarely needs calling by hand.

        Raises
        ------
        StoreLockedError
            A commit's tables stayed held by another writer for the lock timeout.
        """
        return self._finish_commits(timeout_s=None)

    def lock_holder(self, table: Table | str) -> LockHolder | None:
        """Who is writing ``table`` now (pid, host, command, since), or None."""
        return self._locks.holder(_schema(table).table.value)

    def delete_partition(self, table: Table | str, *, market: Market | str, period: int | str | date | None) -> bool:
        """Remove one partition; returns whether it existed.

        Raises
        ------
        StoreError
            Unknown table or market, or a period that does not fit the partitioning.
        """
        schema = _schema(table)
        partition = _layout.make_partition(schema.partitioning, market, period)
        folder = _layout.partition_dir(self.table_dir(schema.table), partition)
        target = folder / PART_FILE
        with self._writing([schema.table.value]):
            existed = target.exists()
            target.unlink(missing_ok=True)
            _layout.prune_empty_dirs(folder, self.root)
        return existed

    def partitions(self, table: Table | str) -> list[Partition]:
        """Partitions of ``table`` that hold a published file, sorted."""
        schema = _schema(table)
        table_dir = self.table_dir(schema.table)
        return sorted(_partition_of(f.relative_to(table_dir)) for f in _layout.partition_files(table_dir, None, None))

    def fingerprint(self, tables: Iterable[Table | str], *, until: date) -> str:
        """A digest of the published files of ``tables`` (every market) in partitions up to ``until``'s year.

        Two equal fingerprints mean the same rows were there to read up to that year, so a model fitted on that
        history can be reused instead of refitted. Conservative: any write to one of those partitions (a late row,
        a revision, a re-ingestion with other data) changes it, even when the rows known at a given time did
        not. File digests are cached by path, size and modification time.
        """
        digest = hashlib.sha256()
        for table in sorted({_schema(t).table.value for t in tables}):
            table_dir = self.table_dir(table)
            for path in _layout.partition_files(table_dir, None, (0, until.year)):
                digest.update(str(path.relative_to(self.root)).encode())
                digest.update(_file_digest(path))
        return digest.hexdigest()

    def sweep_temp_files(self, *, older_than_s: float = 3600.0) -> list[Path]:
        """Delete temporary files left by writers that died, if older than ``older_than_s`` seconds.

        The age guard keeps the files of writes in progress in other processes; files an unfinished commit
        still needs are never deleted. Writers also sweep each table when they take its lock (every temporary
        file of a table is then a leftover, since only the lock's holder writes them).
        """
        cutoff = time.time() - older_than_s
        needed = _journal.staged_files(_journal.pending(self.root), self.root)
        removed = []
        for tmp in _layout.temp_files(self.root):
            if tmp not in needed and tmp.stat().st_mtime <= cutoff:
                tmp.unlink(missing_ok=True)
                removed.append(tmp)
        return removed

    @contextmanager
    def _writing(self, tables: Iterable[str], *, timeout_s: float | None = None) -> Iterator[None]:
        """Hold the locks of ``tables``; first finish commits left by killed writers, sweep what they left."""
        if not self._locks.holds_any():
            # Only without locks in hand: a commit's locks are taken in one sorted batch, never on top of others.
            self._finish_commits(timeout_s=timeout_s)
        with self._locks.hold(tables, timeout_s=timeout_s, on_acquire=self._sweep_table):
            yield

    def _finish_commits(self, *, timeout_s: float | None) -> list[str]:
        done = []
        for journal in _journal.pending(self.root):
            with self._locks.hold(journal.tables, timeout_s=timeout_s):
                current = _journal.read(journal.path)  # another process may have finished it meanwhile
                if current is not None:
                    _journal.apply(self.root, current)
                    done.append(current.txid)
        return done

    def _settle(self) -> None:
        """Readers: finish a commit whose writer died (the lake then shows all of it), unless a writer is at work."""
        if not _journal.pending(self.root):
            return
        try:
            self._finish_commits(timeout_s=0.0)
        except (StoreLockedError, OSError):
            pass  # a live writer is committing, or the lake is read-only to this reader: read what is there

    def _sweep_table(self, table: str) -> None:
        # Called with the table's lock just taken: every temporary file in its folder was left by a dead writer.
        needed = _journal.staged_files(_journal.pending(self.root), self.root)
        table_dir = self.root / table
        if table_dir.is_dir():
            for tmp in _layout.temp_files(table_dir):
                if tmp not in needed:
                    tmp.unlink(missing_ok=True)

    def _write_partition(self, schema: TableSchema, partition: Partition, frame: pl.DataFrame) -> Path:
        target = _layout.partition_dir(self.table_dir(schema.table), partition) / PART_FILE
        try:
            _layout.write_atomic(_layout.file_body(schema, frame), target)
        except OSError as exc:
            raise StoreError(f"{schema.table.value}: cannot write partition {partition.label()}: {exc}") from exc
        return target

    def _read_partition(self, schema: TableSchema, partition: Partition) -> pl.DataFrame:
        target = _layout.partition_dir(self.table_dir(schema.table), partition) / PART_FILE
        return _layout.read_partition_file(target, schema, partition)

    # ------------------------------------------------------------------------------------------------ reads
    def read(
        self,
        table: Table | str,
        *,
        market: Market | str | None = None,
        start: date | None = None,
        end: date | None = None,
        columns: Sequence[str] | None = None,
        where: str | None = None,
    ) -> pl.DataFrame:
        """Rows of ``table``, sorted by key, with the declared dtypes.

        Parameters
        ----------
        market
            Only this market (prunes partitions).
        start, end
            Inclusive bounds on ``date`` (on the period column for tables without ``date``; prunes years).
        columns
            Columns to return (default: all, in declared order).
        where
            Extra SQL predicate over the table's columns (DuckDB syntax), e.g. ``"symbol IN ('A', 'B')"``.

        Raises
        ------
        StoreError
            Unknown table, market or column; bounds on a table without dates; a bad or writing predicate.
        """
        self._settle()
        schema = _schema(table)
        wanted = _columns(schema, columns)
        m = _layout.parse_market(market) if market is not None else None
        bound = _bound_column(schema, start, end)
        years = (start.year if start else 0, end.year if end else 9999) if bound else None
        files = _layout.partition_files(self.table_dir(schema.table), m, years)
        if not files:
            return schema.empty().select(wanted)
        sql, params = _read_sql(schema, files, wanted, m, (bound, start, end), where)
        with closing(_connect()) as con:
            _sql.ensure_duckdb_read_only(con, sql)
            try:
                result = con.execute(sql, params).pl()
            except duckdb.Error as exc:
                raise StoreError(f"{schema.table.value}: read failed: {exc}") from None
        return result.cast({c: schema.dtypes[c] for c in wanted})

    def scan(self, table: Table | str) -> pl.LazyFrame:
        """A Polars lazy scan over ``table`` (hive columns ``market`` and, where used, ``year``/``month``)."""
        self._settle()
        schema = _schema(table)
        if not _layout.partition_files(self.table_dir(schema.table), None, None):
            return schema.empty().lazy()
        source = str(self.table_dir(schema.table) / "**" / "*.parquet")
        hive = {"market": pl.String(), "year": pl.Int64(), "month": pl.Int64()}
        levels = {Partitioning.MARKET: 1, Partitioning.MARKET_YEAR: 2, Partitioning.MARKET_MONTH: 3}
        hive_schema = dict(list(hive.items())[: levels[schema.partitioning]])
        scan = pl.scan_parquet(source, hive_partitioning=True, hive_schema=hive_schema)
        return scan.select(schema.names).cast(schema.dtypes)

    def catalog(self, as_of: datetime | None = None) -> duckdb.DuckDBPyConnection:
        """A new in-memory DuckDB connection with one view per table over the lake (typed, even when empty),
        plus a ``<table>_latest`` view (latest revision per key) for each point-in-time table.

        With ``as_of`` (naive means UTC) every point-in-time view holds only rows with ``known_at <= as_of``
        and the ``_latest`` views resolve revisions among those, as ``TimeMachine(store, as_of)`` does;
        tables without ``known_at`` are unchanged. The connection is locked down (``_sql.lock_down``): it
        reads no file outside the lake, installs and loads no extension, and its settings cannot change; run
        untrusted SQL through :meth:`query`, which also accepts nothing but one query. Close it when done.
        """
        self._settle()
        con = _connect()
        for statement in _sql.catalog_sql(SCHEMAS.values(), self.root, _utc(as_of)):
            con.execute(statement)
        _sql.lock_down(con, self.root)
        return con

    def query(self, sql: str, *, as_of: datetime | None = None) -> pl.DataFrame:
        """Run one read-only query against the catalog's views (as known at ``as_of``, see :meth:`catalog`).

        Raises
        ------
        ReadOnlyQueryError
            Not exactly one query (whatever comments or quoting hide), or a query that opens a file outside
            the lake.
        StoreError
            DuckDB failed (syntax error, unknown table or column); the message is DuckDB's.
        """
        con = self.catalog(as_of)
        try:
            return _sql.run_read_only(con, sql)
        finally:
            con.close()

    def export_catalog(self, path: Path) -> Path:
        """Write a DuckDB database file holding the views, ``_latest`` ones included (for the ``duckdb`` shell).

        Written to a temporary file and renamed, like the lake. Views of tables that had no file at export
        time stay empty until the next export.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        tmp.unlink(missing_ok=True)
        con = duckdb.connect(str(tmp))
        try:
            for statement in _sql.catalog_sql(SCHEMAS.values(), self.root):
                con.execute(statement)
        finally:
            con.close()
        os.replace(tmp, path)
        return path


_schema = _validate.table_schema


def _utc_required(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise StoreError(f"revision instant {at.isoformat()} is naive; pass an aware UTC datetime")
    return at.astimezone(UTC)


def _utc(as_of: datetime | None) -> datetime | None:
    # Naive means UTC, as for the TimeMachine.
    if as_of is None:
        return None
    return as_of.replace(tzinfo=UTC) if as_of.tzinfo is None else as_of.astimezone(UTC)


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    # Results come back as aware UTC datetimes, whatever the machine's time zone.
    con.execute("SET TimeZone = 'UTC'")
    return con


def _columns(schema: TableSchema, columns: Sequence[str] | None) -> list[str]:
    if columns is None:
        return list(schema.names)
    unknown = [c for c in columns if c not in schema.names]
    if unknown:
        raise StoreError(f"{schema.table.value}: unknown column(s) {unknown}; columns: {list(schema.names)}")
    return list(columns)


def _bound_column(schema: TableSchema, start: date | None, end: date | None) -> str | None:
    if start is None and end is None:
        return None
    if "date" in schema.names:
        return "date"
    if schema.period_column is None:
        raise StoreError(f"{schema.table.value} has no dates; read it without start/end")
    return schema.period_column


def _read_sql(
    schema: TableSchema,
    files: list[Path],
    wanted: list[str],
    market: Market | None,
    bounds: tuple[str | None, date | None, date | None],
    where: str | None,
) -> tuple[str, list[object]]:
    column, start, end = bounds
    inner = f"SELECT {_sql.select_list(schema)} FROM {_sql.parquet_source('?')}"
    params: list[object] = [[str(f) for f in files]]
    filters = []
    if market is not None:
        filters.append("market = ?")
        params.append(market.value)
    if column is not None:
        # Datetime period columns (quarantine.ingested_at) are bounded by their UTC date.
        target = _sql.quote_ident(column) if column == "date" else f"CAST({_sql.quote_ident(column)} AS DATE)"
        if start is not None:
            filters.append(f"{target} >= ?")
            params.append(start)
        if end is not None:
            filters.append(f"{target} <= ?")
            params.append(end)
    if where:
        filters.append(f"({where})")
    clause = f" WHERE {' AND '.join(filters)}" if filters else ""
    select = ", ".join(_sql.quote_ident(c) for c in wanted)
    order = ", ".join(f"{_sql.quote_ident(k)} NULLS LAST" for k in schema.key)
    return f"SELECT {select} FROM ({inner}){clause} ORDER BY {order}", params


#: Digests of lake files by (path, size, mtime_ns): a file is replaced by rename, never edited in place.
_DIGESTS: dict[tuple[str, int, int], bytes] = {}


def _file_digest(path: Path) -> bytes:
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    found = _DIGESTS.get(key)
    if found is None:
        with path.open("rb") as handle:
            found = hashlib.file_digest(handle, "sha256").digest()
        _DIGESTS[key] = found
    return found


def _partition_of(relative: Path) -> Partition:
    values = dict(part.split("=", 1) for part in relative.parts[:-1])
    try:
        market = Market(values["market"])
        year = int(values["year"]) if "year" in values else None
        month = int(values["month"]) if "month" in values else None
    except (KeyError, ValueError) as exc:
        raise DataError(f"not a partition path: {exc}", file=str(relative)) from None
    return Partition(market, year, month)
