"""``prometheus sql``: read-only SQL against the historical catalog (DuckDB) or the runtime store, as CSV."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

import typer

from prometheus.cli._common import run, settings
from prometheus.data.store import HistoricalStore, ensure_read_only

HELP = (
    "Read-only SQL on the historical catalog, optionally as known at --as-of (or on the runtime store with "
    "--runtime), printed as CSV."
)

app = typer.Typer(help=HELP, add_completion=False)


def parse_as_of(text: str) -> datetime:
    """``--as-of``: an ISO 8601 timestamp (UTC when it has no offset) or a date (00:00 UTC), as aware UTC."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        # Strict ISO only: a lenient parser would turn typos into a silently different instant.
        raise typer.BadParameter(
            f"{text!r} is not an ISO 8601 date or timestamp (e.g. 2024-01-03, 2024-01-03T21:00:00Z, "
            "2024-01-03T16:00:00-05:00)"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@app.command("sql", short_help=HELP)
def sql(
    query: str = typer.Argument(..., help="One SELECT / WITH / DESCRIBE / SHOW / SUMMARIZE / EXPLAIN query."),
    runtime: bool = typer.Option(False, "--runtime", help="Query the runtime store instead of the lake."),
    as_of: datetime | None = typer.Option(
        None,
        "--as-of",
        parser=parse_as_of,
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
    PostgreSQL). A statement that could write is refused with exit code 2.
    """
    if runtime and as_of is not None:
        raise typer.BadParameter("applies to the historical catalog only, not with --runtime", param_hint="'--as-of'")
    s = settings()

    def go() -> None:
        # Checked here too so that a write is refused before any store is opened.
        text = ensure_read_only(query)
        if runtime:
            # Imported here: the historical path must not pay for SQLAlchemy and the migrations.
            from prometheus.runtime.store import RuntimeStore

            store = RuntimeStore(s.effective_runtime_db_url)
            try:
                columns, rows = store.read_only_query(text)
            finally:
                store.close()
        else:
            frame = HistoricalStore(s.lake_path).query(text, as_of=as_of)
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
