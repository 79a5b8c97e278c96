"""What a source hands to the publisher: QC'd table rows, quarantined rows and per-file counts."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

import polars as pl

from prometheus.calendar import MARKETS
from prometheus.core.types import Market
from prometheus.data.schema import QUARANTINE, Table, schema_of


@dataclass(frozen=True)
class DateWindow:
    """Inclusive session-date range of the market; its instants run from ``start`` 00:00 to ``end`` + 1 day
    00:00 in the market's time zone (a partition publishes the facts that became known inside it)."""

    start: date
    end: date

    def instants(self, market: Market) -> tuple[datetime, datetime]:
        """``[from, until)`` in UTC."""
        tz = MARKETS[market].tz
        lo = datetime.combine(self.start, time(0), tzinfo=tz).astimezone(UTC)
        hi = datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
        return lo, hi


@dataclass(frozen=True)
class FileReport:
    """Counts of one source file (or feed) into one table."""

    source: str
    table: Table
    rows_read: int
    rows_loaded: int
    rows_quarantined: int


@dataclass(frozen=True)
class Batch:
    """The output of one source: rows per table (declared schemas), quarantined rows and per-file counts.

    ``derive_adjusted`` asks the publisher to (re)derive ``adjustment_factors`` and ``prices_adjusted`` from the
    raw bars and corporate actions. ``warnings`` are what the source noticed without failing (a header-only
    optional file).
    """

    market: Market
    tables: dict[Table, pl.DataFrame]
    quarantine: pl.DataFrame
    files: tuple[FileReport, ...] = ()
    derive_adjusted: bool = False
    ingested_at: datetime | None = None
    warnings: tuple[str, ...] = ()

    def within(self, window: DateWindow) -> Batch:
        """The rows that became known inside ``window`` (reference tables partitioned by market are kept whole;
        quarantined rows are kept when their date is in the window or unknown)."""
        lo, hi = window.instants(self.market)
        tables = {}
        for table, frame in self.tables.items():
            schema = schema_of(table)
            if schema.point_in_time and schema.partitioning.value != "market":
                frame = frame.filter((pl.col("known_at") >= lo) & (pl.col("known_at") < hi))
            tables[table] = frame
        in_window = pl.col("date").is_null() | pl.col("date").is_between(window.start, window.end)
        quarantine = self.quarantine.filter(in_window)
        files = tuple(_restrict(f, tables, quarantine) for f in self.files)
        return replace(self, tables=tables, quarantine=quarantine, files=files)


def _restrict(report: FileReport, tables: dict[Table, pl.DataFrame], quarantine: pl.DataFrame) -> FileReport:
    if schema_of(report.table).partitioning.value == "market":
        return report
    loaded = tables[report.table].height if report.table in tables else 0
    bad = quarantine.filter(pl.col("source") == report.source).height
    return FileReport(report.source, report.table, loaded + bad, loaded, bad)


def empty_quarantine() -> pl.DataFrame:
    """A quarantine frame without rows."""
    return QUARANTINE.empty()


class Source(Protocol):
    """A source of historical rows: vendor files, the synthetic market, reference data."""

    market: Market

    def load(self) -> Batch:
        """Read, parse and QC everything; nothing is published here."""
        ...
