"""When facts become known (ARCHITECTURE section 3): the ``known_at`` rules in one place.

- a daily bar of session d: the TradingCalendar close of d (UTC) plus ``bar_delay``;
- a news item: its publication time;
- a corporate action: its announcement time (adjusted prices at t use only actions known by t);
- reference rows without a time of their own: the time they were ingested.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

import polars as pl

from prometheus.calendar import TradingCalendar
from prometheus.core.types import Market


def bar_known_at(calendar: TradingCalendar, market: Market | str, session: date, bar_delay: timedelta) -> datetime:
    """UTC instant the daily bar of ``session`` becomes known."""
    return calendar.close_at(market, session) + bar_delay


def decision_times(
    calendar: TradingCalendar, market: Market | str, sessions: Sequence[date], bar_delay: timedelta
) -> tuple[datetime, ...]:
    """The decision time of each session: the instant its bar is known (close plus ``bar_delay``)."""
    return tuple(bar_known_at(calendar, market, d, bar_delay) for d in sessions)


def with_bar_known_at(
    frame: pl.DataFrame,
    calendar: TradingCalendar,
    market: Market | str,
    bar_delay: timedelta,
    *,
    date_column: str = "date",
) -> pl.DataFrame:
    """``frame`` with a ``known_at`` column = close of its ``date_column`` session + ``bar_delay``.

    Dates that are not sessions get a null ``known_at``; callers quarantine them before publishing.
    """
    if frame.is_empty():
        return frame.with_columns(pl.lit(None, dtype=pl.Datetime("us", "UTC")).alias("known_at"))
    dates = frame[date_column]
    closes = calendar.sessions_frame(market, dates.min(), dates.max()).select(
        pl.col("session").alias(date_column),
        (pl.col("close") + pl.duration(microseconds=int(bar_delay / timedelta(microseconds=1)))).alias("known_at"),
    )
    return frame.drop("known_at", strict=False).join(closes, on=date_column, how="left", maintain_order="left")
