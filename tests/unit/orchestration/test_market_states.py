"""market_states: each observed transition is stored once per (market, ts), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from prometheus.calendar import get_calendar
from prometheus.core.types import Market, MarketState
from prometheus.orchestration import MarketWatch, WatchCursor, list_transitions, record_transitions
from prometheus.runtime import RuntimeStore


def test_record_when_the_same_transitions_are_seen_twice_stores_them_once(store: RuntimeStore) -> None:
    watch = MarketWatch(get_calendar(), Market.US_EQ)
    at = datetime(2024, 3, 5, 21, 30, tzinfo=UTC)
    first = watch.tick(at, None)
    # A second sensor (or a restart without cursor) observes the same transition at another wall-clock instant.
    second = watch.tick(at + timedelta(minutes=20), None)
    assert record_transitions(store, first.transitions) == 1
    assert record_transitions(store, second.transitions) == 0
    rows = list_transitions(store, Market.US_EQ)
    assert [(r.market, r.ts, r.state, r.session) for r in rows] == [
        (Market.US_EQ, datetime(2024, 3, 5, 21, 0, tzinfo=UTC), MarketState.POST_CLOSE, date(2024, 3, 5))
    ]
    assert rows[0].recorded_at.tzinfo is not None


def test_list_when_filtered_by_market_and_since_returns_those_oldest_first(store: RuntimeStore) -> None:
    cal = get_calendar()
    for market in (Market.US_EQ, Market.EU_EQ):
        watch = MarketWatch(cal, market)
        tick = watch.tick(datetime(2024, 3, 6, 0, 0, tzinfo=UTC), WatchCursor(datetime(2024, 3, 5, 0, 0, tzinfo=UTC)))
        record_transitions(store, tick.transitions)
    eu = list_transitions(store, Market.EU_EQ)
    assert [r.state for r in eu] == [MarketState.PRE_OPEN, MarketState.OPEN, MarketState.POST_CLOSE,
                                     MarketState.CLOSED]  # fmt: skip
    assert [r.ts for r in eu] == sorted(r.ts for r in eu)
    late = list_transitions(store, since=datetime(2024, 3, 5, 21, 0, tzinfo=UTC))
    assert {(r.market, r.state) for r in late} == {(Market.US_EQ, MarketState.POST_CLOSE),
                                                   (Market.US_EQ, MarketState.CLOSED)}  # fmt: skip
