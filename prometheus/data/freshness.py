"""Freshness of input data: which sessions would be decided from bars older than the staleness limit.

A session is decided at its decision time (its close plus the bar delay, :mod:`prometheus.data.known_at`). Its
input is fresh when the newest bar known then is recent: the *lag* of a session is the number of the market's
sessions after that bar up to and including the session itself, so 0 when the session's own bar is known, 1 when
only the previous session's is. A session whose lag exceeds the limit (``Settings.max_data_lag_sessions``) is
stale: an engine running it would label it from old data, as it does past the end of a delivery, when a vendor
feed stops or an ingestion failed. The runner refuses or flags such sessions; this module only finds them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import polars as pl

from prometheus.calendar import TradingCalendar, parse_market
from prometheus.core.errors import ConfigError, LookAheadError
from prometheus.core.types import Market
from prometheus.data.known_at import decision_times
from prometheus.data.schema import Table, schema_of
from prometheus.data.timemachine import TimeMachine

#: The table whose bars the engines decide from (every engine reads the adjusted prices).
BARS_TABLE = Table.PRICES_ADJUSTED


@dataclass(frozen=True, slots=True)
class StaleSession:
    """A session whose newest input bar, at its decision time, lags it by more than the limit."""

    session: date
    decided_at: datetime
    #: Date of the newest bar of the market known at ``decided_at``; None when none was known at all.
    last_bar: date | None
    #: Sessions of the market after ``last_bar`` up to and including ``session``; None when ``last_bar`` is None.
    lag_sessions: int | None

    def describe(self) -> str:
        """One line for logs and run notes."""
        if self.last_bar is None:
            return f"{self.session}: no bar known at {self.decided_at.isoformat()}"
        return f"{self.session}: newest bar {self.last_bar}, {self.lag_sessions} session(s) old"


def last_bar_date(view: TimeMachine, market: Market | str, *, table: Table | str = BARS_TABLE) -> date | None:
    """Date of the newest bar of ``market`` in ``table`` known to ``view`` (None when it knows none).

    Raises
    ------
    StoreError
        ``table`` is unknown or not loaded in the view's snapshot.
    """
    dates = view.table(table, market=parse_market(market), columns=["date"])["date"]
    return dates.max() if len(dates) else None


def stale_sessions(
    view: TimeMachine,
    calendar: TradingCalendar,
    market: Market | str,
    sessions: Sequence[date],
    *,
    bar_delay: timedelta,
    max_lag_sessions: int,
    table: Table | str = BARS_TABLE,
) -> list[StaleSession]:
    """The sessions of ``sessions`` whose newest bar known at their decision time lags by more than
    ``max_lag_sessions`` (in order; empty when every session is fresh).

    ``view`` must reach the last decision time (the runner's ``history_view`` does) and hold ``table`` from
    ``max_lag_sessions`` sessions before the first session on.

    Raises
    ------
    ConfigError
        ``max_lag_sessions`` is negative, or ``table`` has no ``date`` or ``known_at``.
    LookAheadError
        A session is decided after ``view.as_of``: its freshness is not known to the view.
    """
    m = parse_market(market)
    if max_lag_sessions < 0:
        raise ConfigError(f"max_lag_sessions must be >= 0, got {max_lag_sessions}", setting="max_lag_sessions")
    schema = schema_of(table)
    if not {"date", "known_at"} <= set(schema.names):
        raise ConfigError(f"{schema.table.value} has no dated bars (date, known_at)", setting="table")
    times = decision_times(calendar, m, sessions, bar_delay)
    late = [(s, t) for s, t in zip(sessions, times, strict=True) if t > view.as_of]
    if late:
        raise LookAheadError(
            f"{len(late)} session(s) of {m.value} decided after the view's {view.as_of.isoformat()} "
            f"(first {late[0][0]} at {late[0][1].isoformat()}); give a view at the last decision time"
        )
    newest = _newest_bar_bound(view, m, schema.table, sessions, times)
    stale = []
    for session, decided_at, bound in zip(sessions, times, newest, strict=True):
        if not _too_old(_lag(calendar, m, bound, session), max_lag_sessions):
            continue
        # The bound can be older than the truth (see _newest_bar_bound): confirm on the view at that instant.
        last = _newest_bar_at(view.at(decided_at), m, schema.table, bound)
        lag = _lag(calendar, m, last, session)
        if _too_old(lag, max_lag_sessions):
            stale.append(StaleSession(session, decided_at, last, lag))
    return stale


def _newest_bar_bound(
    view: TimeMachine, market: Market, table: Table, sessions: Sequence[date], times: Sequence[datetime]
) -> list[date | None]:
    # One pass over the view for every session: a date counts as known from the earliest known_at among its
    # rows' latest revisions. A correction published later can only push that instant later, so this newest
    # date is never newer than the truth: a fresh session may come out as a candidate (then confirmed exactly
    # on a view at its own instant), a stale one is never missed.
    rows = view.table(table, market=market, columns=["date", "known_at"])
    if rows.is_empty():
        return [None] * len(sessions)
    known = (
        rows.group_by("date")
        .agg(pl.col("known_at").min())
        .sort("known_at")
        .with_columns(pl.col("date").cum_max().alias("newest"))
    )
    asked = pl.DataFrame(
        {"i": range(len(sessions)), "t": list(times)}, schema={"i": pl.Int64, "t": known.schema["known_at"]}
    )
    joined = asked.sort("t").join_asof(known, left_on="t", right_on="known_at", strategy="backward").sort("i")
    return joined["newest"].to_list()


def _newest_bar_at(view: TimeMachine, market: Market, table: Table, bound: date | None) -> date | None:
    # Rows at least as new as the bound exist in this view, so reading from the bound on is enough.
    dates = view.table(table, market=market, start=bound, columns=["date"])["date"]
    return dates.max() if len(dates) else bound


def _lag(calendar: TradingCalendar, market: Market, last_bar: date | None, session: date) -> int | None:
    if last_bar is None:
        return None
    if last_bar >= session:
        return 0
    return len(calendar.sessions(market, last_bar + timedelta(days=1), session))


def _too_old(lag: int | None, max_lag_sessions: int) -> bool:
    # No bar known at all is as stale as it gets.
    return lag is None or lag > max_lag_sessions
