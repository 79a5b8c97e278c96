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

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import dagster as dg

from prometheus.calendar import get_calendar, parse_market
from prometheus.core.types import Market, Mode

#: First partition of every market unless settings say otherwise (``PROMETHEUS_HISTORY_START``).
DEFAULT_HISTORY_START = date(2014, 1, 1)
#: Dagster run tag that names the experiment of a run.
EXPERIMENT_TAG = "prometheus/experiment"
#: Weekends, as a cron string matching the start of a daily partition.
WEEKEND_CRON = "0 0 * * 0,6"

#: The concurrency pool of the steps that write the Parquet lake. The store's per-table writer lock is ``flock``,
#: local to one machine; on several machines this pool (one slot, docs/dagster/dagster.distributed.yaml) is the
#: guard. One pool for every lake writer rather than one per table: an op has one pool but the ingestion op writes a
#: dozen tables, and lake writes are seconds next to the engines, which write the runtime store.
LAKE_POOL = "prometheus_lake"


@lru_cache(maxsize=32)
def partitions_for(
    market: Market | str, mode: Mode, start: date = DEFAULT_HISTORY_START
) -> dg.TimeWindowPartitionsDefinition:
    """Time partitions of ``market``'s assets in ``mode``, from ``start`` (the first month or session)."""
    m = parse_market(market)
    cal = get_calendar()
    tz = str(cal.tz(m))
    if mode is Mode.BACKTEST:
        first = start.replace(day=1)
        return dg.MonthlyPartitionsDefinition(start_date=first.isoformat(), timezone=tz, end_offset=1)
    return dg.DailyPartitionsDefinition(
        start_date=start.isoformat(),
        timezone=tz,
        end_offset=1,
        exclusions=[WEEKEND_CRON, *holiday_datetimes(m, start)],
    )


@lru_cache(maxsize=64)
def period_partitions(market: Market, start: date, months: int) -> dg.TimeWindowPartitionsDefinition:
    """Model partitions: one per ``months``-month period (12: years, 3: quarters, 1: months) from ``start``.

    A model partition serves its period and is trained on the history known before it.
    """
    if months not in (1, 3, 6, 12):
        raise ValueError(f"model periods must divide a year into whole months, got {months}")
    starts = ",".join(str(m) for m in range(1, 13, months))
    first = date(start.year, 1 + ((start.month - 1) // months) * months, 1)
    fmt = "%Y" if months == 12 else "%Y-%m-%d"
    return dg.TimeWindowPartitionsDefinition(
        cron_schedule=f"0 0 1 {starts} *", fmt=fmt, start=first.strftime(fmt),
        timezone=str(get_calendar().tz(market)), end_offset=1,
    )  # fmt: skip


@dataclass(frozen=True)
class MarketScope:
    """One market's assets in one mode: key prefix, asset group and partitions from the history start."""

    market: Market
    mode: Mode
    start: date = DEFAULT_HISTORY_START

    @property
    def prefix(self) -> str:
        """Key prefix and asset group: the market in lower case (``us_eq``)."""
        return self.market.value.lower()

    def key(self, name: str) -> dg.AssetKey:
        """``<prefix>/<name>``."""
        return dg.AssetKey([self.prefix, name])

    @property
    def partitions(self) -> dg.TimeWindowPartitionsDefinition:
        """The market's time partitions in this mode (``partitions_for``)."""
        return partitions_for(self.market, self.mode, self.start)

    def periods(self, months: int) -> dg.TimeWindowPartitionsDefinition:
        """Model partitions of ``months``-month periods (``period_partitions``)."""
        return period_partitions(self.market, self.start, months)

    def tags(self, layer: str) -> dict[str, str]:
        """Tags of an asset of ``layer`` (ingestion, calendar, encoders, engines ...): layers are tags, the group is
        the market."""
        return {"prometheus/layer": layer, "prometheus/market": self.market.value}


def holiday_datetimes(market: Market, first: date = DEFAULT_HISTORY_START) -> list[datetime]:
    """Weekdays from ``first`` that are not sessions of ``market``, as midnights in the market's time zone."""
    cal = get_calendar()
    tz = cal.tz(market)
    xcal = cal.exchange_calendar(market)
    start = max(first, xcal.first_session.date())
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
