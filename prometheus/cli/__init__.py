"""The ``prometheus`` command line. Each area's commands live in their own module of this package."""

from __future__ import annotations

import typer

from prometheus.cli import calendar as calendar_cli
from prometheus.cli import config as config_cli
from prometheus.cli import db as db_cli
from prometheus.cli import demo as demo_cli
from prometheus.cli import engines as engines_cli
from prometheus.cli import ingest as ingest_cli
from prometheus.cli import kill_switch as kill_switch_cli
from prometheus.cli import sql as sql_cli
from prometheus.cli import synth as synth_cli

app = typer.Typer(
    name="prometheus",
    help="Prometheus v2: point-in-time data, engines, backtests and execution.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(calendar_cli.app, name="calendar")
app.add_typer(config_cli.app, name="config")
app.add_typer(db_cli.app, name="db")
app.add_typer(ingest_cli.app, name="ingest")
app.add_typer(kill_switch_cli.app, name="kill-switch")
app.command("demo", help=demo_cli.HELP)(demo_cli.demo)
app.command("sql", short_help=sql_cli.HELP)(sql_cli.sql)
app.command("run-engines", help=engines_cli.HELP)(engines_cli.run_engines)
app.command("synth", help=synth_cli.HELP)(synth_cli.synth)


def main() -> None:
    """Console entry point."""
    app()
