"""TimeMachine: the only way engines read history (ARCHITECTURE section 3).

``TimeMachine(source, as_of=t)`` serves every historical table as it was known at ``t``: rows with
``known_at > t`` do not exist, and where a fact was revised (a row with the same key but a later ``known_at``,
e.g. a corrected bar or prices re-adjusted after a split was announced) the latest revision known at ``t`` wins.

A view can only move back in time (:meth:`TimeMachine.at` with a later instant is a :class:`LookAheadError`), so an
engine handed a view at the last decision time of a run can walk its sessions forward, one earlier view per
session, and never see past any of them. The source is loaded once (:meth:`HistorySnapshot.load`) and views over it
are cheap filters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import polars as pl

from prometheus.core.errors import LookAheadError, StoreError
from prometheus.core.time import to_utc
from prometheus.core.types import Market
from prometheus.data.schema import Table, revision_key, schema_of
from prometheus.data.store import HistoricalStore


@dataclass(frozen=True)
class HistorySnapshot:
    """Historical tables loaded into memory up to ``known_until`` (rows known later were never read)."""

    known_until: datetime
    tables: Mapping[Table, pl.DataFrame] = field(default_factory=dict)

    @classmethod
    def load(
        cls,
        store: HistoricalStore,
        tables: Iterable[Table | str],
        *,
        known_until: datetime,
        market: Market | str | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> HistorySnapshot:
        """Read ``tables`` from ``store`` (rows dated in ``[start, end]`` where the table has dates)."""
        cutoff = to_utc(known_until)
        loaded: dict[Table, pl.DataFrame] = {}
        for name in tables:
            schema = schema_of(name)
            dated = "date" in schema.names and schema.partitioning.value != "market"
            frame = store.read(schema.table, market=market, start=start if dated else None, end=end if dated else None)
            if schema.point_in_time:
                frame = frame.filter(pl.col("known_at") <= cutoff)
            loaded[schema.table] = frame
        return cls(cutoff, loaded)


class TimeMachine:
    """A read-only view of history as known at ``as_of`` (UTC).

    Parameters
    ----------
    source
        A :class:`HistorySnapshot`, or a :class:`HistoricalStore` (each :meth:`table` call then reads the lake).
    as_of
        The instant of the view; naive datetimes are UTC.
    """

    def __init__(self, source: HistorySnapshot | HistoricalStore, as_of: datetime) -> None:
        self._source = source
        self.as_of = to_utc(as_of)
        if isinstance(source, HistorySnapshot) and self.as_of > source.known_until:
            raise LookAheadError(
                f"view at {self.as_of.isoformat()} asked of a snapshot known only until "
                f"{source.known_until.isoformat()}"
            )

    def __repr__(self) -> str:
        return f"TimeMachine(as_of={self.as_of.isoformat()})"

    def at(self, as_of: datetime) -> TimeMachine:
        """The same history as known at an earlier (or equal) instant.

        Raises
        ------
        LookAheadError
            ``as_of`` is later than this view's: a view never grants a look further ahead than it has.
        """
        t = to_utc(as_of)
        if t > self.as_of:
            raise LookAheadError(f"cannot move a view at {self.as_of.isoformat()} forward to {t.isoformat()}")
        return TimeMachine(self._source, t)

    def table(
        self,
        table: Table | str,
        *,
        market: Market | str | None = None,
        start: date | None = None,
        end: date | None = None,
        symbols: Sequence[str] | None = None,
        columns: Sequence[str] | None = None,
    ) -> pl.DataFrame:
        """Rows of ``table`` known at ``as_of``, latest revision per key, sorted by key.

        Raises
        ------
        StoreError
            Unknown table or column, or a table the snapshot did not load.
        """
        schema = schema_of(table)
        frame = self._raw(schema.table, market, start, end, symbols, columns)
        if schema.point_in_time:
            frame = latest_known(frame, schema.key, self.as_of)
        return _select(frame, schema.table, columns)

    def revisions(
        self,
        table: Table | str,
        *,
        market: Market | str | None = None,
        start: date | None = None,
        end: date | None = None,
        symbols: Sequence[str] | None = None,
        columns: Sequence[str] | None = None,
    ) -> pl.DataFrame:
        """Every revision of ``table`` known at ``as_of`` (``known_at <= as_of``), not only the latest, sorted by key.

        For a reader that resolves each row at its own, earlier instant from one read (the latest revision at
        ``as_of`` may postdate that instant while an earlier revision was known then); rows known after ``as_of``
        are absent as in :meth:`table`.

        Raises
        ------
        StoreError
            Unknown table or column, a table that is not point in time, or one the snapshot did not load.
        """
        schema = schema_of(table)
        if not schema.point_in_time:
            raise StoreError(f"{schema.table.value}: not a point-in-time table, it has no revisions")
        frame = self._raw(schema.table, market, start, end, symbols, columns)
        frame = frame.filter(pl.col("known_at") <= self.as_of).sort(list(schema.key))
        return _select(frame, schema.table, columns)

    def _raw(
        self,
        table: Table,
        market: Market | str | None,
        start: date | None,
        end: date | None,
        symbols: Sequence[str] | None = None,
        columns: Sequence[str] | None = None,
    ) -> pl.DataFrame:
        schema = schema_of(table)
        keep: list[pl.Expr] = []
        if isinstance(self._source, HistoricalStore):
            dated = "date" in schema.names and schema.partitioning.value != "market"
            frame = self._source.read(table, market=market, start=start if dated else None, end=end if dated else None)
        else:
            if table not in self._source.tables:
                raise StoreError(f"{table.value}: not loaded in this snapshot; load it with HistorySnapshot.load")
            frame = self._source.tables[table]
            if columns is not None and not set(columns) - set(frame.columns):
                # Only the columns asked for, the key and what is filtered on are copied by the filter below (a
                # projection costs nothing); unknown columns are left to _select to report.
                wanted = [*columns, *schema.key, "known_at", "market", "date", "symbol"]
                frame = frame.select(c for c in frame.columns if c in set(wanted))
            if market is not None:
                keep.append(pl.col("market") == str(Market(str(market))))
        if "date" in schema.names:
            if start is not None:
                keep.append(pl.col("date") >= start)
            if end is not None:
                keep.append(pl.col("date") <= end)
        if symbols is not None and "symbol" in schema.names:
            keep.append(pl.col("symbol").is_in(list(symbols)))
        # One filter of all conditions: a filter per condition copied the snapshot's whole table (every column, every
        # date of the market) before the date range cut it down, on every read of every block.
        return frame.filter(*keep) if keep else frame


def _select(frame: pl.DataFrame, table: Table, columns: Sequence[str] | None) -> pl.DataFrame:
    if columns is None:
        return frame
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise StoreError(f"{table.value}: unknown columns {missing}")
    return frame.select(list(columns))


def latest_known(frame: pl.DataFrame, key: Sequence[str], as_of: datetime) -> pl.DataFrame:
    """Rows with ``known_at <= as_of``, keeping per key (without ``known_at``) the latest revision."""
    visible = frame.filter(pl.col("known_at") <= as_of)
    ident = list(revision_key(key))
    if visible.is_empty() or not ident:
        return visible.sort(list(key)) if not visible.is_empty() else visible
    # Most rows have a single revision: only sort-and-deduplicate when some key repeats.
    if visible.select(pl.struct(ident).is_duplicated().any()).item():
        visible = visible.sort([*ident, "known_at"]).unique(subset=ident, keep="last", maintain_order=True)
    return visible.sort(ident)
