"""Publishing a QC'd batch into the historical store, with the derived adjusted tables and the ingestion log.

Everything is computed before the first write: a failure while computing leaves the store as it was. Writes are
upserts by key (``HistoricalStore.merge``), so publishing the same batch again changes no table except
``ingestion_log``, which records every run. A row already in quarantine keeps its first ``ingested_at``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from prometheus.core.time import utc_now
from prometheus.core.types import Market
from prometheus.data.ingest.adjust import adjusted_revisions, adjustment_factors
from prometheus.data.ingest.batch import Batch, DateWindow, FileReport
from prometheus.data.ingest.rules import counts_by_rule
from prometheus.data.schema import CORPORATE_ACTIONS, INGESTION_LOG, QUARANTINE, IngestionStatus, Table
from prometheus.data.store import HistoricalStore

#: Source name of the derived tables in ``ingestion_log``.
DERIVED_SOURCE = "derived"
#: Above this many symbols the store is read for the whole market rather than filtered by symbol.
_MAX_SYMBOL_FILTER = 2000


@dataclass(frozen=True)
class IngestReport:
    """What one ingestion published: rows per table, quarantined rows per rule, per-file counts."""

    run_id: str
    market: Market
    started_at: datetime
    finished_at: datetime
    loaded: dict[str, int]
    quarantined: dict[str, int]
    files: tuple[FileReport, ...] = ()

    @property
    def rows_quarantined(self) -> int:
        """Rows quarantined in this run (all rules)."""
        return sum(self.quarantined.values())

    def lines(self) -> list[str]:
        """A human summary: rows per table, then quarantined rows per rule."""
        out = [
            f"run {self.run_id} ({self.market.value}) in {(self.finished_at - self.started_at).total_seconds():.1f} s"
        ]
        out += [f"  loaded {table:<20} {n:>10,}" for table, n in self.loaded.items()]
        out.append(f"  quarantined {self.rows_quarantined:,} row(s)" + (":" if self.quarantined else ""))
        out += [f"    {rule:<28} {n:>8,}" for rule, n in self.quarantined.items()]
        return out


def new_run_id(started_at: datetime) -> str:
    """A readable, unique run id."""
    return f"{started_at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def publish(
    store: HistoricalStore, batch: Batch, *, window: DateWindow | None = None, run_id: str | None = None
) -> IngestReport:
    """Write ``batch`` (restricted to ``window`` if given) and its derived tables; log the run.

    Returns
    -------
    IngestReport
        Rows published per table and quarantined per rule.
    """
    started = batch.ingested_at or utc_now()
    run_id = run_id or new_run_id(started)
    derived = _derive(store, batch, window) if batch.derive_adjusted else {}
    part = batch.within(window) if window is not None else batch
    quarantine = _new_quarantine(store, part)
    loaded: dict[str, int] = {}
    for table, frame in (*part.tables.items(), *derived.items()):
        store.merge(table, frame)
        loaded[table.value] = frame.height
    store.merge(Table.QUARANTINE, quarantine)
    finished = utc_now()
    files = (*part.files, *(FileReport(DERIVED_SOURCE, t, f.height, f.height, 0) for t, f in derived.items()))
    store.merge(Table.INGESTION_LOG, _log_rows(batch.market, run_id, files, started, finished))
    return IngestReport(run_id, batch.market, started, finished, loaded, counts_by_rule(part.quarantine), files)


def log_failure(store: HistoricalStore, market: Market, source: str, message: str, started_at: datetime) -> None:
    """Record a run that loaded nothing (e.g. a file that cannot be parsed)."""
    row = FileReport(source, Table.INGESTION_LOG, 0, 0, 0)
    frame = _log_rows(market, new_run_id(started_at), (row,), started_at, utc_now())
    frame = frame.with_columns(pl.lit("").alias("table_name"), pl.lit(IngestionStatus.FAILED.value).alias("status"),
                               pl.lit(message).alias("message"))  # fmt: skip
    store.merge(Table.INGESTION_LOG, frame)


def _log_rows(
    market: Market, run_id: str, files: tuple[FileReport, ...], started: datetime, finished: datetime
) -> pl.DataFrame:
    rows = [
        {"market": market.value, "run_id": run_id, "source": f.source, "table_name": f.table.value,
         "rows_read": f.rows_read, "rows_loaded": f.rows_loaded, "rows_quarantined": f.rows_quarantined,
         "started_at": started, "finished_at": finished, "status": IngestionStatus.SUCCEEDED.value,
         "message": None}
        for f in files
    ]  # fmt: skip
    return pl.DataFrame(rows, schema=INGESTION_LOG.polars_schema)


def _new_quarantine(store: HistoricalStore, batch: Batch) -> pl.DataFrame:
    if batch.quarantine.is_empty():
        return batch.quarantine
    key = [k for k in QUARANTINE.key if k != "market"]
    old = store.read(Table.QUARANTINE, market=batch.market, columns=key)
    return batch.quarantine.join(old, on=key, how="anti", nulls_equal=True)


def _derive(store: HistoricalStore, batch: Batch, window: DateWindow | None) -> dict[Table, pl.DataFrame]:
    """``adjustment_factors`` and ``prices_adjusted`` of every symbol the batch touches, from its bars and actions
    plus those already stored (only the revisions known inside ``window`` when one is given)."""
    new_bars = batch.tables.get(Table.PRICES_DAILY)
    new_actions = batch.tables.get(Table.CORPORATE_ACTIONS, CORPORATE_ACTIONS.empty())
    if new_bars is None:
        return {}
    symbols = sorted(set(new_bars["symbol"].to_list()) | set(new_actions["symbol"].to_list()))
    where = None
    if len(symbols) <= _MAX_SYMBOL_FILTER:
        quoted = ", ".join("'" + s.replace("'", "''") + "'" for s in symbols) or "NULL"
        where = f"symbol IN ({quoted})"
    old_bars = store.read(Table.PRICES_DAILY, market=batch.market, where=where)
    old_bars = old_bars.sort("known_at").unique(["date", "symbol"], keep="last")
    bars = pl.concat([old_bars.join(new_bars, on=["date", "symbol"], how="anti"), new_bars])
    old_actions = store.read(Table.CORPORATE_ACTIONS, market=batch.market, where=where)
    key = list(CORPORATE_ACTIONS.key)
    actions = pl.concat([old_actions.join(new_actions, on=key, how="anti"), new_actions])
    if window is not None:
        lo, hi = window.instants(batch.market)
        bars, actions = bars.filter(pl.col("known_at") < hi), actions.filter(pl.col("known_at") < hi)
    adjusted = adjusted_revisions(bars, actions)
    factors = adjustment_factors(actions, bars)
    if window is not None:
        in_window = (pl.col("known_at") >= lo) & (pl.col("known_at") < hi)
        adjusted, factors = adjusted.filter(in_window), factors.filter(in_window)
    return {Table.ADJUSTMENT_FACTORS: factors, Table.PRICES_ADJUSTED: adjusted}
