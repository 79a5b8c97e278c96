"""Input freshness: sessions decided from bars older than the staleness limit are found, fresh ones are not."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from prometheus.calendar import get_calendar
from prometheus.core.errors import ConfigError, LookAheadError
from prometheus.data.freshness import StaleSession, last_bar_date, stale_sessions
from prometheus.data.known_at import bar_known_at, with_bar_known_at
from prometheus.data.schema import Table, schema_of
from prometheus.data.timemachine import HistorySnapshot, TimeMachine

BAR_DELAY = timedelta(minutes=5)
CAL = get_calendar()
#: Twenty US sessions of March 2024; bars exist for the first ten only (through 2024-03-14).
SESSIONS = CAL.sessions("US_EQ", "2024-03-01", "2024-03-28")
DATA_END = 10


def _bars(sessions: list[date], *, delay: timedelta = BAR_DELAY) -> pl.DataFrame:
    rows = [
        {"market": "US_EQ", "date": d, "symbol": s, "open": 10.0, "high": 11.0, "low": 9.0, "close": 10.5,
         "volume": 1000.0, "total_return": 0.0}
        for d in sessions
        for s in ("AAA", "BBB")
    ]  # fmt: skip
    return with_bar_known_at(pl.DataFrame(rows), CAL, "US_EQ", delay)


def _view(bars: pl.DataFrame, until: date = SESSIONS[-1]) -> TimeMachine:
    as_of = bar_known_at(CAL, "US_EQ", until, BAR_DELAY)
    return TimeMachine(HistorySnapshot(as_of, {Table.PRICES_ADJUSTED: bars}), as_of)


def _stale(view: TimeMachine, sessions: list[date], limit: int) -> list[StaleSession]:
    return stale_sessions(view, CAL, "US_EQ", sessions, bar_delay=BAR_DELAY, max_lag_sessions=limit)


def test_last_bar_date_when_data_ends_early_is_the_last_bar() -> None:
    view = _view(_bars(SESSIONS[:DATA_END]))

    assert last_bar_date(view, "US_EQ") == SESSIONS[DATA_END - 1]
    assert last_bar_date(view, "JP_EQ") is None


@pytest.mark.parametrize("limit", [0, 1, 3])
def test_stale_sessions_when_run_past_the_end_of_data_flags_each_session_beyond_the_limit(limit: int) -> None:
    view = _view(_bars(SESSIONS[:DATA_END]))

    stale = _stale(view, SESSIONS, limit)

    assert [s.session for s in stale] == SESSIONS[DATA_END + limit :]
    assert {s.last_bar for s in stale} == {SESSIONS[DATA_END - 1]}
    assert [s.lag_sessions for s in stale] == list(range(limit + 1, len(SESSIONS) - DATA_END + 1))
    assert stale[0].decided_at == bar_known_at(CAL, "US_EQ", stale[0].session, BAR_DELAY)


def test_stale_sessions_when_every_bar_is_known_at_its_decision_time_is_empty() -> None:
    assert _stale(_view(_bars(SESSIONS)), SESSIONS, 0) == []


def test_stale_sessions_when_a_day_is_missing_in_the_middle_flags_only_that_day_at_limit_0() -> None:
    gap = SESSIONS[7]
    view = _view(_bars([d for d in SESSIONS if d != gap]))

    assert [(s.session, s.last_bar, s.lag_sessions) for s in _stale(view, SESSIONS, 0)] == [(gap, SESSIONS[6], 1)]
    assert _stale(view, SESSIONS, 1) == []


def test_stale_sessions_when_bars_arrive_after_the_decision_time_counts_them_as_missing_then() -> None:
    # Every bar known a day late: at each decision time only the previous session's bar exists.
    view = _view(_bars(SESSIONS[:-1], delay=BAR_DELAY + timedelta(days=1)), until=SESSIONS[-1])

    assert _stale(view, SESSIONS[1:-1], 1) == []
    assert [s.lag_sessions for s in _stale(view, SESSIONS[1:-1], 0)] == [1] * (len(SESSIONS) - 2)


def test_stale_sessions_when_latest_bars_were_all_revised_later_still_uses_the_first_revision() -> None:
    # A correction of the last day's bars, published after the run's end: the originals were on time.
    bars = _bars(SESSIONS)
    late = datetime(2024, 4, 2, tzinfo=UTC)
    corrected = bars.filter(pl.col("date") == SESSIONS[-1]).with_columns(close=pl.lit(10.6), known_at=pl.lit(late))
    view = TimeMachine(HistorySnapshot(late, {Table.PRICES_ADJUSTED: pl.concat([bars, corrected])}), late)

    assert _stale(view, SESSIONS, 0) == []


def test_stale_sessions_when_no_bar_at_all_flags_every_session_with_no_last_bar() -> None:
    view = _view(schema_of(Table.PRICES_ADJUSTED).empty())

    stale = _stale(view, SESSIONS[:3], 5)

    assert [(s.last_bar, s.lag_sessions) for s in stale] == [(None, None)] * 3
    assert "no bar known" in stale[0].describe()


def test_stale_sessions_when_session_decided_after_the_view_raises_look_ahead() -> None:
    view = _view(_bars(SESSIONS), until=SESSIONS[5])

    with pytest.raises(LookAheadError, match="decided after the view"):
        _stale(view, SESSIONS, 1)


def test_stale_sessions_when_limit_negative_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="max_lag_sessions"):
        _stale(_view(_bars(SESSIONS)), SESSIONS, -1)


def test_describe_when_bar_known_says_how_old() -> None:
    stale = StaleSession(date(2024, 3, 20), datetime(2024, 3, 20, 20, 5, tzinfo=UTC), date(2024, 3, 14), 4)

    assert stale.describe() == "2024-03-20: newest bar 2024-03-14, 4 session(s) old"
