"""Helpers shared by the CLI modules: settings loading, error reporting and the parsers of date options."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import TypeVar

import typer

from prometheus.core.errors import ConfigError, PrometheusError
from prometheus.core.settings import Settings, load_settings, mask_secrets
from prometheus.core.time import parse_date, parse_instant

T = TypeVar("T")


@contextmanager
def cli_errors() -> Iterator[None]:
    """Turn platform errors into a one-line message on stderr and exit code 2 (URL secrets masked)."""
    try:
        yield
    except PrometheusError as exc:
        typer.echo(f"error: {mask_secrets(str(exc))}", err=True)
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


def date_option(text: str) -> date:
    """``parser=`` of every date option: ``YYYY-MM-DD`` only (:func:`~prometheus.core.time.parse_date`).

    Anything else is a usage error: exit code 2 with ``Invalid value for '--start': '<text>' is not ...``.
    """
    try:
        return parse_date(text)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc)) from None


def instant_option(text: str) -> datetime:
    """``parser=`` of every timestamp option: ISO 8601, UTC when it has no offset, a date meaning 00:00 UTC."""
    try:
        return parse_instant(text)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc)) from None
