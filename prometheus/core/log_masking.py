"""Masking of secrets in log records: configured secrets, IB account ids and URL passwords never reach a log.

:class:`SecretMaskFilter` rewrites a record's message (and its formatted traceback) with every secret hidden.
:func:`install_log_masking` applies it to every record of our loggers (:data:`MASKED_LOGGERS`) when the record is
created, through the logging module's record factory: a filter attached to a logger sees only the records logged
on that very logger (not its children's), and one attached to a handler misses handlers added later (Dagster's,
a test's), so masking at creation is the one place no record escapes. The CLI installs it with the settings'
secrets (``prometheus_cli._common.settings``).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable

from prometheus.core.settings import MASK, mask_secrets

#: Logger namespaces whose records are masked: ours, and ib_async's (it logs whole orders, accounts included).
MASKED_LOGGERS = ("prometheus", "prometheus_cli", "prometheus_assets", "prometheus_resources", "ib_async")
#: What IB account ids look like: individual (U), paper (DU, DF), advisor / broker master (F, I) + digits.
ACCOUNT_ID = re.compile(r"\b(?:DU|DF|U|F|I)\d{4,}\b")
#: Shorter configured values are not masked: replacing "1" or "abc" everywhere would garble logs and hide nothing.
MIN_SECRET_LENGTH = 4


def mask_account_id(account: str) -> str:
    """An account id as logs show it: the mask and its last 3 characters (enough to tell accounts apart)."""
    return MASK + account[-3:]


def mask_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with each of ``secrets``, every IB account id and every URL password or secret parameter hidden."""
    for secret in sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True):
        text = text.replace(secret, mask_account_id(secret) if ACCOUNT_ID.fullmatch(secret) else MASK)
    return mask_secrets(ACCOUNT_ID.sub(lambda m: mask_account_id(m.group(0)), text))


class SecretMaskFilter(logging.Filter):
    """Rewrites a record's message and traceback text with :func:`mask_text`; never drops a record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: tuple[str, ...] = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask ``record`` in place."""
        text = record.getMessage()
        masked = mask_text(text, self.secrets)
        if masked != text:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when set: the traceback is masked once, here.
            record.exc_text = mask_text(logging.Formatter().formatException(record.exc_info), self.secrets)
        elif record.exc_text:
            record.exc_text = mask_text(record.exc_text, self.secrets)
        return True


_FILTER = SecretMaskFilter()
_lock = threading.Lock()
#: The record factory found when masking was installed (None while not installed).
_previous: Callable[..., logging.LogRecord] | None = None


def is_masked_logger(name: str | None) -> bool:
    """Whether records of the logger ``name`` are masked."""
    # Records built by hand (Dagster builds some) may carry no name.
    return isinstance(name, str) and any(name == ns or name.startswith(ns + ".") for ns in MASKED_LOGGERS)


def install_log_masking(secrets: Iterable[str | None] = ()) -> SecretMaskFilter:
    """Mask every record of :data:`MASKED_LOGGERS` from now on, with ``secrets`` (None entries ignored).

    Idempotent: a second call replaces the secrets (a process that reloads its settings) and installs nothing more.
    Returns the filter in use.
    """
    global _previous
    with _lock:
        _FILTER.secrets = tuple(s for s in secrets if s)
        if _previous is None:
            _previous = logging.getLogRecordFactory()
            logging.setLogRecordFactory(_masking_factory(_previous))
    return _FILTER


def remove_log_masking() -> None:
    """Undo :func:`install_log_masking` (tests); the record factory found then is restored."""
    global _previous
    with _lock:
        if _previous is not None:
            logging.setLogRecordFactory(_previous)
            _previous = None
        _FILTER.secrets = ()


def masked_secrets() -> tuple[str, ...]:
    """The secrets the installed masking hides (empty before :func:`install_log_masking`)."""
    return _FILTER.secrets


def _masking_factory(previous: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if is_masked_logger(record.name):
            _FILTER.filter(record)
        return record

    return factory
