"""``prometheus config``: the effective settings."""

from __future__ import annotations

import typer

from prometheus.cli._common import settings
from prometheus.core.settings import env_name

app = typer.Typer(help="Effective settings (from PROMETHEUS_* variables).", no_args_is_help=True)


@app.command("show")
def show() -> None:
    """Print every setting with its variable name and effective value; secrets are masked."""
    for name, value in settings().shown().items():
        typer.echo(f"{env_name(name)}={'' if value is None else value}")
