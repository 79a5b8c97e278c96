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

This is the one point-in-time panel reader. :func:`load_price_panel` is the same reader with one-session windows,
stacked into a (sessions x names) :class:`PricePanel`: each bar as known at its own session's decision time, the
input of the encoders and profiles.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType

import numpy as np
import polars as pl

from prometheus.core.errors import DataError
from prometheus.core.time import to_utc
from prometheus.core.types import Market
from prometheus.data.schema import Table
from prometheus.data.timemachine import TimeMachine

#: The tables a panel reads (a view handed to the readers here must hold both).
PANEL_TABLES: tuple[Table, ...] = (Table.INSTRUMENTS, Table.PRICES_ADJUSTED)
#: Columns read from ``prices_adjusted``.
_PRICE_COLUMNS = ["date", "symbol", "total_return", "close", "volume", "known_at"]
#: Sessions served from one block read.
DEFAULT_BLOCK = 21
_NAMES_SCHEMA = {"symbol": pl.String(), "sector": pl.String(), "delisted": pl.Date()}


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
    #: (rows, names) split-adjusted closes (NaN where no bar), None when not read.
    close: np.ndarray | None = None
    #: datetime64[D] delisting date per symbol as known at the decision time (NaT while listed), None when not read.
    delisted: np.ndarray | None = None

    def complete(self, rows: int) -> np.ndarray:
        """Mask of names with a return on every one of the last ``rows`` sessions."""
        return np.all(np.isfinite(self.returns[-rows:]), axis=0)


def listed_names(instruments: pl.DataFrame, day: date) -> pl.DataFrame:
    """Symbol, sector and delisting date of the instruments listed on ``day`` (the version in effect on ``day``)."""
    if instruments.is_empty():
        return pl.DataFrame(schema=_NAMES_SCHEMA)
    current = (
        instruments.filter(pl.col("date") <= day)
        .sort(["symbol", "date", "known_at"])
        .unique("symbol", keep="last", maintain_order=True)
    )
    listed = current.filter(
        (pl.col("listed").is_null() | (pl.col("listed") <= day))
        & (pl.col("delisted").is_null() | (pl.col("delisted") >= day))
    )
    return listed.select("symbol", pl.col("sector").fill_null(""), pl.col("delisted").cast(pl.Date())).sort("symbol")


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
        if not self._sessions:
            return
        # One read of every revision known to the view over the whole run, resolved in numpy per block and per
        # late session: rescanning the snapshot per block and a filter and join per session dominated long runs.
        first = self._days[self._first_row(self._sessions[0])].item()
        revisions = self._view.revisions(
            Table.PRICES_ADJUSTED, market=self._market, start=first, end=self._sessions[-1], columns=_PRICE_COLUMNS
        )
        refs = self._view.revisions(Table.INSTRUMENTS, market=self._market, columns=["date", "symbol", "known_at"])
        source = None if _ties(refs) else _Revisions.of(revisions, self._days)
        # The reference rows visible at t are those known by t: the same count means the same rows, so each state
        # is read and indexed once per run.
        self._ref_known = np.sort(refs["known_at"].to_physical().to_numpy())
        self._listings: dict[int, tuple[pl.DataFrame, _ListedNames]] = {}
        for b0 in range(0, len(self._sessions), self._block):
            b1 = min(b0 + self._block, len(self._sessions)) - 1
            if source is None:
                yield from self._read_windows(b0, b1)
            else:
                yield from self._dense_windows(b0, b1, source)

    def _first_row(self, day: date) -> int:
        return max(0, self._row(day) - self._window + 1)

    def _row(self, day: date) -> int:
        return int(np.searchsorted(self._days, np.datetime64(day, "D")))

    def _read(self, view: TimeMachine, first: date, last: date) -> tuple[pl.DataFrame, pl.DataFrame]:
        prices = view.table(Table.PRICES_ADJUSTED, market=self._market, start=first, end=last, columns=_PRICE_COLUMNS)
        return prices, view.table(Table.INSTRUMENTS, market=self._market)

    def _references(self, t: datetime, source: _Revisions, priced: Callable[[], _Names]) -> _ListedNames:
        """The listings of the reference rows known at ``t`` (every priced name when there are none)."""
        key = int(np.searchsorted(self._ref_known, source.instant(t), side="right"))
        if key == 0:
            return _ListedNames(pl.DataFrame(schema=_REFERENCE_SCHEMA), priced)
        if key not in self._listings:
            instruments = self._view.at(t).table(Table.INSTRUMENTS, market=self._market)
            self._listings[key] = (instruments, _ListedNames(instruments, priced))
        return self._listings[key][1]

    def _dense_windows(self, b0: int, b1: int, source: _Revisions) -> Iterator[PanelWindow]:
        base, last = self._first_row(self._sessions[b0]), self._row(self._sessions[b1])
        view = self._view.at(self._times[b1])
        block = source.resolve(base, last, view.as_of)
        names = self._references(view.as_of, source, lambda: source.priced(base, last, view.as_of))
        for i in range(b0, b1 + 1):
            day, t = self._sessions[i], self._times[i]
            row, first = self._row(day), self._first_row(day)
            dates = self._days[first : row + 1]
            instant = source.instant(t)
            # Only reference rows in effect by ``day`` decide who is listed on it (see _ListedNames).
            late_refs = names.known_after(day, instant)
            late_prices = bool(block.known_until[row - base] > instant)
            if not late_refs and not late_prices:
                yield block.window(day, t, dates, first - base, names.on(day))
                continue
            # A late row or revision in the block: this session's window as read at its own decision time.
            self.own_reads += 1
            own = self._references(t, source, lambda: source.priced(first, row, t)) if late_refs else names  # noqa: B023
            rows = block.as_of(first - base, row - base + 1, instant) if late_prices else block
            yield rows.window(day, t, dates, first - base if rows is block else 0, own.on(day))

    def _read_windows(self, b0: int, b1: int) -> Iterator[PanelWindow]:
        """Windows from TimeMachine reads (a bar dated off the calendar, or two revisions known at one instant)."""
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
        # A market without reference rows (an index series, a bare vendor delivery): every name with a bar.
        names = listed_names(instruments, day) if not instruments.is_empty() else _priced_names(prices)
        symbols = names["symbol"].to_numpy().astype(str)
        frame = prices.filter(pl.col("date").is_between(rows[0].item(), day)).join(
            names.select("symbol").with_row_index("col"), on="symbol", how="inner"
        )
        r = np.searchsorted(rows, frame["date"].to_numpy().astype("datetime64[D]"))
        c = frame["col"].to_numpy()
        returns = np.full((len(rows), len(symbols)), np.nan)
        dollar = np.full_like(returns, np.nan)
        close = np.full_like(returns, np.nan)
        returns[r, c] = frame["total_return"].fill_null(np.nan).to_numpy()
        dollar[r, c] = (frame["close"] * frame["volume"]).fill_null(np.nan).to_numpy()
        close[r, c] = frame["close"].fill_null(np.nan).to_numpy()
        delisted = names["delisted"].to_numpy().astype("datetime64[D]")
        sectors = names["sector"].to_numpy().astype(str)
        return PanelWindow(day, t, rows, symbols, sectors, returns, dollar, close, delisted)


def _priced_names(prices: pl.DataFrame) -> pl.DataFrame:
    return prices.select(
        pl.col("symbol").unique().sort(), pl.lit("").alias("sector"), pl.lit(None, dtype=pl.Date()).alias("delisted")
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: known_at of a bar that does not exist.
_NEVER = np.iinfo(np.int64).min
_REFERENCE_SCHEMA = {"symbol": pl.String(), "sector": pl.String(), "date": pl.Date(), "listed": pl.Date(),
                     "delisted": pl.Date(), "known_at": pl.Datetime("us", "UTC")}  # fmt: skip


def _ties(frame: pl.DataFrame) -> bool:
    """Whether two revisions of one fact were known at the same instant."""
    return bool(frame.select(pl.struct("date", "symbol", "known_at").is_duplicated().any()).item())


@dataclass(frozen=True)
class _Revisions:
    """Every revision of the run's price rows known to the view, as arrays sorted by (date, symbol, known_at).

    ``row`` indexes the calendar sessions, ``col`` the run's sorted symbols; the values are those a window holds
    (``total_return``, ``close x volume`` and ``close``, NaN where null).
    """

    symbols: np.ndarray
    columns: Mapping[str, int]
    row: np.ndarray
    col: np.ndarray
    known: np.ndarray  # known_at in the physical units of ``known_dtype``
    known_dtype: pl.DataType
    values: tuple[np.ndarray, np.ndarray, np.ndarray]
    #: ``row x symbols + col`` per revision: non-decreasing, as the rows are sorted by date, then symbol.
    keys: np.ndarray

    @classmethod
    def of(cls, frame: pl.DataFrame, days: np.ndarray) -> _Revisions | None:
        """None when the rows cannot be placed by index alone: a bar dated off the calendar, or two revisions of
        one bar known at the same instant (which one a view serves is then the TimeMachine's tie-break, and so
        which reads were made; the same holds for reference rows, checked by the caller)."""
        if _ties(frame):
            return None
        dates = frame["date"].to_numpy().astype("datetime64[D]")
        row = np.searchsorted(days, dates)
        if np.any(row >= len(days)) or np.any(days[np.minimum(row, len(days) - 1)] != dates):
            return None
        symbols = frame["symbol"].unique().sort()
        col = frame["symbol"].cast(pl.Enum(symbols)).to_physical().to_numpy().astype(np.int64)
        values = (
            frame["total_return"].fill_null(np.nan).to_numpy(),
            (frame["close"] * frame["volume"]).fill_null(np.nan).to_numpy(),
            frame["close"].fill_null(np.nan).to_numpy(),
        )
        known = frame["known_at"].to_physical().to_numpy()
        names = symbols.to_numpy().astype(str)
        columns = {s: k for k, s in enumerate(names.tolist())}
        return cls(names, columns, row, col, known, frame.schema["known_at"], values, row * len(names) + col)

    def instant(self, t: datetime) -> int:
        """``t`` in the physical units of ``known_at`` (as polars compares them)."""
        if self.known_dtype == pl.Datetime("us", "UTC"):
            return (to_utc(t) - _EPOCH) // timedelta(microseconds=1)  # exact, and far cheaper than a polars cast
        return int(pl.Series([t]).cast(self.known_dtype).to_physical().item())

    def _latest(self, first: int, last: int, as_of: datetime) -> np.ndarray:
        """Indices of the latest revision known at ``as_of`` of each bar dated in calendar rows first..last."""
        lo, hi = np.searchsorted(self.row, [first, last + 1])
        idx = lo + np.flatnonzero(self.known[lo:hi] <= self.instant(as_of))
        if not idx.size:
            return idx
        # Revisions of a bar are adjacent and ordered by known_at: keep the last of each run of one bar.
        row, col = self.row[idx], self.col[idx]
        keep = np.ones(idx.size, dtype=bool)
        keep[:-1] = (row[1:] != row[:-1]) | (col[1:] != col[:-1])
        return idx[keep]

    def resolve(self, first: int, last: int, as_of: datetime) -> _Dense:
        """Calendar rows first..last as read at ``as_of``, one column per symbol of the run."""
        idx = self._latest(first, last, as_of)
        shape = (last - first + 1, len(self.symbols))
        r, c = self.row[idx] - first, self.col[idx]
        arrays = []
        for v in self.values:
            a = np.full(shape, np.nan)
            a[r, c] = v[idx]
            arrays.append(a)
        known = np.full(shape, _NEVER, dtype=np.int64)
        known[r, c] = self.known[idx]
        until = np.maximum.accumulate(known.max(axis=1)) if shape[1] else np.full(shape[0], _NEVER)
        return _Dense(self, first, arrays[0], arrays[1], arrays[2], known, until)

    def latest_at(self, rows: np.ndarray, cols: np.ndarray, instant: int) -> np.ndarray:
        """Index of the latest revision known at ``instant`` of each bar (calendar row, column); -1 where none."""
        wanted = rows * len(self.symbols) + cols
        lo, hi = np.searchsorted(self.keys, wanted, side="left"), np.searchsorted(self.keys, wanted, side="right")
        out = np.full(len(wanted), -1, dtype=np.int64)
        for k in range(len(wanted)):  # a handful of bars, each with a few revisions ordered by known_at
            j = lo[k] + int(np.searchsorted(self.known[lo[k] : hi[k]], instant, side="right")) - 1
            out[k] = j if j >= lo[k] else -1
        return out

    def priced(self, first: int, last: int, as_of: datetime) -> _Names:
        """The names :func:`_priced_names` gives for the rows dated in calendar rows first..last known at ``as_of``."""
        present = np.zeros(len(self.symbols), dtype=bool)
        present[self.col[self._latest(first, last, as_of)]] = True
        n = int(present.sum())
        return _Names(self.symbols[present], np.full(n, "", dtype=str), np.full(n, np.datetime64("NaT", "D")))


@dataclass(frozen=True)
class _Names:
    """The names of a window: symbols (sorted), sectors ('' when unknown), delisting dates (NaT while listed)."""

    symbols: np.ndarray
    sectors: np.ndarray
    delisted: np.ndarray


@dataclass(frozen=True)
class _Dense:
    """Calendar rows from ``first`` read at one instant as (rows, symbols) arrays; a window is a slice of them."""

    source: _Revisions
    first: int
    returns: np.ndarray
    dollar_volume: np.ndarray
    close: np.ndarray
    #: known_at of each bar (physical units; ``_NEVER`` where none).
    known: np.ndarray
    #: Per row, the latest known_at of the bars dated at or before it.
    known_until: np.ndarray

    def as_of(self, lo: int, hi: int, instant: int) -> _Dense:
        """Rows ``lo:hi`` as read at the earlier ``instant``: each bar this read holds that was not yet known then
        is replaced by its latest revision known then, or dropped."""
        known = self.known[lo:hi]
        r, c = np.nonzero(known > instant)
        arrays = [a[lo:hi].copy() for a in (self.returns, self.dollar_volume, self.close)]
        found = self.source.latest_at(self.first + lo + r, c, instant)
        for a, values in zip(arrays, self.source.values, strict=True):
            a[r, c] = np.where(found >= 0, values[found], np.nan)
        return _Dense(self.source, self.first + lo, arrays[0], arrays[1], arrays[2], known, self.known_until[lo:hi])

    def window(self, day: date, t: datetime, dates: np.ndarray, first: int, names: _Names) -> PanelWindow:
        """The window of ``day``: rows ``first`` to ``first + len(dates) - 1``, the columns of ``names``."""
        columns = self.source.columns
        cols = np.fromiter((columns.get(s, -1) for s in names.symbols.tolist()), dtype=np.int64,
                           count=len(names.symbols))  # fmt: skip
        missing = cols < 0
        take = np.where(missing, 0, cols)
        stop = first + len(dates)

        def cut(a: np.ndarray) -> np.ndarray:
            out = np.take(a[first:stop], take, axis=1)
            out[:, missing] = np.nan  # listed without any bar
            return out

        return PanelWindow(day, t, dates, names.symbols, names.sectors, cut(self.returns), cut(self.dollar_volume),
                           cut(self.close), names.delisted)  # fmt: skip


class _ListedNames:
    """:func:`listed_names` of one instruments read (without ties), for many days; without reference rows, every
    priced name (``priced``, called at most once).

    The rows are sorted once by (symbol, date, known_at); on a day, each symbol's version in effect is its last row
    dated on or before it, as :func:`listed_names` picks it. The result is cached per stretch of days where it
    cannot change: whether a row counts depends only on ``date <= day``, ``listed <= day`` and ``delisted >= day``,
    constant between consecutive values of ``date``, ``listed`` and ``delisted + 1``.
    """

    def __init__(self, instruments: pl.DataFrame, priced: Callable[[], _Names]) -> None:
        self._empty, self._priced = instruments.is_empty(), priced
        self._cache: dict[int, _Names] = {}
        rows = instruments.sort(["symbol", "date", "known_at"])
        self._symbols = rows["symbol"].to_numpy().astype(str)
        self._sectors = rows["sector"].fill_null("").to_numpy().astype(str)
        self._date = rows["date"].to_numpy().astype("datetime64[D]")
        self._listed = rows["listed"].to_numpy().astype("datetime64[D]")
        self._delisted = rows["delisted"].to_numpy().astype("datetime64[D]")
        self._known = rows["known_at"].to_physical().to_numpy()
        ends = self._delisted[~np.isnat(self._delisted)] + np.timedelta64(1, "D")
        self._edges = np.unique(np.concatenate([self._date, self._listed[~np.isnat(self._listed)], ends]))

    def known_after(self, day: date, instant: int) -> bool:
        """Whether a row in effect by ``day`` became known after ``instant`` (physical known_at units)."""
        return bool(np.any(self._known[self._date <= np.datetime64(day, "D")] > instant))

    def on(self, day: date) -> _Names:
        """The names listed on ``day``."""
        d = np.datetime64(day, "D")
        key = int(np.searchsorted(self._edges, d, side="right"))
        if key in self._cache:
            return self._cache[key]
        if self._empty:
            found = self._priced()
        else:
            idx = np.flatnonzero(self._date <= d)
            sym = self._symbols[idx]
            last = np.ones(idx.size, dtype=bool)
            last[:-1] = sym[1:] != sym[:-1]
            idx = idx[last]
            listed, delisted = self._listed[idx], self._delisted[idx]
            idx = idx[(np.isnat(listed) | (listed <= d)) & (np.isnat(delisted) | (delisted >= d))]
            found = _Names(self._symbols[idx], self._sectors[idx], self._delisted[idx])
        self._cache[key] = found
        return found


#: Columns a price frame handed to :func:`panel_from_frame` must have (``prices_adjusted`` columns).
PRICE_INPUT_COLUMNS = MappingProxyType(
    {
        "date": pl.Date(),  # session
        "symbol": pl.String(),  # instrument
        "close": pl.Float64(),  # split-adjusted close
        "volume": pl.Float64(),  # split-adjusted volume (close x volume is split invariant)
        "total_return": pl.Float64(),  # close-to-close total return, null on the first day
    }
)


@dataclass(frozen=True)
class PricePanel:
    """Arrays of shape (sessions, symbols); NaN where no bar was known at the session's decision time."""

    market: Market
    sessions: tuple[date, ...]
    decision_times: tuple[datetime, ...]
    symbols: tuple[str, ...]
    returns: np.ndarray
    dollar_volume: np.ndarray

    def __post_init__(self) -> None:
        shape = (len(self.sessions), len(self.symbols))
        if self.returns.shape != shape or self.dollar_volume.shape != shape:
            raise ValueError(f"panel arrays must have shape {shape}")

    def index_of(self, session: date) -> int:
        """Row of ``session`` (KeyError when the panel lacks it)."""
        try:
            return self.sessions.index(session)
        except ValueError:
            raise KeyError(session) from None

    def rows(self, start: int, stop: int) -> PricePanel:
        """Sessions ``start:stop`` (all symbols)."""
        return PricePanel(
            self.market,
            self.sessions[start:stop],
            self.decision_times[start:stop],
            self.symbols,
            self.returns[start:stop],
            self.dollar_volume[start:stop],
        )


def panel_from_frame(
    frame: pl.DataFrame, market: Market | str, sessions: Sequence[date], decision_times: Sequence[datetime]
) -> PricePanel:
    """Pivot a frame with :data:`PRICE_INPUT_COLUMNS` (already point in time) into a panel over ``sessions``.

    Raises
    ------
    DataError
        A missing column or a duplicated (date, symbol).
    """
    missing = [c for c in PRICE_INPUT_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"price frame lacks column(s) {missing}", field=missing[0])
    f = frame.select(list(PRICE_INPUT_COLUMNS)).cast(dict(PRICE_INPUT_COLUMNS)).filter(pl.col("date").is_in(sessions))
    if f.select(pl.struct("date", "symbol").is_duplicated().any()).item():
        raise DataError("duplicated (date, symbol) in the price frame", field="date,symbol")
    symbols = tuple(sorted(f["symbol"].unique().to_list()))
    row = {d: k for k, d in enumerate(sessions)}
    col = {s: k for k, s in enumerate(symbols)}
    t = np.fromiter((row[d] for d in f["date"].to_list()), dtype=np.int64, count=f.height)
    i = np.fromiter((col[s] for s in f["symbol"].to_list()), dtype=np.int64, count=f.height)
    returns = np.full((len(sessions), len(symbols)), np.nan)
    dollar = np.full_like(returns, np.nan)
    returns[t, i] = f["total_return"].fill_null(np.nan).to_numpy()
    dollar[t, i] = (f["close"] * f["volume"]).fill_null(np.nan).to_numpy()
    return PricePanel(Market(str(market)), tuple(sessions), tuple(decision_times), symbols, returns, dollar)


def load_price_panel(
    view: TimeMachine, market: Market | str, sessions: Sequence[date], decision_times: Sequence[datetime]
) -> PricePanel:
    """The (sessions x names) panel of ``prices_adjusted``, each bar as known at its own session's decision time.

    ``view`` must be at (or after) the last decision time. The :class:`PointInTimePanel` with one-session windows:
    a revision or a late row known after a session was decided never reaches that session.

    Raises
    ------
    DataError
        No sessions to load.
    """
    if not sessions:
        raise DataError("no sessions to load", field="sessions")
    m = Market(str(market))
    reader = PointInTimePanel(view, m, sessions, decision_times, sessions, window=1, block=_PRICE_PANEL_BLOCK)
    windows = list(reader)
    symbols = tuple(sorted({s for w in windows for s in w.symbols.tolist()}))
    col = {s: k for k, s in enumerate(symbols)}
    returns = np.full((len(sessions), len(symbols)), np.nan)
    dollar = np.full_like(returns, np.nan)
    for k, w in enumerate(windows):
        cols = np.fromiter((col[s] for s in w.symbols.tolist()), dtype=np.int64, count=len(w.symbols))
        returns[k, cols] = w.returns[-1]
        dollar[k, cols] = w.dollar_volume[-1]
    return PricePanel(m, tuple(sessions), tuple(decision_times), symbols, returns, dollar)


#: One-session windows are cheap to serve: a longer block means fewer reads of the lake.
_PRICE_PANEL_BLOCK = 63
