"""``prometheus sql``: read-only SQL against the historical catalog (DuckDB) or the runtime store, as CSV."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from typing import Any

import typer

from prometheus.cli._common import run, settings
from prometheus.data.store import HistoricalStore, ensure_read_only

HELP = "Read-only SQL on the historical catalog (or the runtime store with --runtime), printed as CSV."

app = typer.Typer(help=HELP, add_completion=False)


@app.command("sql", short_help=HELP)
def sql(
    query: str = typer.Argument(..., help="One SELECT / WITH / DESCRIBE / SHOW / SUMMARIZE / EXPLAIN query."),
    runtime: bool = typer.Option(False, "--runtime", help="Query the runtime store instead of the lake."),
) -> None:
    """Run one read-only SQL QUERY and print the result as CSV with a header row.

    Without --runtime the query runs on the historical catalog: DuckDB views over the Parquet lake, one per
    table (prices_daily, prices_adjusted, instruments, corporate_actions, news, quarantine, ...). With
    --runtime it runs on the runtime store (SQLite or PostgreSQL). A statement that could write is refused
    with exit code 2.
    """
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
            frame = HistoricalStore(s.lake_path).query(text)
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
