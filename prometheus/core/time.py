"""Time helpers: everything stored is timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd


def utc_now() -> datetime:
    """The wall clock in UTC (the LIVE clock)."""
    return datetime.now(UTC)


def to_utc(ts: datetime | str | pd.Timestamp) -> datetime:
    """Parse or convert to an aware UTC datetime; a naive input is taken as UTC."""
    stamp = pd.Timestamp(ts)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.to_pydatetime()


def to_date(value: date | datetime | str | pd.Timestamp) -> date:
    """A calendar date from a date, ISO string or timestamp (no time zone conversion)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return pd.Timestamp(value).date()
