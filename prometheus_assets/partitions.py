"""The one place that decides how assets are partitioned in time (ARCHITECTURE section 5).

PAPER / LIVE: one partition per session of the market, a daily definition in the market's time zone with every
non-session day excluded (weekends by cron, holidays as datetimes from exchange_calendars) and ``end_offset=1`` so
that today's partition exists once the session is under way.

BACKTEST: one partition per calendar month. Dagster writes bookkeeping events per partition, which costs seconds
per thousand partitions on 2 cores; a ten-year backtest over ~15 asset layers at one partition per session would
spend more time in bookkeeping than in the engines. Asset code never assumes one session per partition: it walks
the sessions of ``context.partition_time_window`` in order, so the same code serves both modes.

Experiment is not a partition dimension: it is a column of every engine and execution table and a run tag.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache

import dagster as dg

from prometheus.calendar import get_calendar, parse_market
from prometheus.core.types import Market, Mode

#: First partition of every market. The reference index history starts in 1999.
PARTITIONS_START = date(2000, 1, 1)
#: Dagster run tag that names the experiment of a run.
EXPERIMENT_TAG = "prometheus/experiment"
#: Weekends, as a cron string matching the start of a daily partition.
WEEKEND_CRON = "0 0 * * 0,6"


@lru_cache(maxsize=32)
def partitions_for(market: Market | str, mode: Mode) -> dg.TimeWindowPartitionsDefinition:
    """Time partitions of ``market``'s assets in ``mode``."""
    m = parse_market(market)
    cal = get_calendar()
    tz = str(cal.tz(m))
    if mode is Mode.BACKTEST:
        return dg.MonthlyPartitionsDefinition(start_date=PARTITIONS_START.isoformat(), timezone=tz, end_offset=1)
    return dg.DailyPartitionsDefinition(
        start_date=PARTITIONS_START.isoformat(),
        timezone=tz,
        end_offset=1,
        exclusions=[WEEKEND_CRON, *holiday_datetimes(m)],
    )


def holiday_datetimes(market: Market) -> list[datetime]:
    """Weekdays that are not sessions of ``market``, as midnights in the market's time zone."""
    cal = get_calendar()
    tz = cal.tz(market)
    xcal = cal.exchange_calendar(market)
    start = max(PARTITIONS_START, xcal.first_session.date())
    end = xcal.last_session.date()
    sessions = set(cal.sessions(market, start, end))
    out: list[datetime] = []
    day = start
    while day <= end:
        if day.weekday() < 5 and day not in sessions:
            out.append(datetime.combine(day, time(0), tzinfo=tz))
        day += timedelta(days=1)
    return out


def sessions_in_window(market: Market | str, window: dg.TimeWindow) -> list[date]:
    """Sessions of ``market`` whose date lies in the partition window ``[start, end)``."""
    last = (window.end - timedelta(days=1)).date()
    if last < window.start.date():
        return []
    return get_calendar().sessions(market, window.start.date(), last)
