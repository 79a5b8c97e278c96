"""Vendor signals point in time: per session, each signal's value for that session as known at its decision time.

The ``signals`` table holds one row per (date, symbol, signal) revision, known at the vendor's publication
(``docs/vendor-files.md``). :func:`point_in_time_signals` reads the window once, every revision known at the
view's instant (``TimeMachine.revisions``), then resolves each row at the decision time of its own session: the
latest revision with ``known_at`` at or before it. A revision published after a session's decision time never
reaches that session, however early the view that served the read.

A vendor that publishes after the decision (the synthetic market: 30 minutes after the close, decisions at the
close plus the bar delay, 5 minutes by default) gives no value for the session being decided; the freshest value
then is the previous session's. Ask for it by pairing each session with the next session's decision time:
``point_in_time_signals(view, market, sessions[:-1], decision_times[1:])`` serves, dated ``sessions[k]``, the
values known at ``decision_times[k + 1]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import polars as pl

from prometheus.core.errors import DataError, LookAheadError
from prometheus.core.time import to_utc
from prometheus.core.types import Market
from prometheus.data.schema import UTC_DATETIME, Table
from prometheus.data.timemachine import TimeMachine

#: The tables a view handed to :func:`point_in_time_signals` must hold.
SIGNAL_TABLES: tuple[Table, ...] = (Table.SIGNALS,)
#: Prefix of the output column of each signal (``signal_alpha_feature``).
SIGNAL_PREFIX = "signal_"
_KEY = ["date", "symbol", "signal"]


def point_in_time_signals(
    view: TimeMachine, market: Market | str, sessions: Sequence[date], decision_times: Sequence[datetime]
) -> pl.DataFrame:
    """Vendor signals of ``sessions``, each row as known at the decision time of its own session.

    Parameters
    ----------
    view
        A view (holding ``signals``) at or after the last decision time.
    market
        The market whose signals are read.
    sessions, decision_times
        Sessions to serve (distinct) and the instant each one's values are read at (normally its decision time).

    Returns
    -------
    pl.DataFrame
        ``date, symbol`` and one Float64 column ``signal_<name>`` per signal name (sorted by name) with a value
        known at some session's decision time; one row per (session, symbol) with at least one value known at its
        session's decision time (null where that signal is not), sorted by date then symbol. The output does not
        depend on the view's instant.

    Raises
    ------
    DataError
        Mismatched decision times or a session given twice.
    LookAheadError
        A decision time later than the view.
    """
    if len(decision_times) != len(sessions):
        raise DataError("one decision time per session is needed", field="decision_times")
    if len(set(sessions)) != len(sessions):
        raise DataError("a session is given twice", field="sessions")
    if not sessions:
        return pl.DataFrame(schema={"date": pl.Date(), "symbol": pl.String()})
    times = [to_utc(t) for t in decision_times]
    if max(times) > view.as_of:
        raise LookAheadError(f"decision time {max(times).isoformat()} is after the view at {view.as_of.isoformat()}")
    when = pl.DataFrame(
        {"date": list(sessions), "_decision": times}, schema={"date": pl.Date(), "_decision": UTC_DATETIME}
    )
    rows = view.revisions(
        Table.SIGNALS,
        market=Market(str(market)),
        start=min(sessions),
        end=max(sessions),
        columns=[*_KEY, "value", "known_at"],
    )
    known = (
        rows.join(when, on="date", how="inner")
        # The point-in-time rule: a row reaches a session only if it was known at that session's decision time.
        .filter(pl.col("known_at") <= pl.col("_decision"))
        .sort([*_KEY, "known_at"])
        .unique(subset=_KEY, keep="last", maintain_order=True)
    )
    if known.is_empty():
        return pl.DataFrame(schema={"date": pl.Date(), "symbol": pl.String()})
    # Prefixed before the pivot: a signal called "date" or "symbol" cannot collide with the index.
    known = known.with_columns((pl.lit(SIGNAL_PREFIX) + pl.col("signal")).alias("signal"))
    columns = sorted(known["signal"].unique().to_list())
    wide = known.pivot(on="signal", index=["date", "symbol"], values="value", aggregate_function=None)
    return wide.select("date", "symbol", *[pl.col(c).cast(pl.Float64) for c in columns]).sort("date", "symbol")
