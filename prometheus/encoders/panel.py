"""Point-in-time (session x instrument) price panels: the input of the numeric encoder and of the profiles.

Each value is the bar of session s as known at the decision time of s: a revision or a late row known after
that instant never reaches session s or any session before it, so features built from the panel never look
ahead. The panel is read through the TimeMachine in segments, one view per segment, splitting a segment
wherever one of its rows was revised after its own decision time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType

import numpy as np
import polars as pl

from prometheus.calendar import TradingCalendar
from prometheus.core.errors import DataError
from prometheus.core.types import Market
from prometheus.data.known_at import bar_known_at
from prometheus.data.schema import UTC_DATETIME, Table
from prometheus.data.timemachine import TimeMachine

#: Columns a price frame handed to :func:`panel_from_frame` must have (prices_adjusted columns).
PRICE_INPUT_COLUMNS = MappingProxyType(
    {
        "date": pl.Date(),  # session
        "symbol": pl.String(),  # instrument
        "close": pl.Float64(),  # split-adjusted close
        "volume": pl.Float64(),  # split-adjusted volume (close x volume is split invariant)
        "total_return": pl.Float64(),  # close-to-close total return, null on the first day
    }
)


#: Longest segment read with one view.
SEGMENT_SESSIONS = 63


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


def session_decision_times(
    calendar: TradingCalendar, market: Market | str, sessions: Sequence[date], bar_delay: timedelta
) -> tuple[datetime, ...]:
    """Decision time of each session: its close plus the bar delay (when its bar is known)."""
    return tuple(bar_known_at(calendar, market, d, bar_delay) for d in sessions)


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
    """The panel of ``prices_adjusted`` over ``sessions``, each bar as known at its own decision time.

    ``view`` must be at (or after) the last decision time. One view per segment of sessions: a segment ends
    before the first instant at which one of its rows was revised (or arrived late).
    """
    if not sessions:
        raise DataError("no sessions to load", field="sessions")
    dts = list(decision_times)
    known = pl.DataFrame(
        {"date": list(sessions), "decision_time": dts}, schema={"date": pl.Date(), "decision_time": UTC_DATETIME}
    )
    parts: list[pl.DataFrame] = []
    a = 0
    while a < len(sessions):
        b, rows = _segment(view, market, sessions, dts, known, a)
        parts.append(rows)
        a = b + 1
    frame = pl.concat(parts) if parts else pl.DataFrame(schema=dict(PRICE_INPUT_COLUMNS))
    return panel_from_frame(frame, market, sessions, dts)


def _segment(
    view: TimeMachine,
    market: Market | str,
    sessions: Sequence[date],
    dts: list[datetime],
    known: pl.DataFrame,
    a: int,
) -> tuple[int, pl.DataFrame]:
    # Bounded first guess: a view over the whole remaining history per segment would make loading quadratic.
    b = min(len(sessions) - 1, a + SEGMENT_SESSIONS - 1)
    while True:
        rows = _rows(view.at(dts[b]), market, sessions[a], sessions[b]).join(known, on="date", how="left")
        late = rows.filter(pl.col("known_at") > pl.col("decision_time"))
        if late.is_empty():
            return b, rows.select(list(PRICE_INPUT_COLUMNS))
        first_late = late["known_at"].min()
        instants = np.array([_naive(d) for d in dts])
        b_new = int(np.searchsorted(instants, _naive(first_late), side="left")) - 1
        if b_new < a:
            # A row of session a itself arrived late: read that session alone, as known at its decision time.
            rows = _rows(view.at(dts[a]), market, sessions[a], sessions[a])
            return a, rows.select(list(PRICE_INPUT_COLUMNS))
        b = b_new


def _rows(view: TimeMachine, market: Market | str, start: date, end: date) -> pl.DataFrame:
    cols = [*PRICE_INPUT_COLUMNS, "known_at"]
    return view.table(Table.PRICES_ADJUSTED, market=market, start=start, end=end, columns=cols)


def _naive(ts: datetime) -> np.datetime64:
    return np.datetime64(ts.astimezone(UTC).replace(tzinfo=None), "us")
