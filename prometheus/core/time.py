"""Time helpers: everything stored is timezone-aware UTC, and dates and instants are read in ISO 8601 only.

:func:`parse_date` and :func:`parse_instant` are the one strict reading of dates and timestamps written by people
(command-line options, settings). A lenient parser turns typos into other days without a word: pandas reads
``02-06-2017`` as 6 February (month first) and would read ``06-02-2017`` as 2 June.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from prometheus.core.errors import ConfigError

if TYPE_CHECKING:
    # For annotations only: importing pandas here would cost every command-line start-up half a second.
    import pandas as pd

#: How a date is written: ISO 8601 extended calendar date.
DATE_FORMAT = "YYYY-MM-DD"
# [0-9], not \d: \d also matches digits of other scripts, which fromisoformat would then read.
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# A date, optionally with a time (T or a space; minutes, seconds or fractions) and optionally a UTC offset.
_INSTANT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?(?:Z|[+-][0-9]{2}:[0-9]{2})?)?"
)
_DATE_EXAMPLE = "e.g. 2017-02-06"
_INSTANT_EXAMPLES = "e.g. 2024-01-03, 2024-01-03T21:00:00Z, 2024-01-03T16:00:00-05:00; no offset means UTC"


def utc_now() -> datetime:
    """The wall clock in UTC (the LIVE clock)."""
    return datetime.now(UTC)


def parse_date(text: str) -> date:
    """A calendar date written ``YYYY-MM-DD`` (ISO 8601), and nothing else.

    Raises
    ------
    ConfigError
        Any other form (``02-06-2017``, ``2017/02/06``, ``20170206``, ``2017-W06-1``) or a day that does not
        exist (``2017-13-01``, ``2017-02-30``); the message quotes the text and shows the expected form.
    """
    value = text.strip()
    if not _DATE.fullmatch(value):
        raise ConfigError(f"{text!r} is not a date written {DATE_FORMAT} (ISO 8601), {_DATE_EXAMPLE}")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(
            f"{text!r} is not a valid date ({exc}); write {DATE_FORMAT} (ISO 8601), {_DATE_EXAMPLE}"
        ) from None


def parse_instant(text: str) -> datetime:
    """An ISO 8601 timestamp (UTC when it has no offset) or a date (00:00 UTC that day), as aware UTC.

    Raises
    ------
    ConfigError
        Any other form, or a date or time that does not exist (``2024-01-04T25:00``); the message quotes the
        text and shows accepted forms.
    """
    value = text.strip()
    if not _INSTANT.fullmatch(value):
        raise ConfigError(f"{text!r} is not an ISO 8601 date or timestamp ({_INSTANT_EXAMPLES})")
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(f"{text!r} is not a valid ISO 8601 timestamp ({exc}; {_INSTANT_EXAMPLES})") from None
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def to_utc(ts: datetime | str | pd.Timestamp) -> datetime:
    """Convert to an aware UTC datetime; a naive input is taken as UTC, a string is read by :func:`parse_instant`.

    Raises
    ------
    ConfigError
        A string that is not ISO 8601.
    """
    if isinstance(ts, str):
        return parse_instant(ts)
    # A pandas Timestamp is a datetime; it comes back as a plain one (nanoseconds beyond microseconds dropped).
    stamp = ts.to_pydatetime() if hasattr(ts, "to_pydatetime") else ts
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def to_date(value: date | datetime | str | pd.Timestamp) -> date:
    """A calendar date from a date, a timestamp (no time zone conversion) or a ``YYYY-MM-DD`` string.

    Raises
    ------
    ConfigError
        A string that is not ``YYYY-MM-DD`` (see :func:`parse_date`).
    """
    if isinstance(value, str):
        return parse_date(value)
    # A pandas Timestamp is a datetime too.
    return value.date() if isinstance(value, datetime) else value
