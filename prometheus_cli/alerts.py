"""``prometheus alerts``: list the alerts of the runtime store (CSV) and acknowledge them."""

from __future__ import annotations

import csv
import getpass
import sys

import typer

from prometheus.calendar import parse_market
from prometheus.orchestration import acknowledge, list_alerts
from prometheus.runtime import RuntimeStore
from prometheus_cli._common import run, settings

app = typer.Typer(
    help="Alerts (failed runs, QC checks, kill switch, broker, Kronos): list them as CSV (newest first, --all, "
    "--market), acknowledge one (ack ID --by NAME).",
    no_args_is_help=True,
)

#: Columns of ``prometheus alerts list``.
LIST_COLUMNS = ("id", "ts", "severity", "source", "market", "message", "acknowledged_by", "acknowledged_at")


def _store() -> RuntimeStore:
    store = run(lambda: RuntimeStore(settings().effective_runtime_db_url))
    # Listing on a fresh data root must answer (with no alerts), not fail on a missing table: migrating is idempotent.
    run(store.upgrade)
    return store


def _who() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@app.command("list")
def list_command(
    all_: bool = typer.Option(False, "--all", help="Include acknowledged alerts."),
    market: str | None = typer.Option(None, "--market", help="Only this market's alerts (e.g. US_EQ)."),
) -> None:
    """Alerts as CSV, newest first: unacknowledged ones unless --all."""
    chosen = run(lambda: parse_market(market)) if market else None
    store = _store()
    try:
        alerts = run(lambda: list_alerts(store, include_acknowledged=all_, market=chosen))
    finally:
        store.close()
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(LIST_COLUMNS)
    for a in alerts:
        acknowledged_at = a.acknowledged_at.isoformat() if a.acknowledged_at else ""
        writer.writerow([a.id, a.ts.isoformat(), a.severity.value, a.source, a.market or "", a.message,
                         a.acknowledged_by or "", acknowledged_at])  # fmt: skip


@app.command("ack")
def ack(
    alert_id: int = typer.Argument(..., metavar="ID", help="The alert's id (first column of `alerts list`)."),
    by: str | None = typer.Option(None, "--by", help="Who acknowledges it (default: cli:<user>)."),
) -> None:
    """Acknowledge an alert; one already acknowledged keeps its first acknowledgement."""
    store = _store()
    try:
        alert = run(lambda: acknowledge(store, alert_id, by or _who()))
    finally:
        store.close()
    when = alert.acknowledged_at.isoformat() if alert.acknowledged_at else ""
    typer.echo(f"alert {alert.id}: acknowledged by {alert.acknowledged_by} at {when}")
