"""Helpers shared by the CLI modules: settings loading and error reporting."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import typer

from prometheus.core.errors import PrometheusError
from prometheus.core.settings import Settings, load_settings

T = TypeVar("T")


@contextmanager
def cli_errors() -> Iterator[None]:
    """Turn platform errors into a one-line message on stderr and exit code 2."""
    try:
        yield
    except PrometheusError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None


def settings() -> Settings:
    """Load settings, reporting a bad setting as a CLI error."""
    with cli_errors():
        return load_settings()
    raise AssertionError("unreachable")  # pragma: no cover


def run(fn: Callable[[], T]) -> T:
    """Call ``fn`` with platform errors reported as CLI errors."""
    with cli_errors():
        return fn()
    raise AssertionError("unreachable")  # pragma: no cover
