"""TradingCalendar on real dates: holidays, early closes, DST, lunch breaks and the FX week."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from prometheus.calendar import TradingCalendar, get_calendar
from prometheus.core.errors import ConfigError
from prometheus.core.types import Market, MarketState

NY = "America/New_York"


@pytest.fixture(scope="module")
def cal() -> TradingCalendar:
    return get_calendar()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_is_session_when_independence_day_2024_closed(cal: TradingCalendar) -> None:
    assert not cal.is_session("US_EQ", "2024-07-04")
    assert cal.is_session("US_EQ", "2024-07-05")
    assert cal.state("US_EQ", utc(2024, 7, 4, 15)) is MarketState.CLOSED


def test_close_when_black_friday_2024_early_closes(cal: TradingCalendar) -> None:
    # XNYS closes at 13:00 New York, CME at 12:00 Chicago; both are 18:00 UTC.
    nyse = cal.close_at("US_EQ", "2024-11-29")
    cme = cal.close_at("US_FUT", "2024-11-29")
    assert nyse.astimezone(cal.tz("US_EQ")).hour == 13
    assert cme.astimezone(cal.tz("US_FUT")).hour == 12
    assert cal.state("US_EQ", utc(2024, 11, 29, 18, 30)) is MarketState.POST_CLOSE
    assert cal.close_at("US_EQ", "2024-11-27").astimezone(cal.tz("US_EQ")).hour == 16


def test_open_when_us_changed_clocks_and_europe_not(cal: TradingCalendar) -> None:
    # 2024-03-11: New York is on EDT (UTC-4), Frankfurt still on CET (UTC+1) until 2024-03-31.
    assert cal.open_at("US_EQ", "2024-03-11") == utc(2024, 3, 11, 13, 30)
    assert cal.open_at("US_EQ", "2024-03-08") == utc(2024, 3, 8, 14, 30)
    assert cal.open_at("EU_EQ", "2024-03-11") == utc(2024, 3, 11, 8, 0)
    assert cal.close_at("EU_EQ", "2024-03-11") == utc(2024, 3, 11, 16, 30)
    # At 13:45 UTC New York is open (it would not be in winter) while Xetra is open too.
    assert cal.state("US_EQ", utc(2024, 3, 11, 13, 45)) is MarketState.OPEN
    assert cal.state("US_EQ", utc(2024, 3, 8, 13, 45)) is MarketState.PRE_OPEN


@pytest.mark.parametrize(("year", "closed"), [(2021, False), (2022, True), (2023, True), (2024, True)])
def test_is_session_when_juneteenth_closed_from_2022(cal: TradingCalendar, year: int, closed: bool) -> None:
    day = date(year, 6, 19)
    if day.weekday() >= 5:  # observed on the nearest weekday
        day = day + timedelta(days=1) if day.weekday() == 6 else day - timedelta(days=1)
    assert cal.is_session("US_EQ", day) is not closed


def test_state_when_tokyo_holiday_closed(cal: TradingCalendar) -> None:
    # 2024-11-04: Culture Day observed (substitute holiday).
    assert not cal.is_session("JP_EQ", "2024-11-04")
    assert cal.state("JP_EQ", utc(2024, 11, 4, 1)) is MarketState.CLOSED


def test_state_when_tokyo_lunch_break(cal: TradingCalendar) -> None:
    assert cal.state("JP_EQ", utc(2024, 11, 29, 2, 0)) is MarketState.OPEN  # 11:00 Tokyo
    assert cal.state("JP_EQ", utc(2024, 11, 29, 3, 0)) is MarketState.BREAK  # 12:00 Tokyo
    nxt = cal.next_transition("JP_EQ", utc(2024, 11, 29, 3, 0))
    assert nxt.state is MarketState.OPEN
    assert nxt.at == utc(2024, 11, 29, 3, 30)  # 12:30 Tokyo


def test_state_when_fx_weekend_closed_until_sunday_evening(cal: TradingCalendar) -> None:
    saturday = utc(2024, 11, 30, 12)
    assert cal.state("FX_GLOB", saturday) is MarketState.CLOSED
    nxt = cal.next_transition("FX_GLOB", saturday)
    assert nxt.state is MarketState.PRE_OPEN
    assert nxt.at == utc(2024, 12, 1, 21)  # Sunday 16:00 New York, an hour before the 17:00 open
    assert cal.state("FX_GLOB", utc(2024, 12, 1, 22, 30)) is MarketState.OPEN
    assert cal.open_at("FX_GLOB", "2024-12-02") == utc(2024, 12, 1, 22)


def test_state_when_fx_weekday_close_is_next_open_post_close_wins(cal: TradingCalendar) -> None:
    # Tuesday 17:00 New York closes Tuesday's session and opens Wednesday's.
    assert cal.close_at("FX_GLOB", "2024-11-26") == cal.open_at("FX_GLOB", "2024-11-27")
    assert cal.state("FX_GLOB", utc(2024, 11, 26, 22, 30)) is MarketState.POST_CLOSE
    assert cal.state("FX_GLOB", utc(2024, 11, 26, 23, 30)) is MarketState.OPEN
    assert cal.state("FX_GLOB", utc(2024, 11, 26, 21, 59)) is MarketState.OPEN


def test_state_when_cme_close_is_next_open(cal: TradingCalendar) -> None:
    # CME Globex 17:00-17:00 Chicago: Wednesday 2024-11-27 17:00 Chicago = 23:00 UTC.
    assert cal.close_at("US_FUT", "2024-11-27") == utc(2024, 11, 27, 23)
    assert cal.state("US_FUT", utc(2024, 11, 27, 23, 30)) is MarketState.POST_CLOSE
    nxt = cal.next_transition("US_FUT", utc(2024, 11, 27, 23, 30))
    # Thanksgiving's session has been trading since 17:00; after the window the market shows OPEN.
    assert nxt.at == utc(2024, 11, 28, 0)
    assert nxt.state is MarketState.OPEN
    assert cal.close_at("US_FUT", "2024-11-28").astimezone(cal.tz("US_FUT")).hour == 12


@pytest.mark.parametrize("market", list(Market))
def test_next_transition_when_walked_visits_a_consistent_cycle(cal: TradingCalendar, market: Market) -> None:
    ts = utc(2024, 11, 25, 0)
    seen = []
    for _ in range(12):
        nxt = cal.next_transition(market, ts)
        assert nxt.at > ts
        assert cal.state(market, nxt.at) is nxt.state
        assert cal.state(market, nxt.at - timedelta(microseconds=1)) is not nxt.state
        seen.append(nxt.state)
        ts = nxt.at
    assert MarketState.OPEN in seen
    assert MarketState.POST_CLOSE in seen


def test_state_when_windows_configured_changes_pre_open_length() -> None:
    wide = TradingCalendar(pre_open=timedelta(hours=3), post_close=timedelta(minutes=5))
    assert wide.state("US_EQ", utc(2024, 11, 27, 12)) is MarketState.PRE_OPEN
    assert get_calendar().state("US_EQ", utc(2024, 11, 27, 12)) is MarketState.CLOSED
    assert wide.state("US_EQ", utc(2024, 11, 27, 21, 10)) is MarketState.CLOSED


def test_sessions_frame_when_range_given_lists_sessions_with_utc_bounds(cal: TradingCalendar) -> None:
    frame = cal.sessions_frame("US_EQ", "2024-11-25", "2024-11-29")
    assert frame["session"].to_list() == [date(2024, 11, d) for d in (25, 26, 27, 29)]
    assert frame["close"].to_list()[-1] == utc(2024, 11, 29, 18)
    assert frame["break_start"].null_count() == 4
    assert cal.sessions("US_EQ", "2024-11-25", "2024-11-29") == frame["session"].to_list()


def test_market_when_unknown_is_a_config_error(cal: TradingCalendar) -> None:
    with pytest.raises(ConfigError, match="unknown market"):
        cal.state("MOON", utc(2024, 1, 2))


def test_open_at_when_not_a_session_is_an_error(cal: TradingCalendar) -> None:
    with pytest.raises(ConfigError, match="not a session"):
        cal.open_at("US_EQ", "2024-07-04")


def test_sessions_before_when_counting_back_skips_holidays_and_weekends() -> None:
    cal = get_calendar()
    # 2024-07-04 (Thursday) is a holiday: the three sessions before Monday 2024-07-08.
    assert cal.sessions_before("US_EQ", date(2024, 7, 8), 3) == [date(2024, 7, 2), date(2024, 7, 3), date(2024, 7, 5)]
    assert cal.sessions_before("US_EQ", date(2024, 7, 8), 2, inclusive=True) == [date(2024, 7, 5), date(2024, 7, 8)]
    assert cal.sessions_before("US_EQ", date(2024, 7, 8), 0) == []


def test_sessions_before_when_calendar_starts_later_returns_fewer() -> None:
    cal = get_calendar()
    first = cal.sessions("US_EQ", "1990-01-01", "2100-01-01")[0]
    assert cal.sessions_before("US_EQ", first, 10) == []
    assert len(cal.sessions_before("US_EQ", cal.next_session("US_EQ", first), 10)) == 1


def test_schedule_cache_when_read_back_gives_the_same_states_without_exchange_calendars(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import prometheus.calendar.trading_calendar as tc

    plain = TradingCalendar(start="2024-10-01")
    plain.state("JP_EQ", "2024-11-05T03:00Z")  # built from exchange_calendars
    TradingCalendar(start="2024-10-01", cache_dir=tmp_path).state("JP_EQ", "2024-11-05T03:00Z")  # writes the cache
    assert [p.name.startswith("JP_EQ_2024-10-01_") for p in tmp_path.iterdir()] == [True]

    def no_build(*args: object) -> None:
        raise AssertionError("the cache should have spared building the exchange calendar")

    monkeypatch.setattr(tc, "_exchange_calendar", no_build)
    cached = TradingCalendar(start="2024-10-01", cache_dir=tmp_path)
    t = datetime(2024, 11, 1, tzinfo=UTC)
    for _ in range(12):  # lunch breaks, closes, a holiday (2024-11-04): every transition equal
        assert cached.state("JP_EQ", t) == plain.state("JP_EQ", t)
        nxt = cached.next_transition("JP_EQ", t)
        assert nxt == plain.next_transition("JP_EQ", t)
        t = nxt.at
    assert cached.sessions("JP_EQ", "2024-11-01", "2024-11-08") == plain.sessions("JP_EQ", "2024-11-01", "2024-11-08")
    assert cached.previous_session("JP_EQ", date(2024, 11, 5)) == date(2024, 11, 1)
