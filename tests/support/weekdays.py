"""Weekday dates for tests of code that needs consecutive sessions but no exchange calendar."""

from __future__ import annotations

from datetime import date, timedelta


def weekdays(n: int, start: date = date(2020, 1, 1)) -> list[date]:
    """The first ``n`` Mondays-to-Fridays from ``start`` (inclusive)."""
    out, d = [], start
    while len(out) < n:
        if d.weekday() < 5:
            out.append(d)
        d += timedelta(days=1)
    return out
