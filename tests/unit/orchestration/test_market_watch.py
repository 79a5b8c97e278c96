"""MarketWatch: a day walked through a controllable clock gives each transition once, with its session, and asks
for the daily cycle at POST_CLOSE and the pre-open work at PRE_OPEN with stable run keys."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from prometheus.calendar import get_calendar
from prometheus.core.errors import ConfigError
from prometheus.core.types import Market, MarketState
from prometheus.orchestration import CycleKind, MarketWatch, Tick, WatchCursor, fallback_cron

# 2024-03-05 (a Tuesday) on NYSE: open 14:30 UTC, close 21:00 UTC (EST); windows of 60 minutes.
DAY = date(2024, 3, 5)


def _walk(watch: MarketWatch, start: datetime, hours: float, step: timedelta) -> list[Tick]:
    ticks, cursor, now = [], None, start
    while now <= start + timedelta(hours=hours):
        tick = watch.tick(now, cursor)
        ticks.append(tick)
        cursor = tick.cursor
        now += step
    return ticks


def test_tick_when_a_day_is_walked_observes_each_transition_once_with_its_session() -> None:
    watch = MarketWatch(get_calendar(), Market.US_EQ)
    ticks = _walk(watch, datetime(2024, 3, 5, 12, 0, tzinfo=UTC), 26, timedelta(minutes=15))
    seen = [(t.at, t.state, t.session) for tick in ticks for t in tick.transitions]
    assert seen == [
        (datetime(2024, 3, 4, 22, 0, tzinfo=UTC), MarketState.CLOSED, None),  # the state in force at the first tick
        (datetime(2024, 3, 5, 13, 30, tzinfo=UTC), MarketState.PRE_OPEN, DAY),
        (datetime(2024, 3, 5, 14, 30, tzinfo=UTC), MarketState.OPEN, DAY),
        (datetime(2024, 3, 5, 21, 0, tzinfo=UTC), MarketState.POST_CLOSE, DAY),
        (datetime(2024, 3, 5, 22, 0, tzinfo=UTC), MarketState.CLOSED, None),
        (datetime(2024, 3, 6, 13, 30, tzinfo=UTC), MarketState.PRE_OPEN, date(2024, 3, 6)),
    ]
    requested = [(tick.now, r.kind, r.run_key) for tick in ticks for r in tick.requests]
    assert requested == [
        (datetime(2024, 3, 5, 13, 30, tzinfo=UTC), CycleKind.PRE_OPEN, "US_EQ|2024-03-05|pre_open"),
        (datetime(2024, 3, 5, 21, 0, tzinfo=UTC), CycleKind.DAILY_CYCLE, "US_EQ|2024-03-05"),
        (datetime(2024, 3, 6, 13, 30, tzinfo=UTC), CycleKind.PRE_OPEN, "US_EQ|2024-03-06|pre_open"),
    ]
    assert all(not tick.missed for tick in ticks)
    assert ticks[-1].cursor == WatchCursor(ticks[-1].now)


def test_tick_when_repeated_at_the_same_instant_requests_nothing_new() -> None:
    watch = MarketWatch(get_calendar(), Market.US_EQ)
    at = datetime(2024, 3, 5, 21, 5, tzinfo=UTC)
    first = watch.tick(at, WatchCursor(at - timedelta(minutes=10)))
    again = watch.tick(at, first.cursor)
    assert [r.run_key for r in first.requests] == ["US_EQ|2024-03-05"]
    assert (again.transitions, again.requests, again.missed) == ((), (), ())


def test_tick_when_started_without_cursor_inside_post_close_asks_for_that_cycle_with_the_same_key() -> None:
    watch = MarketWatch(get_calendar(), Market.US_EQ)
    tick = watch.tick(datetime(2024, 3, 5, 21, 40, tzinfo=UTC), None)
    assert tick.state is MarketState.POST_CLOSE
    assert [(t.at, t.state) for t in tick.transitions] == [(datetime(2024, 3, 5, 21, 0, tzinfo=UTC),
                                                           MarketState.POST_CLOSE)]  # fmt: skip
    assert [r.run_key for r in tick.requests] == ["US_EQ|2024-03-05"]


def test_tick_when_the_watcher_was_down_for_days_runs_the_last_cycle_and_reports_the_rest_missed() -> None:
    watch = MarketWatch(get_calendar(), Market.US_EQ)
    # Down from Monday 12:00 UTC to Thursday 21:30 UTC: three closes and four pre-opens passed unwatched.
    tick = watch.tick(datetime(2024, 3, 7, 21, 30, tzinfo=UTC), WatchCursor(datetime(2024, 3, 4, 12, 0, tzinfo=UTC)))
    assert [r.run_key for r in tick.requests] == ["US_EQ|2024-03-07"]
    assert sorted(r.run_key for r in tick.missed) == sorted(
        [f"US_EQ|2024-03-0{d}" for d in (4, 5, 6)] + [f"US_EQ|2024-03-0{d}|pre_open" for d in (4, 5, 6, 7)]
    )
    assert len([t for t in tick.transitions if t.state is MarketState.POST_CLOSE]) == 4


def test_tick_when_holiday_weekend_has_no_session_and_the_cycle_is_the_session_before() -> None:
    watch = MarketWatch(get_calendar(), Market.US_EQ)
    # 2024-07-04 is Independence Day: the close on the 3rd is an early close (13:00 EDT = 17:00 UTC).
    ticks = _walk(watch, datetime(2024, 7, 3, 16, 0, tzinfo=UTC), 48, timedelta(minutes=30))
    keys = [r.run_key for tick in ticks for r in tick.requests]
    assert keys == ["US_EQ|2024-07-03", "US_EQ|2024-07-05|pre_open"]
    assert datetime(2024, 7, 3, 17, 0, tzinfo=UTC) in [t.at for tick in ticks for t in tick.transitions]


def test_tick_when_tokyo_breaks_for_lunch_records_break_with_the_session() -> None:
    watch = MarketWatch(get_calendar(), Market.JP_EQ)
    ticks = _walk(watch, datetime(2024, 3, 4, 23, 0, tzinfo=UTC), 8, timedelta(minutes=10))
    states = [(t.state, t.session) for tick in ticks for t in tick.transitions]
    day = date(2024, 3, 5)
    assert (MarketState.BREAK, day) in states
    assert states.count((MarketState.OPEN, day)) == 2  # morning and afternoon
    assert [r.run_key for tick in ticks for r in tick.requests] == ["JP_EQ|2024-03-05|pre_open", "JP_EQ|2024-03-05"]


def test_tick_when_futures_session_opens_the_evening_before_labels_it_with_the_next_day() -> None:
    watch = MarketWatch(get_calendar(), Market.US_FUT)
    # CME Globex: session 2024-03-06 opens 17:00 Chicago on the 5th (23:00 UTC), right after the close of the 5th.
    tick = watch.tick(datetime(2024, 3, 5, 23, 30, tzinfo=UTC), None)
    assert tick.state is MarketState.POST_CLOSE
    assert [r.run_key for r in tick.requests] == ["US_FUT|2024-03-05"]
    assert watch.session_opening_after(datetime(2024, 3, 5, 21, 0, tzinfo=UTC)) == date(2024, 3, 6)


@pytest.mark.parametrize(("market", "cron"), [(Market.US_EQ, "0 18 * * 1-5"), (Market.EU_EQ, "30 19 * * 1-5"),
                                              (Market.JP_EQ, "0 17 * * 1-5")])  # fmt: skip
def test_fallback_cron_when_built_is_the_usual_close_plus_the_delay(market: Market, cron: str) -> None:
    assert fallback_cron(get_calendar(), market, timedelta(hours=2), date(2024, 3, 5)) == cron


def test_fallback_cron_when_delay_passes_midnight_is_refused() -> None:
    with pytest.raises(ConfigError, match="past midnight"):
        fallback_cron(get_calendar(), Market.US_EQ, timedelta(hours=9), date(2024, 3, 5))


def test_cursor_when_round_tripped_is_equal_and_garbage_is_a_clear_error() -> None:
    cursor = WatchCursor(datetime(2024, 3, 5, 21, 0, tzinfo=UTC))
    assert WatchCursor.loads(cursor.dumps()) == cursor
    assert WatchCursor.loads(None) is None
    with pytest.raises(ConfigError, match="not a market-watch cursor"):
        WatchCursor.loads('{"at": 1}')
