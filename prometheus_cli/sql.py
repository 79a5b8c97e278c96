"""``prometheus sql``: read-only SQL against the historical catalog (DuckDB) or the runtime store, as CSV."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from typing import Any

import typer

from prometheus.data.store import HistoricalStore
from prometheus_cli._common import instant_option, run, settings

HELP = (
    "Read-only SQL on the historical catalog, optionally as known at --as-of (or on the runtime store with "
    "--runtime), printed as CSV."
)

app = typer.Typer(help=HELP, add_completion=False)


@app.command("sql", short_help=HELP)
def sql(
    query: str = typer.Argument(..., help="One SELECT / WITH / DESCRIBE / SHOW / SUMMARIZE / EXPLAIN query."),
    runtime: bool = typer.Option(False, "--runtime", help="Query the runtime store instead of the lake."),
    as_of: datetime | None = typer.Option(
        None,
        "--as-of",
        parser=instant_option,
        metavar="T",
        help="Query the lake as known at T: ISO timestamp (UTC when no offset) or date (00:00 UTC).",
    ),
) -> None:
    """Run one read-only SQL QUERY and print the result as CSV with a header row.

    Without --runtime the query runs on the historical catalog: DuckDB views
    over the Parquet lake, one per table (prices_daily, prices_adjusted,
    instruments, corporate_actions, news, quarantine, ...) holding every
    revision of every row, plus <table>_latest for each table with known_at:
    the latest revision of each key (prices_adjusted_latest holds the
    adjusted bars as last revised).

    With --as-of T the whole catalog is as known at T: every table with
    known_at keeps only its rows with known_at <= T, and its _latest view
    resolves revisions among those, as the TimeMachine at T does. quarantine
    and ingestion_log have no known_at and are unchanged. T is an ISO 8601
    timestamp, UTC when it has no offset (2024-01-03T21:00:00Z,
    2024-01-03T16:00-05:00), or a date (00:00 UTC that day).

    With --runtime the query runs on the runtime store (SQLite or
    PostgreSQL).

    Read-only by construction: the catalog's connection reads only the
    lake's files (no other file of the host, no network, no extension
    install or load, settings locked) and runs exactly one statement that
    DuckDB parses as a query; the runtime store is opened read-only (SQLite
    mode=ro) or queried in a READ ONLY transaction (PostgreSQL). Anything
    else (a write, COPY, ATTACH, INSTALL, PRAGMA, SET, several statements,
    a file outside the lake) is refused with exit code 2.
    """
    if runtime and as_of is not None:
        raise typer.BadParameter("applies to the historical catalog only, not with --runtime", param_hint="'--as-of'")
    s = settings()

    def go() -> None:
        # Read-only is enforced by the stores' connections (see their read-only query methods), not here.
        if runtime:
            # Imported here: the historical path must not pay for SQLAlchemy and the migrations.
            from prometheus.runtime.store import RuntimeStore

            store = RuntimeStore(s.effective_runtime_db_url)
            try:
                columns, rows = store.read_only_query(query)
            finally:
                store.close()
        else:
            frame = HistoricalStore(s.lake_path).query(query, as_of=as_of)
            columns, rows = frame.columns, frame.iter_rows()
        write_csv(columns, rows)

    run(go)


def write_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Write a header row and ``rows`` to stdout as CSV (nulls empty, times in ISO 8601)."""
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(v) for v in row])


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)
