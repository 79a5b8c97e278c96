"""Point-in-time return panels: the trailing window of each session exactly as known at its decision time.

Reading a fresh view per session is correct but slow (every read scans the snapshot). The panel instead reads
one view per block of sessions, at the block's last decision time ``t_B``, and serves each session ``d`` of the
block from it when that is provably the same as reading ``view.at(t_d)``:

- every key visible at ``t_d`` is visible at ``t_B`` (views only add rows or revisions as time passes);
- a row of the block read with ``known_at <= t_d`` is the latest revision known at ``t_B``, so it is also the
  latest known at ``t_d``;
- so if no row dated ``<= d`` in the block read has ``known_at > t_d`` (no late row, no later revision), the block
  read restricted to dates ``<= d`` equals the read at ``t_d``. Otherwise the session is read on its own.

Instrument reference rows (sector, listing dates) get the same treatment. A test checks the equivalence against
per-session reads on data with late rows and revisions.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import polars as pl

from prometheus.core.types import Market
from prometheus.data.schema import Table
from prometheus.data.timemachine import TimeMachine

#: Columns read from ``prices_adjusted``.
_PRICE_COLUMNS = ["date", "symbol", "total_return", "close", "volume", "known_at"]
#: Sessions served from one block read.
DEFAULT_BLOCK = 21


@dataclass(frozen=True)
class PanelWindow:
    """The trailing window of one session, as known at its decision time.

    ``returns`` and ``dollar_volume`` are (rows, names) arrays, rows = the window's sessions (oldest first, the
    last row is ``session``), names = the instruments listed at ``session`` (NaN where no bar or no return).
    """

    session: date
    decision_time: datetime
    dates: np.ndarray  # datetime64[D] per row
    symbols: np.ndarray  # str, sorted
    sectors: np.ndarray  # str per symbol ('' when unknown)
    returns: np.ndarray
    dollar_volume: np.ndarray

    def complete(self, rows: int) -> np.ndarray:
        """Mask of names with a return on every one of the last ``rows`` sessions."""
        return np.all(np.isfinite(self.returns[-rows:]), axis=0)


def listed_names(instruments: pl.DataFrame, day: date) -> pl.DataFrame:
    """Symbol and sector of the instruments listed on ``day`` (the version in effect on ``day``)."""
    if instruments.is_empty():
        return pl.DataFrame(schema={"symbol": pl.String(), "sector": pl.String()})
    current = (
        instruments.filter(pl.col("date") <= day)
        .sort(["symbol", "date", "known_at"])
        .unique("symbol", keep="last", maintain_order=True)
    )
    listed = current.filter(
        (pl.col("listed").is_null() | (pl.col("listed") <= day))
        & (pl.col("delisted").is_null() | (pl.col("delisted") >= day))
    )
    return listed.select("symbol", pl.col("sector").fill_null("")).sort("symbol")


class PointInTimePanel:
    """Trailing windows of ``window`` sessions for each of ``sessions`` (with their decision ``times``).

    Parameters
    ----------
    view
        A view at or after the last decision time.
    market
        The market whose instruments are read.
    sessions, times
        Sessions to serve, increasing, and their decision times.
    calendar_sessions
        Every session of the market from at least ``window - 1`` sessions before ``sessions[0]`` to the last.
    window
        Rows of each window.
    """

    def __init__(
        self,
        view: TimeMachine,
        market: Market,
        sessions: Sequence[date],
        times: Sequence[datetime],
        calendar_sessions: Sequence[date],
        window: int,
        block: int = DEFAULT_BLOCK,
    ) -> None:
        self._view, self._market, self._window, self._block = view, market, window, block
        self._sessions, self._times = list(sessions), list(times)
        self._days = np.array(calendar_sessions, dtype="datetime64[D]")
        #: Sessions served from their own read because the block read was not exact for them (diagnostics).
        self.own_reads = 0

    def __iter__(self) -> Iterator[PanelWindow]:
        for b0 in range(0, len(self._sessions), self._block):
            yield from self._block_windows(b0, min(b0 + self._block, len(self._sessions)) - 1)

    def _first_row(self, day: date) -> int:
        return max(0, int(np.searchsorted(self._days, np.datetime64(day, "D"))) - self._window + 1)

    def _read(self, view: TimeMachine, first: date, last: date) -> tuple[pl.DataFrame, pl.DataFrame]:
        prices = view.table(Table.PRICES_ADJUSTED, market=self._market, start=first, end=last, columns=_PRICE_COLUMNS)
        return prices, view.table(Table.INSTRUMENTS, market=self._market)

    def _block_windows(self, b0: int, b1: int) -> Iterator[PanelWindow]:
        start = self._days[self._first_row(self._sessions[b0])].item()
        prices, instruments = self._read(self._view.at(self._times[b1]), start, self._sessions[b1])
        for i in range(b0, b1 + 1):
            day, t = self._sessions[i], self._times[i]
            own_prices, own_instruments = prices, instruments
            late_prices = not prices.filter((pl.col("date") <= day) & (pl.col("known_at") > t)).is_empty()
            late_refs = not instruments.filter(pl.col("known_at") > t).is_empty()
            if late_prices or late_refs:
                self.own_reads += 1
                first = self._days[self._first_row(day)].item()
                own_prices, own_instruments = self._read(self._view.at(t), first, day)
            yield self._window_of(day, t, own_prices, own_instruments)

    def _window_of(self, day: date, t: datetime, prices: pl.DataFrame, instruments: pl.DataFrame) -> PanelWindow:
        rows = self._days[self._first_row(day) : int(np.searchsorted(self._days, np.datetime64(day, "D"))) + 1]
        names = listed_names(instruments, day)
        symbols = names["symbol"].to_numpy().astype(str)
        frame = prices.filter(pl.col("date").is_between(rows[0].item(), day)).join(
            names.select("symbol").with_row_index("col"), on="symbol", how="inner"
        )
        r = np.searchsorted(rows, frame["date"].to_numpy().astype("datetime64[D]"))
        c = frame["col"].to_numpy()
        returns = np.full((len(rows), len(symbols)), np.nan)
        dollar = np.full_like(returns, np.nan)
        returns[r, c] = frame["total_return"].fill_null(np.nan).to_numpy()
        dollar[r, c] = (frame["close"] * frame["volume"]).fill_null(np.nan).to_numpy()
        return PanelWindow(day, t, rows, symbols, names["sector"].to_numpy().astype(str), returns, dollar)
