"""TradingCalendar: sessions and market states on exchange_calendars (no hand-written holidays)."""

from prometheus.calendar.markets import MARKETS, MarketSpec
from prometheus.calendar.trading_calendar import (
    SESSIONS_SCHEMA,
    TradingCalendar,
    Transition,
    get_calendar,
    parse_market,
)

__all__ = [
    "MARKETS",
    "SESSIONS_SCHEMA",
    "MarketSpec",
    "TradingCalendar",
    "Transition",
    "get_calendar",
    "parse_market",
]
