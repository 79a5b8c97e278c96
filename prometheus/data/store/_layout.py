"""Partition layout of the lake and the atomic file write.

Layout: ``<lake>/<table>/market=<M>[/year=<YYYY>[/month=<MM>]]/part.parquet`` (hive style). One file per
partition keeps file counts low (ARCHITECTURE §4) and makes "replace a partition" one rename.

Temporary files are named ``.part.parquet.tmp-<id>``: DuckDB's and Polars' globs DO match dotfiles ending in
``.parquet`` (checked with duckdb 1.5 / polars 1.44), so the temporary name must not end in ``.parquet``.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from prometheus.core.errors import StoreError
from prometheus.core.types import Market
from prometheus.data.schema import Partitioning, TableSchema

PART_FILE = "part.parquet"
TMP_PREFIX = f".{PART_FILE}.tmp-"
#: Rows per Parquet row group: DuckDB and Polars skip row groups by min/max statistics.
ROW_GROUP_ROWS = 128_000

_PERIOD = re.compile(r"^(\d{4})(?:-(\d{2}))?$")


@dataclass(frozen=True, order=True)
class Partition:
    """One partition of a table: a market and, per the table's partitioning, a year and month."""

    market: Market
    year: int | None = None
    month: int | None = None

    def parts(self) -> tuple[str, ...]:
        """Hive folder names below the table folder."""
        out = [f"market={self.market.value}"]
        if self.year is not None:
            out.append(f"year={self.year:04d}")
        if self.month is not None:
            out.append(f"month={self.month:02d}")
        return tuple(out)

    def label(self) -> str:
        """Short human label (``US_EQ/2024-03``)."""
        if self.year is None:
            return self.market.value
        tail = f"{self.year:04d}" if self.month is None else f"{self.year:04d}-{self.month:02d}"
        return f"{self.market.value}/{tail}"


def parse_market(market: Market | str) -> Market:
    """A Market from a member or its code."""
    try:
        return Market(str(market).upper())
    except ValueError:
        known = ", ".join(m.value for m in Market)
        raise StoreError(f"unknown market {market!r}; known markets: {known}") from None


def make_partition(partitioning: Partitioning, market: Market | str, period: int | str | date | None) -> Partition:
    """The partition for ``market`` and ``period`` (a year, ``"YYYY"``, ``"YYYY-MM"``, a date, or None).

    Raises
    ------
    StoreError
        The period does not fit the table's partitioning.
    """
    m = parse_market(market)
    if partitioning is Partitioning.MARKET:
        if period is not None:
            raise StoreError(f"tables partitioned by market only take period=None, got {period!r}")
        return Partition(m)
    year, month = _split_period(period)
    if partitioning is Partitioning.MARKET_YEAR:
        if month is not None and not isinstance(period, date):
            raise StoreError(f"yearly partitions take a year as period, got {period!r}")
        return Partition(m, year)
    if month is None:
        raise StoreError(f"monthly partitions take 'YYYY-MM' or a date as period, got {period!r}")
    return Partition(m, year, month)


def _split_period(period: int | str | date | None) -> tuple[int, int | None]:
    if isinstance(period, date):
        return period.year, period.month
    if isinstance(period, int) and not isinstance(period, bool):
        return period, None
    match = _PERIOD.match(str(period)) if isinstance(period, str) else None
    if match is None:
        raise StoreError(f"period must be a year, 'YYYY', 'YYYY-MM' or a date, got {period!r}")
    month = int(match.group(2)) if match.group(2) else None
    if month is not None and not 1 <= month <= 12:
        raise StoreError(f"period {period!r}: month must be 01..12")
    return int(match.group(1)), month


def partition_dir(table_dir: Path, partition: Partition) -> Path:
    """Folder of ``partition`` inside ``table_dir``."""
    return table_dir.joinpath(*partition.parts())


def file_body(schema: TableSchema, frame: pl.DataFrame) -> pl.DataFrame:
    """What a partition file holds: rows sorted by key (deterministic files and reads), ``market`` dropped (it lives
    in the folder name only)."""
    return frame.sort(list(schema.key), nulls_last=True).drop("market")


def read_partition_file(path: Path, schema: TableSchema, partition: Partition) -> pl.DataFrame:
    """The rows of one partition file with the schema's columns (``market`` from the partition)."""
    if not path.exists():
        return schema.empty()
    body = pl.read_parquet(path).with_columns(pl.lit(partition.market.value).alias("market"))
    return body.select(schema.names).cast(schema.dtypes)


def write_atomic(frame: pl.DataFrame, target: Path) -> None:
    """Write ``frame`` to ``target`` so that readers see the old file or the new one, never a partial one.

    Writes a temporary file in the same folder (same file system, so the rename is atomic), fsyncs it,
    renames it over ``target`` and fsyncs the folder so the rename survives a power loss.
    """
    tmp = write_temp(frame, target)
    try:
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


def write_temp(frame: pl.DataFrame, target: Path) -> Path:
    """Write ``frame`` durably to a new temporary file beside ``target`` (invisible to readers); returns its path.

    The caller renames it over ``target`` (now, or at the commit of a transaction) or deletes it.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f"{TMP_PREFIX}{uuid.uuid4().hex}"
    try:
        table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
        with pq.ParquetWriter(tmp, table.schema, compression="zstd") as writer:
            # Row group by row group: memory stays bounded and statistics are per row group.
            for batch in table.to_batches(max_chunksize=ROW_GROUP_ROWS):
                writer.write_batch(batch)
        _fsync_path(tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def partition_files(table_dir: Path, market: Market | None, years: tuple[int, int] | None) -> list[Path]:
    """Published partition files of a table, pruned by market and by an inclusive year range."""
    if not table_dir.is_dir():
        return []
    pattern = f"market={market.value}/**/{PART_FILE}" if market else f"market=*/**/{PART_FILE}"
    files = sorted(table_dir.glob(pattern))
    if years is None:
        return files
    lo, hi = years
    return [f for f in files if (y := _year_of(f)) is None or lo <= y <= hi]


def _year_of(path: Path) -> int | None:
    for part in path.parts:
        if part.startswith("year="):
            return int(part.removeprefix("year="))
    return None


def temp_files(root: Path) -> Iterator[Path]:
    """Temporary files left by interrupted writes anywhere under ``root``."""
    return root.rglob(f"{TMP_PREFIX}*")


def prune_empty_dirs(start: Path, stop: Path) -> None:
    """Remove empty folders from ``start`` up to (not including) ``stop``."""
    current = start
    while current != stop and current.is_dir() and not any(current.iterdir()):
        current.rmdir()
        current = current.parent
