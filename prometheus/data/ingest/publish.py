"""Publishing a QC'd batch into the historical store, with the derived adjusted tables and the ingestion log.

One publication is one store transaction (``HistoricalStore.transaction``): it holds the writer locks of every table
it reads or writes, so concurrent publications queue instead of overwriting each other, and all its tables become
visible at one commit. Under the locks it first writes (visible at once) a row of the run to ``ingestion_log`` with
status ``incomplete`` and what to re-run; the commit replaces that row by ``succeeded`` together with the data. A
writer killed before its commit leaves every table as it was and the log saying ``incomplete``; one killed during
the commit's renames leaves a journal that the next writer (or a reader) finishes.

Nothing stored is replaced: the batch's rows are resolved against the stored revisions (``prometheus.data.revisions``)
so a re-delivery adds nothing, a new fact is added as delivered, and a changed value of a stored fact becomes a new
revision known at the batch's ingestion instant. Derived tables are recomputed from every revision (``adjust``) and
upserted by key. Publishing the same batch again changes no table except ``ingestion_log``; a row already in
quarantine for the same delivery keeps its first ``ingested_at``.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import polars as pl

from prometheus.core.time import to_utc, utc_now
from prometheus.core.types import Market
from prometheus.data.ingest.adjust import adjusted_revisions, adjustment_factors
from prometheus.data.ingest.batch import Batch, DateWindow, FileReport
from prometheus.data.ingest.rules import counts_by_rule
from prometheus.data.revisions import Revisions
from prometheus.data.schema import CORPORATE_ACTIONS, INGESTION_LOG, QUARANTINE, IngestionStatus, Table, schema_of
from prometheus.data.store import HistoricalStore, StoreTransaction

#: Source name of the derived tables in ``ingestion_log``.
DERIVED_SOURCE = "derived"
#: ``ingestion_log.table_name`` of the row that stands for a whole run.
RUN_ROW = ""
#: Hex digits of a delivery's content hash (64 bits: collisions are not a concern at any realistic volume).
DIGEST_CHARS = 16
#: Above this many symbols the store is read for the whole market rather than filtered by symbol.
_MAX_SYMBOL_FILTER = 2000
_DERIVATION_TABLES = (Table.PRICES_DAILY, Table.CORPORATE_ACTIONS, Table.ADJUSTMENT_FACTORS, Table.PRICES_ADJUSTED)


@dataclass(frozen=True)
class IngestReport:
    """What one ingestion published.

    ``loaded``: rows written per table (new facts and new revisions; derived tables: rows derived); ``revised``:
    of those, the corrections of stored facts (new revisions known at ``started_at``); ``unchanged``: rows
    delivered again as stored (nothing written); ``quarantined``: rows rejected per rule.
    """

    run_id: str
    market: Market
    started_at: datetime
    finished_at: datetime
    loaded: dict[str, int]
    quarantined: dict[str, int]
    files: tuple[FileReport, ...] = ()
    revised: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    delivery: str = ""

    @property
    def rows_quarantined(self) -> int:
        """Rows quarantined in this run (all rules)."""
        return sum(self.quarantined.values())

    def lines(self) -> list[str]:
        """A human summary: rows per table, revisions, then quarantined rows per rule."""
        out = [
            f"run {self.run_id} ({self.market.value}) in {(self.finished_at - self.started_at).total_seconds():.1f} s"
        ]
        out += [f"  loaded {table:<20} {n:>10,}" for table, n in self.loaded.items()]
        out += [f"  revised {table:<19} {n:>10,} (known at {self.started_at:%Y-%m-%dT%H:%M:%SZ})"
                for table, n in self.revised.items() if n]  # fmt: skip
        if any(self.unchanged.values()):
            out.append(f"  unchanged (delivered again) {sum(self.unchanged.values()):>10,} row(s)")
        out.append(f"  quarantined {self.rows_quarantined:,} row(s)" + (":" if self.quarantined else ""))
        out += [f"    {rule:<28} {n:>8,}" for rule, n in self.quarantined.items()]
        return out


def new_run_id(started_at: datetime) -> str:
    """A readable, unique run id."""
    return f"{started_at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def publish(
    store: HistoricalStore,
    batch: Batch,
    *,
    window: DateWindow | None = None,
    run_id: str | None = None,
    delivery: str | None = None,
    rerun: str | None = None,
    source: str | None = None,
) -> IngestReport:
    """Write ``batch`` (restricted to ``window`` if given) and its derived tables in one transaction; log the run.

    Parameters
    ----------
    delivery
        Content hash of the delivery (see :func:`files_digest`); default: a hash of the batch's rows.
    rerun
        What to re-run if this publication does not finish, for the log (default: names the run's source).
    source
        The run's source in ``ingestion_log`` (e.g. the vendor folder); default: the folders of the batch's files.

    Returns
    -------
    IngestReport
        Rows published per table, revisions, and rows quarantined per rule.

    Raises
    ------
    StoreLockedError
        Another writer held a table for longer than the store's lock timeout; nothing was written.
    """
    started = to_utc(batch.ingested_at) if batch.ingested_at else utc_now()
    label = source or _sources(batch)
    run = _Run(batch.market, run_id or new_run_id(started), label, started, delivery or batch_digest(batch))
    with store.transaction(_tables(batch)) as tx:
        hint = rerun or f"the ingestion of {run.source}"
        store.merge(Table.INGESTION_LOG, run.row(IngestionStatus.INCOMPLETE, _incomplete(run, hint)))
        try:
            return _publish(store, tx, batch, window, run)
        except Exception as exc:
            # Staged writes are discarded on the way out; the log says why instead of "incomplete".
            store.merge(Table.INGESTION_LOG, run.row(IngestionStatus.FAILED, f"delivery {run.delivery}: {exc}"))
            raise


@dataclass(frozen=True)
class _Run:
    """Identity of one publication, for its ``ingestion_log`` rows."""

    market: Market
    run_id: str
    source: str
    started: datetime
    delivery: str

    def row(
        self,
        status: IngestionStatus,
        message: str,
        counts: tuple[int, int, int] = (0, 0, 0),
        finished: datetime | None = None,
    ) -> pl.DataFrame:
        read, loaded, quarantined = counts
        row = {"market": self.market.value, "run_id": self.run_id, "source": self.source, "table_name": RUN_ROW,
               "rows_read": read, "rows_loaded": loaded, "rows_quarantined": quarantined, "started_at": self.started,
               "finished_at": finished or utc_now(), "status": status.value, "message": message}  # fmt: skip
        return pl.DataFrame([row], schema=INGESTION_LOG.polars_schema)


def _incomplete(run: _Run, hint: str) -> str:
    return (
        f"delivery {run.delivery}: the publication started and did not finish (its writer stopped before the "
        f"commit); re-run {hint}: publishing is idempotent"
    )


def _publish(
    store: HistoricalStore, tx: StoreTransaction, batch: Batch, window: DateWindow | None, run: _Run
) -> IngestReport:
    resolved, revisions = _resolve(store, batch, run.started)
    part = resolved.within(window) if window is not None else resolved
    accepted = batch.within(window) if window is not None else batch
    derived = _derive(store, batch, resolved, window) if batch.derive_adjusted else {}
    loaded: dict[str, int] = {}
    for table, frame in (*part.tables.items(), *derived.items()):
        tx.merge(table, frame)
        loaded[table.value] = frame.height
    tx.merge(Table.QUARANTINE, _new_quarantine(store, accepted, run.delivery))
    finished = utc_now()
    files = (*accepted.files, *(FileReport(DERIVED_SOURCE, t, f.height, f.height, 0) for t, f in derived.items()))
    revised = {t.value: r.revised for t, r in revisions.items()}
    unchanged = {t.value: r.unchanged for t, r in revisions.items()}
    summary = (
        f"delivery {run.delivery}: {sum(loaded.values()):,} row(s) written, {sum(revised.values()):,} of them "
        f"revisions known at {run.started:%Y-%m-%dT%H:%M:%S.%fZ}; {sum(unchanged.values()):,} unchanged"
    )
    counts = (sum(f.rows_read for f in accepted.files), sum(loaded.values()), accepted.quarantine.height)
    log = pl.concat([_log_rows(run, files, finished), run.row(IngestionStatus.SUCCEEDED, summary, counts, finished)])
    tx.merge(Table.INGESTION_LOG, log)
    quarantined = counts_by_rule(accepted.quarantine)
    return IngestReport(run.run_id, batch.market, run.started, finished, loaded, quarantined, files, revised,
                        unchanged, run.delivery)  # fmt: skip


def log_failure(store: HistoricalStore, market: Market, source: str, message: str, started_at: datetime) -> None:
    """Record a run that loaded nothing (e.g. a file that cannot be parsed)."""
    run = _Run(market, new_run_id(started_at), source, started_at, "")
    store.merge(Table.INGESTION_LOG, run.row(IngestionStatus.FAILED, message))


def incomplete_runs(store: HistoricalStore, market: Market | None = None) -> pl.DataFrame:
    """Runs logged ``incomplete`` with no later successful run of the same source: what still needs re-running.

    Columns ``market, run_id, source, started_at, message`` (the message names what to re-run).
    """
    log = store.read(Table.INGESTION_LOG, market=market).filter(pl.col("table_name") == RUN_ROW)
    done = (
        log.filter(pl.col("status") == IngestionStatus.SUCCEEDED.value)
        .group_by("market", "source")
        .agg(pl.col("started_at").max().alias("_done"))
    )
    pending = log.filter(pl.col("status") == IngestionStatus.INCOMPLETE.value).join(
        done, on=["market", "source"], how="left"
    )
    later = pl.col("_done").is_null() | (pl.col("_done") < pl.col("started_at"))
    return pending.filter(later).select("market", "run_id", "source", "started_at", "message").sort("started_at")


def files_digest(paths: Iterable[Path]) -> str:
    """Content hash of a delivery's files (names and bytes, in name order): the same files give the same hash."""
    digest = hashlib.sha256()
    for path in sorted(Path(p) for p in paths):
        digest.update(path.name.encode() + b"\0")
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()[:DIGEST_CHARS]


def batch_digest(batch: Batch) -> str:
    """Content hash of a batch's rows (tables and quarantined values), for sources without files."""
    digest = hashlib.sha256()
    frames = [(t.value, f) for t, f in sorted(batch.tables.items())]
    frames.append(("quarantine", batch.quarantine.drop("ingested_at", "delivery", strict=False)))
    for name, frame in frames:
        buffer = io.BytesIO()
        frame.write_ipc(buffer, compression="uncompressed")
        digest.update(name.encode() + b"\0" + buffer.getvalue())
    return digest.hexdigest()[:DIGEST_CHARS]


def _sources(batch: Batch) -> str:
    folders = sorted({f.source.split("/", 1)[0] for f in batch.files})
    return ",".join(folders) or batch.market.value


def _tables(batch: Batch) -> set[Table]:
    """Every table the publication reads to resolve or derive, or writes: its locks are held until the commit."""
    tables = {*batch.tables, Table.QUARANTINE, Table.INGESTION_LOG}
    if batch.derive_adjusted:
        tables.update(_DERIVATION_TABLES)
    return tables


def _resolve(store: HistoricalStore, batch: Batch, at: datetime) -> tuple[Batch, dict[Table, Revisions]]:
    """The batch reduced to the rows it adds: new facts, and corrections re-stamped as revisions known at ``at``."""
    tables: dict[Table, pl.DataFrame] = {}
    revisions: dict[Table, Revisions] = {}
    for table, frame in batch.tables.items():
        if schema_of(table).point_in_time:
            revisions[table] = store.resolve_revisions(table, frame, at=at)
            tables[table] = revisions[table].rows
        else:
            tables[table] = frame
    return replace(batch, tables=tables), revisions


def _log_rows(run: _Run, files: tuple[FileReport, ...], finished: datetime) -> pl.DataFrame:
    rows = [
        {"market": run.market.value, "run_id": run.run_id, "source": f.source, "table_name": f.table.value,
         "rows_read": f.rows_read, "rows_loaded": f.rows_loaded, "rows_quarantined": f.rows_quarantined,
         "started_at": run.started, "finished_at": finished, "status": IngestionStatus.SUCCEEDED.value,
         "message": None}
        for f in files
    ]  # fmt: skip
    return pl.DataFrame(rows, schema=INGESTION_LOG.polars_schema)


def _new_quarantine(store: HistoricalStore, batch: Batch, delivery: str) -> pl.DataFrame:
    rows = batch.quarantine.with_columns(pl.lit(delivery).alias("delivery")).select(QUARANTINE.names)
    if rows.is_empty():
        return rows
    key = [k for k in QUARANTINE.key if k != "market"]
    quoted = delivery.replace("'", "''")
    old = store.read(Table.QUARANTINE, market=batch.market, columns=key, where=f"delivery = '{quoted}'")
    return rows.join(old, on=key, how="anti", nulls_equal=True)


def _derive(
    store: HistoricalStore, batch: Batch, resolved: Batch, window: DateWindow | None
) -> dict[Table, pl.DataFrame]:
    """``adjustment_factors`` and ``prices_adjusted`` of every symbol the batch touches, from every stored revision
    of their bars and actions plus the rows the batch adds (only the revisions known inside ``window`` if given)."""
    new_bars = batch.tables.get(Table.PRICES_DAILY)
    new_actions = batch.tables.get(Table.CORPORATE_ACTIONS, CORPORATE_ACTIONS.empty())
    if new_bars is None:
        return {}
    symbols = sorted(set(new_bars["symbol"].to_list()) | set(new_actions["symbol"].to_list()))
    where = None
    if len(symbols) <= _MAX_SYMBOL_FILTER:
        quoted = ", ".join("'" + s.replace("'", "''") + "'" for s in symbols) or "NULL"
        where = f"symbol IN ({quoted})"
    # The resolved rows have keys the store lacks, so stored and added revisions never collide.
    bars = pl.concat([store.read(Table.PRICES_DAILY, market=batch.market, where=where),
                      resolved.tables[Table.PRICES_DAILY]])  # fmt: skip
    added_actions = resolved.tables.get(Table.CORPORATE_ACTIONS, CORPORATE_ACTIONS.empty())
    actions = pl.concat([store.read(Table.CORPORATE_ACTIONS, market=batch.market, where=where), added_actions])
    # Derived from every bar and action, then cut to the window: a revision known inside the window depends only on
    # inputs known by then, and deriving from the same inputs as a full publication keeps the two equal.
    adjusted = adjusted_revisions(bars, actions)
    factors = adjustment_factors(actions, bars)
    if window is not None:
        lo, hi = window.instants(batch.market)
        in_window = (pl.col("known_at") >= lo) & (pl.col("known_at") < hi)
        adjusted, factors = adjusted.filter(in_window), factors.filter(in_window)
    return {Table.ADJUSTMENT_FACTORS: factors, Table.PRICES_ADJUSTED: adjusted}
