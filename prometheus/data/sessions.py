"""Publish a market's trading sessions (from the TradingCalendar) into the historical store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import polars as pl

from prometheus.calendar import TradingCalendar, parse_market
from prometheus.core.types import Market
from prometheus.data.schema import Table
from prometheus.data.store import HistoricalStore

#: Calendar rules are reference data known in advance; treating them as known from the epoch keeps every
#: TimeMachine view able to plan ahead. Ad-hoc closures announced days before are the known exception.
CALENDAR_KNOWN_AT = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SessionsPublished:
    """What one publication wrote."""

    sessions: int
    early_closes: int
    first: date | None
    last: date | None


def trading_sessions_frame(calendar: TradingCalendar, market: Market | str, start: date, end: date) -> pl.DataFrame:
    """Rows of the ``trading_sessions`` table for ``market`` between ``start`` and ``end`` inclusive."""
    m = parse_market(market)
    return (
        calendar.sessions_frame(m, start, end)
        .rename({"session": "date"})
        .with_columns(
            pl.lit(m.value).alias("market"),
            pl.lit(CALENDAR_KNOWN_AT).cast(pl.Datetime("us", "UTC")).alias("known_at"),
        )
        .select("market", "date", "open", "close", "break_start", "break_end", "known_at")
    )


def publish_trading_sessions(
    store: HistoricalStore, calendar: TradingCalendar, market: Market | str, start: date, end: date
) -> SessionsPublished:
    """Write the sessions of ``market`` in ``[start, end]``; re-publishing the same range changes nothing."""
    frame = trading_sessions_frame(calendar, market, start, end)
    if frame.is_empty():
        return SessionsPublished(0, 0, None, None)
    store.merge(Table.TRADING_SESSIONS, frame)
    early = calendar.exchange_calendar(market).early_closes
    early_set = {d.date() for d in early}
    dates = frame["date"].to_list()
    return SessionsPublished(len(dates), sum(d in early_set for d in dates), dates[0], dates[-1])
