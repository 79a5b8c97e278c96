"""TradingCalendar: sessions and market states on exchange_calendars (no hand-written holidays)."""

from prometheus.calendar.markets import MARKETS, MarketSpec
from prometheus.calendar.trading_calendar import (
    TradingCalendar,
    Transition,
    get_calendar,
    parse_market,
    sessions_schema,
)

__all__ = [
    "MARKETS",
    "MarketSpec",
    "TradingCalendar",
    "Transition",
    "get_calendar",
    "parse_market",
    "sessions_schema",
]
