"""MarketWatch: what a market's sensor does on a tick, from the TradingCalendar and a clock, without Dagster.

A tick walks the calendar's transitions between the previous tick and now. Every transition walked is observed
(and recorded in ``market_states`` by the caller); entering POST_CLOSE asks for the daily cycle of the session
just closed, entering PRE_OPEN asks for the pre-open work (QC, orders for the open) of the session about to open.
Transition instants come from the calendar, never from the wall clock of the tick, so two sensors (or a restarted
one without its cursor) observe the same rows and ask with the same run keys.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from prometheus.calendar import TradingCalendar, Transition
from prometheus.core.errors import ConfigError
from prometheus.core.time import to_utc
from prometheus.core.types import Market, MarketState

#: A clock: returns the current instant, timezone-aware UTC (``prometheus.core.time.utc_now`` in production).
Clock = Callable[[], datetime]
#: A daemon down for longer than this does not replay the transitions it missed, one by one.
MAX_CATCH_UP = timedelta(days=10)
# How far back to look for the start of the state in force when there is no cursor: a long holiday weekend
# (Golden Week) keeps a market CLOSED for up to a week.
_STATE_START_LOOKBACK = (timedelta(days=2), timedelta(days=8), timedelta(days=16))


class CycleKind(StrEnum):
    """What a market-state transition asks the orchestrator to run."""

    DAILY_CYCLE = "daily_cycle"  # entering POST_CLOSE: ingest -> ... -> portfolio for the session just closed
    PRE_OPEN = "pre_open"  # entering PRE_OPEN: QC checks and the orders for the open


@dataclass(frozen=True, slots=True)
class ObservedTransition:
    """``market`` entered ``state`` at ``at`` (UTC); ``session`` is the session the state belongs to (None when
    CLOSED)."""

    market: Market
    at: datetime
    state: MarketState
    session: date | None


@dataclass(frozen=True, slots=True)
class CycleRequest:
    """A run the orchestrator asks for: ``kind`` for ``session`` of ``market``."""

    kind: CycleKind
    market: Market
    session: date

    @property
    def run_key(self) -> str:
        """``<market>|<session>`` for the daily cycle, ``<market>|<session>|pre_open`` for the pre-open work.

        Dagster launches at most one run per run key and sensor: a second tick asks again and gets nothing new.
        """
        base = cycle_key(self.market, self.session)
        return base if self.kind is CycleKind.DAILY_CYCLE else f"{base}|{self.kind.value}"


def cycle_key(market: Market, session: date) -> str:
    """``<market>|<session>`` (``US_EQ|2024-03-05``): the run key and tag of a session's daily cycle."""
    return f"{market.value}|{session.isoformat()}"


@dataclass(frozen=True, slots=True)
class WatchCursor:
    """What a sensor keeps between ticks: the instant up to which transitions have been observed, and the session
    whose daily cycle is held until the models of its period are materialised (``prometheus.orchestration.models``).
    """

    observed_to: datetime
    held: date | None = None

    def dumps(self) -> str:
        """JSON text (the Dagster sensor cursor); ``held`` only when a cycle is held."""
        out = {"observed_to": self.observed_to.isoformat()}
        if self.held is not None:
            out["held"] = self.held.isoformat()
        return json.dumps(out)

    @classmethod
    def loads(cls, text: str | None) -> WatchCursor | None:
        """The cursor of ``text`` (None for no cursor).

        Raises
        ------
        ConfigError
            ``text`` is not a cursor written by :meth:`dumps`.
        """
        if not text:
            return None
        try:
            data = json.loads(text)
            held = data.get("held")
            return cls(to_utc(data["observed_to"]), None if held is None else date.fromisoformat(held))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"not a market-watch cursor: {text!r} ({exc})", setting="cursor") from None


@dataclass(frozen=True, slots=True)
class Tick:
    """The outcome of one tick.

    ``requests`` are the runs to ask for now; ``missed`` are cycles whose window passed while nobody watched
    (older daily cycles after an outage, a pre-open already over): they are reported, not run, because a
    path-dependent cycle must not run out of order and orders for an open that has passed must not go out.
    """

    now: datetime
    state: MarketState
    transitions: tuple[ObservedTransition, ...]
    requests: tuple[CycleRequest, ...]
    missed: tuple[CycleRequest, ...]
    cursor: WatchCursor


class MarketWatch:
    """The state machine behind one market's sensor.

    Parameters
    ----------
    calendar
        The TradingCalendar (its PRE_OPEN and POST_CLOSE windows decide when the cycles start).
    market
        The market watched.
    max_catch_up
        Transitions older than this before ``now`` are not replayed after an outage.
    """

    def __init__(self, calendar: TradingCalendar, market: Market, max_catch_up: timedelta = MAX_CATCH_UP) -> None:
        self.calendar = calendar
        self.market = market
        self.max_catch_up = max_catch_up

    def tick(self, now: datetime, cursor: WatchCursor | None) -> Tick:
        """Observe the transitions after ``cursor`` up to ``now`` and decide which runs to ask for.

        Without a cursor (first tick) or with one ahead of ``now`` (a clock set back), only the transition into
        the state in force is observed, so a sensor started inside POST_CLOSE still asks for that cycle.
        """
        now = to_utc(now)
        state = self.calendar.state(self.market, now)
        if cursor is None or cursor.observed_to > now:
            start = self.state_start(now)
            walked = [] if start is None else self._walk(start - timedelta(microseconds=1), now)
        else:
            walked = self._walk(max(cursor.observed_to, now - self.max_catch_up), now)
        transitions = tuple(self._observed(t) for t in walked)
        requests, missed = self._decide(transitions, state)
        return Tick(now, state, transitions, requests, missed, WatchCursor(now))

    def state_start(self, now: datetime) -> datetime | None:
        """When the state in force at ``now`` began (None when no transition is found in the lookback)."""
        now = to_utc(now)
        for back in _STATE_START_LOOKBACK:
            walked = self._walk(now - back, now)
            if walked:
                return walked[-1].at
        return None

    def session_closed_by(self, ts: datetime) -> date:
        """The last session of the market whose close is at or before ``ts``."""
        ts = to_utc(ts)
        local = ts.astimezone(self.calendar.tz(self.market)).date()
        candidates = self.calendar.sessions_before(self.market, local + timedelta(days=1), 5, inclusive=True)
        closed = [s for s in candidates if self.calendar.close_at(self.market, s) <= ts]
        if not closed:
            return self.calendar.previous_session(self.market, candidates[0] if candidates else local)
        return closed[-1]

    def session_opening_after(self, ts: datetime) -> date:
        """The first session of the market whose open is after ``ts``."""
        ts = to_utc(ts)
        day = ts.astimezone(self.calendar.tz(self.market)).date() - timedelta(days=1)
        while True:
            day = self.calendar.next_session(self.market, day)
            if self.calendar.open_at(self.market, day) > ts:
                return day

    def _walk(self, after: datetime, until: datetime) -> list[Transition]:
        out: list[Transition] = []
        t = after
        while True:
            nxt = self.calendar.next_transition(self.market, t)
            if nxt.at > until:
                return out
            out.append(nxt)
            t = nxt.at

    def _observed(self, transition: Transition) -> ObservedTransition:
        at, state = transition.at, transition.state
        if state is MarketState.POST_CLOSE:
            session: date | None = self.session_closed_by(at)
        elif state is MarketState.PRE_OPEN:
            session = self.session_opening_after(at)
        elif state in (MarketState.OPEN, MarketState.BREAK):
            session = self._session_trading_at(at)
        else:
            session = None
        return ObservedTransition(self.market, at, state, session)

    def _session_trading_at(self, ts: datetime) -> date:
        # OPEN and BREAK lie between the open and the close of the last session opened at or before ts.
        local = ts.astimezone(self.calendar.tz(self.market)).date()
        candidates = self.calendar.sessions_before(self.market, local + timedelta(days=1), 3, inclusive=True)
        return [s for s in candidates if self.calendar.open_at(self.market, s) <= ts][-1]

    def _decide(
        self, transitions: tuple[ObservedTransition, ...], state: MarketState
    ) -> tuple[tuple[CycleRequest, ...], tuple[CycleRequest, ...]]:
        closes = [
            CycleRequest(CycleKind.DAILY_CYCLE, self.market, t.session)
            for t in transitions
            if t.state is MarketState.POST_CLOSE and t.session is not None
        ]
        opens = [
            CycleRequest(CycleKind.PRE_OPEN, self.market, t.session)
            for t in transitions
            if t.state is MarketState.PRE_OPEN and t.session is not None
        ]
        requests, missed = closes[-1:], closes[:-1]
        # Pre-open work is only worth doing before the open: QC after it is late and MOO orders would be refused.
        if opens and state is MarketState.PRE_OPEN:
            requests, missed = [*requests, opens[-1]], [*missed, *opens[:-1]]
        else:
            missed = [*missed, *opens]
        return tuple(requests), tuple(missed)


def fallback_cron(calendar: TradingCalendar, market: Market, delay: timedelta, around: date) -> str:
    """A weekday cron (market time zone) ``delay`` after the market's usual close, for the fallback schedule.

    The usual close is the most frequent local close time of the 20 sessions before ``around``; early closes
    only make the schedule later than it needs to be, which a fallback can afford.
    """
    tz = calendar.tz(market)
    sessions = calendar.sessions_before(market, around, 20)
    if not sessions:
        raise ConfigError(f"no sessions of {market.value} before {around} to derive a close time", setting="calendar")
    closes = [calendar.close_at(market, s).astimezone(tz) for s in sessions]
    times = [(c.hour, c.minute) for c in closes]
    hour, minute = max(set(times), key=times.count)
    total = hour * 60 + minute + int(delay.total_seconds() // 60)
    if total >= 24 * 60:
        raise ConfigError(f"{market.value}: close + {delay} runs past midnight; shorten the delay", setting="delay")
    return f"{total % 60} {total // 60} * * 1-5"
