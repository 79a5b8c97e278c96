"""Refit periods: blocks of whole calendar months in which one fitted model is in force (regime, assessment)."""

from __future__ import annotations

from datetime import date, timedelta


def period_of(session: date, months: int) -> tuple[date, date]:
    """The period (first day, last day) of ``months``-month blocks starting in January that holds ``session``."""
    first_month = (session.month - 1) // months * months + 1
    start = date(session.year, first_month, 1)
    end_month = first_month + months
    end = date(session.year + 1, 1, 1) if end_month > 12 else date(session.year, end_month, 1)
    return start, end - timedelta(days=1)


def periods_starting_in(first: date, last: date, months: int) -> list[tuple[date, date]]:
    """The periods whose first day lies in [``first``, ``last``] (a model partition's window)."""
    out, day = [], first
    while day <= last:
        period = period_of(day, months)
        if period[0] >= first:
            out.append(period)
        day = period[1] + timedelta(days=1)
    return out
