"""Alpha158 features point in time: each session's row from the bars of its window as known at its decision time.

A feature row of session ``d`` (decision time ``t_d``) reads the :data:`~prometheus.features.alpha158.LOOKBACK_SESSIONS`
sessions ending at ``d`` from ``prices_adjusted`` through ``view.at(t_d)``. Revisions: the latest revision of each
bar known at ``t_d`` wins, and the whole window is read at that one instant, so a split announced before ``t_d``
re-adjusts every bar of the window alike (no artificial jump), while a correction, a re-adjustment or a late bar
known after ``t_d`` never reaches ``d``'s row (it reaches the rows of the sessions decided after it became known).

Reading one view per session is correct but slow. As in :mod:`prometheus.data.panel`, the sessions are served in
blocks: one read at the block's last decision time ``t_B`` over the block's sessions and their lookback, features
computed over it in one vectorised pass, and each (session ``d``, symbol) row kept when no bar of that symbol in
``d``'s window in that read has ``known_at > t_d`` (then that read restricted to the symbol and ``d``'s window equals
the read at ``t_d``, see :mod:`prometheus.data.panel`, and a symbol's features depend on its bars alone). The other
rows are recomputed from reads at earlier instants restricted to their symbols (:func:`_block`).
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
        #: Sessions re-read because some of their (session, symbol) pairs were late in a read (diagnostics).
        self.own_reads = 0

    def row(self, day: date) -> int:
        k = int(np.searchsorted(self.index, np.datetime64(day, "D")))
        if k >= len(self.days) or self.days[k] != day:
            raise DataError(f"{day} is not a session of the calendar sessions given", field="sessions")
        return k

    def first(self, day: date) -> int:
        return max(0, self.row(day) - LOOKBACK_SESSIONS + 1)

    def read(self, t: datetime, first: int, last: date, symbols: Sequence[str] | None = None) -> pl.DataFrame:
        return self.view.at(t).table(
            Table.PRICES_ADJUSTED,
            market=self.market,
            start=self.days[first],
            end=last,
            symbols=symbols,
            columns=_READ_COLUMNS,
        )

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
    """Rows of the block's sessions: one read at the last decision time, then re-reads for the late pairs only.

    A (session, symbol) pair is late when its window in the read holds a bar of that symbol known after the
    session's decision time. Features of a symbol depend on its bars alone, so only the late pairs are recomputed:
    from a read at the last late session's decision time restricted to their symbols (exact for that session, so
    every round serves at least one more session), until none is late. A split re-adjustment, known at one instant,
    costs one extra small read per block rather than one read per session decided before it.
    """
    todo: pl.DataFrame | None = None  # the (date, symbol) pairs still to serve; None: every pair
    symbols: list[str] | None = None
    pending = list(range(len(days)))
    parts: list[pl.DataFrame] = []
    while pending:
        first, last = reader.first(days[pending[0]]), pending[-1]
        bars = reader.read(times[last], first, days[last], symbols)
        served_days = [days[k] for k in pending]
        late = _late_pairs(reader, bars, served_days, [times[k] for k in pending])
        if todo is not None:
            late = late.join(todo, on=["date", "symbol"], how="semi")
        frame = reader.features(bars, first, days[last]).filter(pl.col("date").is_in(served_days))
        if todo is not None:
            frame = frame.join(todo, on=["date", "symbol"], how="semi")
        parts.append(frame.join(late, on=["date", "symbol"], how="anti"))
        todo, symbols = late, late["symbol"].unique().sort().to_list()
        late_days = set(late["date"].to_list())
        pending = [k for k in pending if days[k] in late_days]
        reader.own_reads += len(pending)
    return pl.concat(parts).sort("date", "symbol")


def _late_pairs(reader: _Reader, bars: pl.DataFrame, days: Sequence[date], times: Sequence[datetime]) -> pl.DataFrame:
    """The (session, symbol) pairs whose window, in ``bars``, holds a bar known after the session's decision time."""
    pairs: dict[str, list] = {"date": [], "symbol": []}
    if bars.is_empty():
        return pl.DataFrame(pairs, schema=_PAIR_SCHEMA)
    symbols, col = np.unique(bars["symbol"].to_numpy().astype(str), return_inverse=True)
    rows = np.searchsorted(reader.index, bars["date"].to_numpy().astype("datetime64[D]"))
    r0 = int(rows.min())
    # Latest known_at per (calendar row, symbol), then its maximum over each session's trailing window.
    latest = np.full((int(rows.max()) - r0 + 1, len(symbols)), np.iinfo(np.int64).min)
    np.maximum.at(latest, (rows - r0, col), bars["known_at"].dt.epoch("us").to_numpy())
    for day, t in zip(days, times, strict=True):
        r = reader.row(day)
        if r < r0:
            continue
        window = latest[max(reader.first(day), r0) - r0 : r - r0 + 1].max(axis=0)
        hit = np.nonzero(window > _epoch_us(t))[0]
        pairs["date"] += [day] * len(hit)
        pairs["symbol"] += symbols[hit].tolist()
    return pl.DataFrame(pairs, schema=_PAIR_SCHEMA)


_PAIR_SCHEMA = {"date": pl.Date(), "symbol": pl.String()}


def _epoch_us(t: datetime) -> int:
    return (to_utc(t) - _EPOCH) // timedelta(microseconds=1)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
