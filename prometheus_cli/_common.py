"""Helpers shared by the CLI modules: settings loading (with log masking), error reporting and the parsers of date
options."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import TypeVar

import typer

from prometheus.core.errors import ConfigError, PrometheusError
from prometheus.core.log_masking import install_log_masking, mask_text, masked_secrets
from prometheus.core.settings import SECRET_FIELDS, Settings, env_name, load_settings
from prometheus.core.time import parse_date, parse_instant

T = TypeVar("T")


@contextmanager
def cli_errors() -> Iterator[None]:
    """Turn platform errors into a one-line message on stderr and exit code 2 (secrets, account ids and URL
    passwords masked)."""
    try:
        yield
    except PrometheusError as exc:
        typer.echo(f"error: {mask_text(str(exc), known_secrets())}", err=True)
        raise typer.Exit(code=2) from None


def known_secrets() -> list[str]:
    """The secrets to mask in what the CLI prints: the loaded settings', or their variables' raw values (settings
    that failed to load are still secret)."""
    return [*masked_secrets(), *(os.environ.get(env_name(name), "") for name in sorted(SECRET_FIELDS))]


def settings() -> Settings:
    """Load settings, reporting a bad setting as a CLI error; from then on every log record of our loggers has the
    settings' secrets (and any IB account id or URL password) masked."""
    with cli_errors():
        loaded = load_settings()
        install_log_masking(str(getattr(loaded, name) or "") for name in sorted(SECRET_FIELDS))
        return loaded
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


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) is this machine only: ``localhost`` or a loopback address."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # any other name may resolve to a reachable interface


def warn_unless_loopback(host: str, what: str, risk: str) -> None:
    """A warning on stderr when ``what`` binds or connects to ``host`` other than loopback."""
    if not is_loopback(host):
        typer.echo(f"warning: {what} on {host}, not loopback: {risk}", err=True)
