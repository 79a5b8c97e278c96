"""``prometheus db``: migrations of the runtime store."""

from __future__ import annotations

import typer

from prometheus.runtime import RuntimeStore, head_revision, history
from prometheus_cli._common import run, settings

app = typer.Typer(help="Runtime store schema: upgrade, current revision, history.", no_args_is_help=True)


def _store() -> RuntimeStore:
    return run(lambda: RuntimeStore(settings().effective_runtime_db_url))


@app.command("upgrade")
def upgrade(
    revision: str = typer.Option("head", "--revision", "-r", help="Target revision (default: the newest)."),
) -> None:
    """Create or migrate the runtime store (PROMETHEUS_RUNTIME_DB_URL, default SQLite under the data root)."""
    store = _store()
    try:
        typer.echo(f"runtime store: {store.masked_url}")
        now = run(lambda: store.upgrade(revision))
        typer.echo(f"revision: {now} (head {head_revision()})")
    finally:
        store.close()


@app.command("current")
def current() -> None:
    """Print the revision the runtime store is at ('none' if it was never migrated)."""
    store = _store()
    try:
        now = run(store.current_revision)
        typer.echo(f"runtime store: {store.masked_url}")
        typer.echo(f"revision: {now or 'none'} (head {head_revision()})")
    finally:
        store.close()


@app.command("history")
def show_history() -> None:
    """List the migrations shipped with this version, newest first."""
    for rev in history():
        mark = " (head)" if rev.is_head else ""
        typer.echo(f"{rev.down_revision or 'base'} -> {rev.revision}{mark}: {rev.message}")
