"""Closed sets used across the platform, as StrEnums (never bare strings)."""

from __future__ import annotations

from enum import StrEnum


class Mode(StrEnum):
    """Which broker and clock the platform runs with."""

    BACKTEST = "BACKTEST"
    PAPER = "PAPER"
    LIVE = "LIVE"


class Market(StrEnum):
    """Markets the TradingCalendar knows; each maps to one exchange_calendars calendar."""

    US_EQ = "US_EQ"
    US_FUT = "US_FUT"
    EU_EQ = "EU_EQ"
    JP_EQ = "JP_EQ"
    FX_GLOB = "FX_GLOB"


class MarketState(StrEnum):
    """State of a market at an instant (see prometheus.calendar for the precedence rules)."""

    PRE_OPEN = "PRE_OPEN"
    OPEN = "OPEN"
    BREAK = "BREAK"
    POST_CLOSE = "POST_CLOSE"
    CLOSED = "CLOSED"
