"""Alpha158 features point in time: each session's row from the bars of its window as known at its decision time.

A feature row of session ``d`` (decision time ``t_d``) reads the :data:`~prometheus.features.alpha158.LOOKBACK_SESSIONS`
sessions ending at ``d`` from ``prices_adjusted`` through ``view.at(t_d)``. Revisions: the latest revision of each
bar known at ``t_d`` wins, and the whole window is read at that one instant, so a split announced before ``t_d``
re-adjusts every bar of the window alike (no artificial jump), while a correction, a re-adjustment or a late bar
known after ``t_d`` never reaches ``d``'s row (it reaches the rows of the sessions decided after it became known).

Reading one view per session is correct but slow. As in :mod:`prometheus.data.panel`, the sessions are served in
blocks: one read at the block's last decision time ``t_B`` over the block's sessions and their lookback, features
computed over it in one vectorised pass, and each session ``d`` of the block kept when no bar of its window in that
read has ``known_at > t_d`` (then the read restricted to ``d``'s window equals the read at ``t_d``, see
:mod:`prometheus.data.panel`). Any other session is recomputed from its own read at ``t_d``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl

from prometheus.core.errors import DataError
from prometheus.core.time import to_utc
from prometheus.core.types import Market
from prometheus.data.schema import Table
from prometheus.data.timemachine import TimeMachine
from prometheus.features.alpha158 import BAR_COLUMNS, LOOKBACK_SESSIONS, OUTPUT_SCHEMA, compute_alpha158

#: The tables a view handed to :func:`point_in_time_alpha158` must hold.
FEATURE_TABLES: tuple[Table, ...] = (Table.PRICES_ADJUSTED,)
#: Sessions served from one block read (a longer block amortises the lookback over more sessions).
DEFAULT_BLOCK = 126
_READ_COLUMNS = [*BAR_COLUMNS, "known_at"]


class _Reader:
    def __init__(self, view: TimeMachine, market: Market, calendar_sessions: Sequence[date]) -> None:
        self.view, self.market = view, market
        self.days = list(calendar_sessions)
        self.index = np.array(self.days, dtype="datetime64[D]")
        #: Sessions recomputed from their own read (diagnostics).
        self.own_reads = 0

    def row(self, day: date) -> int:
        k = int(np.searchsorted(self.index, np.datetime64(day, "D")))
        if k >= len(self.days) or self.days[k] != day:
            raise DataError(f"{day} is not a session of the calendar sessions given", field="sessions")
        return k

    def first(self, day: date) -> int:
        return max(0, self.row(day) - LOOKBACK_SESSIONS + 1)

    def read(self, t: datetime, first: int, last: date) -> pl.DataFrame:
        frame = self.view.at(t).table(
            Table.PRICES_ADJUSTED, market=self.market, start=self.days[first], end=last, columns=_READ_COLUMNS
        )
        return frame

    def features(self, bars: pl.DataFrame, first: int, last: date) -> pl.DataFrame:
        return compute_alpha158(bars.drop("known_at"), self.days[first : self.row(last) + 1])


def point_in_time_alpha158(
    view: TimeMachine,
    market: Market | str,
    sessions: Sequence[date],
    decision_times: Sequence[datetime],
    calendar_sessions: Sequence[date],
    *,
    block: int = DEFAULT_BLOCK,
) -> pl.DataFrame:
    """Alpha158 rows (:data:`~prometheus.features.alpha158.OUTPUT_SCHEMA`) of ``sessions``, each point in time.

    Parameters
    ----------
    view
        A view (holding ``prices_adjusted``) at or after the last decision time.
    market
        The market whose bars are read.
    sessions, decision_times
        Sessions to serve, increasing, and their decision times.
    calendar_sessions
        Every session of the market from ``LOOKBACK_SESSIONS - 1`` sessions before ``sessions[0]`` (fewer at the
        start of history) to the last session.
    block
        Sessions per block read.

    Returns
    -------
    pl.DataFrame
        One row per (session, instrument with a bar on that session known at its decision time), sorted by date
        then symbol.

    Raises
    ------
    DataError
        No sessions, mismatched decision times, or a session missing from ``calendar_sessions``.
    """
    if not sessions:
        raise DataError("no sessions to compute features for", field="sessions")
    if len(decision_times) != len(sessions):
        raise DataError("one decision time per session is needed", field="decision_times")
    reader = _Reader(view, Market(str(market)), calendar_sessions)
    parts = [
        _block(reader, sessions[b0 : b0 + block], decision_times[b0 : b0 + block])
        for b0 in range(0, len(sessions), block)
    ]
    # Blocks come in date order, each sorted: no final sort (nor copy) of the whole output.
    return pl.concat(parts, rechunk=False) if parts else pl.DataFrame(schema=OUTPUT_SCHEMA)


def _block(reader: _Reader, days: Sequence[date], times: Sequence[datetime]) -> pl.DataFrame:
    first = reader.first(days[0])
    bars = reader.read(times[-1], first, days[-1])
    dirty = _late_sessions(reader, bars, days, times)
    frame = reader.features(bars, first, days[-1])
    clean = [d for d, late in zip(days, dirty, strict=True) if not late]
    parts = [frame.filter(pl.col("date").is_in(clean))]
    for day, t, late in zip(days, times, dirty, strict=True):
        if late:
            reader.own_reads += 1
            own_first = reader.first(day)
            own = reader.features(reader.read(t, own_first, day), own_first, day)
            parts.append(own.filter(pl.col("date") == day))
    return pl.concat(parts).sort("date", "symbol")


def _late_sessions(reader: _Reader, bars: pl.DataFrame, days: Sequence[date], times: Sequence[datetime]) -> list[bool]:
    """Per session: does its window, in the block read, hold a bar known after its decision time?"""
    if bars.is_empty():
        return [False] * len(days)
    latest = bars.group_by("date").agg(pl.col("known_at").max())
    rows = np.searchsorted(reader.index, latest["date"].to_numpy().astype("datetime64[D]"))
    stamps = latest["known_at"].dt.epoch("us").to_numpy()
    # Latest known_at per calendar row, then over each session's trailing window (a running max over rows).
    per_row = np.full(len(reader.days), np.iinfo(np.int64).min)
    np.maximum.at(per_row, rows, stamps)
    out = []
    for day, t in zip(days, times, strict=True):
        last = reader.row(day)
        window_max = per_row[reader.first(day) : last + 1].max()
        out.append(bool(window_max > _epoch_us(t)))
    return out


def _epoch_us(t: datetime) -> int:
    return (to_utc(t) - _EPOCH) // timedelta(microseconds=1)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
