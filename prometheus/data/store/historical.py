"""The historical store: a hive-partitioned Parquet lake with DuckDB views as its catalog.

Writers replace whole partitions with an atomic rename (see ``_layout``); readers use DuckDB (``read``,
``query``, ``catalog``) or Polars (``scan``). DuckDB only ever holds views, in a private connection per
call, so any number of processes can read while one writes, and the lake can live on shared storage.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from contextlib import closing
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import polars as pl

from prometheus.core.errors import DataError, StoreError
from prometheus.core.settings import Settings
from prometheus.core.types import Market
from prometheus.data.schema import SCHEMAS, Partitioning, Table, TableSchema, schema_of
from prometheus.data.store import _layout, _sql, _validate
from prometheus.data.store._layout import PART_FILE, Partition


class HistoricalStore:
    """Historical tables in a Parquet lake under ``root`` (``<data_root>/lake``).

    Parameters
    ----------
    root
        Lake folder; one sub-folder per table, created on first write.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser().resolve()

    @classmethod
    def from_settings(cls, settings: Settings) -> HistoricalStore:
        """The store at the settings' lake path."""
        return cls(settings.lake_path)

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
        return [self._write_partition(schema, p, part) for p, part in _split(schema, conformed)]

    def merge(self, table: Table | str, frame: pl.DataFrame) -> list[Path]:
        """Upsert ``frame`` by the table's key: in each partition it touches, rows with a key in ``frame``
        are replaced and all other rows kept. Re-merging the same frame changes nothing.

        Raises
        ------
        DataError
            As :meth:`write`.
        """
        schema = _schema(table)
        conformed = _validate.conform(schema, frame)
        written = []
        for partition, part in _split(schema, conformed):
            old = self._read_partition(schema, partition)
            kept = old.join(part.select(schema.key), on=list(schema.key), how="anti", nulls_equal=True)
            written.append(self._write_partition(schema, partition, pl.concat([kept, part])))
        return written

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
        existed = target.exists()
        target.unlink(missing_ok=True)
        _layout.prune_empty_dirs(folder, self.root)
        return existed

    def partitions(self, table: Table | str) -> list[Partition]:
        """Partitions of ``table`` that hold a published file, sorted."""
        schema = _schema(table)
        table_dir = self.table_dir(schema.table)
        return sorted(_partition_of(f.relative_to(table_dir)) for f in _layout.partition_files(table_dir, None, None))

    def sweep_temp_files(self, *, older_than_s: float = 3600.0) -> list[Path]:
        """Delete temporary files left by writers that died, if older than ``older_than_s`` seconds.

        The age guard keeps the files of writes in progress in other processes.
        """
        cutoff = time.time() - older_than_s
        removed = []
        for tmp in _layout.temp_files(self.root):
            if tmp.stat().st_mtime <= cutoff:
                tmp.unlink(missing_ok=True)
                removed.append(tmp)
        return removed

    def _write_partition(self, schema: TableSchema, partition: Partition, frame: pl.DataFrame) -> Path:
        target = _layout.partition_dir(self.table_dir(schema.table), partition) / PART_FILE
        # Sorted by key so files (and reads) are deterministic; market lives in the folder name only.
        body = frame.sort(list(schema.key), nulls_last=True).drop("market")
        try:
            _layout.write_atomic(body, target)
        except OSError as exc:
            raise StoreError(f"{schema.table.value}: cannot write partition {partition.label()}: {exc}") from exc
        return target

    def _read_partition(self, schema: TableSchema, partition: Partition) -> pl.DataFrame:
        target = _layout.partition_dir(self.table_dir(schema.table), partition) / PART_FILE
        if not target.exists():
            return schema.empty()
        body = pl.read_parquet(target).with_columns(pl.lit(partition.market.value).alias("market"))
        return body.select(schema.names).cast(schema.dtypes)

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


def _schema(table: Table | str) -> TableSchema:
    try:
        return schema_of(table)
    except KeyError as exc:
        raise StoreError(str(exc.args[0])) from None


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


def _split(schema: TableSchema, frame: pl.DataFrame) -> list[tuple[Partition, pl.DataFrame]]:
    exprs = _validate.period_exprs(schema)
    keyed = frame.with_columns(exprs)
    by = ["market", *(e.meta.output_name() for e in exprs)]
    out = []
    for key, part in keyed.group_by(by, maintain_order=True):
        values = dict(zip(by, key, strict=True))
        partition = Partition(Market(values["market"]), values.get("year"), values.get("month"))
        out.append((partition, part.drop(by[1:])))
    return sorted(out, key=lambda item: item[0])


def _partition_of(relative: Path) -> Partition:
    values = dict(part.split("=", 1) for part in relative.parts[:-1])
    try:
        market = Market(values["market"])
        year = int(values["year"]) if "year" in values else None
        month = int(values["month"]) if "month" in values else None
    except (KeyError, ValueError) as exc:
        raise DataError(f"not a partition path: {exc}", file=str(relative)) from None
    return Partition(market, year, month)
