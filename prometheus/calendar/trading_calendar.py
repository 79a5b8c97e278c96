"""TradingCalendar: sessions, opens, closes and market states on top of exchange_calendars.

State of a market at an instant, in order of precedence:

1. ``POST_CLOSE`` for ``post_close`` after a session's close. For markets whose close is the next session's open
   (US_FUT 17:00-17:00 Chicago, FX) this window overlaps the next session; POST_CLOSE wins there, because it is
   the window in which the daily pipeline of the session just closed runs.
2. ``OPEN`` between a session's open and close, except ``BREAK`` during a lunch break (Tokyo).
3. ``PRE_OPEN`` for ``pre_open`` before a session's open.
4. ``CLOSED`` otherwise (nights, weekends, holidays).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np

from prometheus.calendar.markets import MARKETS
from prometheus.core.errors import ConfigError
from prometheus.core.time import to_date, to_utc
from prometheus.core.types import Market, MarketState

if TYPE_CHECKING:
    import exchange_calendars as xcals
    import pandas as pd
    import polars as pl

#: Earliest session the calendars cover: the reference index history starts in 1999.
DEFAULT_START = "1990-01-02"


def sessions_schema() -> dict[str, pl.DataType]:
    """Columns of :meth:`TradingCalendar.sessions_frame`."""
    import polars as pl  # noqa: PLC0415 - see sessions_frame

    return {
        "session": pl.Date(),  # session date in the market's time zone
        "open": pl.Datetime("us", "UTC"),  # first instant of trading
        "close": pl.Datetime("us", "UTC"),  # last instant of trading (early closes included)
        "break_start": pl.Datetime("us", "UTC"),  # lunch break start, null where none
        "break_end": pl.Datetime("us", "UTC"),  # lunch break end, null where none
    }


_NAT = np.iinfo(np.int64).min


@dataclass(frozen=True, slots=True)
class Transition:
    """The next change of state: at ``at`` (UTC) the market enters ``state``."""

    at: datetime
    state: MarketState


@dataclass(frozen=True, slots=True)
class _Arrays:
    """Session boundaries of one calendar as int64 nanoseconds since the epoch (UTC)."""

    sessions: np.ndarray  # datetime64[D], increasing
    opens: np.ndarray
    closes: np.ndarray
    break_starts: np.ndarray
    break_ends: np.ndarray


def parse_market(market: Market | str) -> Market:
    """Market from its id, with a clear error listing the known markets."""
    try:
        return Market(str(market).upper())
    except ValueError:
        known = ", ".join(m.value for m in Market)
        raise ConfigError(f"unknown market {market!r}; known markets: {known}", setting="market") from None


@lru_cache(maxsize=16)
def _exchange_calendar(code: str, start: str, end: str | None) -> xcals.ExchangeCalendar:
    # exchange_calendars (and pandas with it) loads here, not with the module: with a schedule cache,
    # `prometheus calendar state` answers without them (benchmarks/bench_cli_startup.py).
    import exchange_calendars as xcals  # noqa: PLC0415
    import pandas as pd  # noqa: PLC0415

    from prometheus.calendar.fx import FXGlobalCalendar  # noqa: PLC0415

    if code == "FX_GLOB":
        return FXGlobalCalendar(start=start, end=end)
    factory = xcals.calendar_utils.global_calendar_dispatcher._calendar_factories[code]
    bound = factory.bound_min()
    # Some exchanges' rules are only known from a later date (Tokyo from 1997): start there.
    first = max(pd.Timestamp(start), bound) if bound is not None else pd.Timestamp(start)
    return xcals.get_calendar(code, start=first.strftime("%Y-%m-%d"), end=end)


def _ns(series: pd.Series) -> np.ndarray:
    values = series.to_numpy(dtype="datetime64[ns]", na_value=np.datetime64("NaT"))
    return values.astype(np.int64)


class TradingCalendar:
    """Sessions and states of every market in :data:`prometheus.calendar.markets.MARKETS`.

    Parameters
    ----------
    pre_open, post_close
        Lengths of the PRE_OPEN and POST_CLOSE windows.
    start, end
        Range of sessions covered (``end`` None: exchange_calendars' default, about a year ahead).
    cache_dir
        Folder for schedule caches: a market's session boundaries are written there when first built and read
        back by later processes (keyed by market, range, exchange_calendars version and, for the default end,
        the month built), so a short command need not load exchange_calendars. None: no cache.
    """

    def __init__(
        self,
        pre_open: timedelta = timedelta(minutes=60),
        post_close: timedelta = timedelta(minutes=60),
        start: str = DEFAULT_START,
        end: str | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        if pre_open < timedelta(0) or post_close < timedelta(0):
            raise ConfigError("pre_open and post_close windows must not be negative", setting="calendar")
        self.pre_open = pre_open
        self.post_close = post_close
        self.start = start
        self.end = end
        self.cache_dir = cache_dir
        self._arrays: dict[Market, _Arrays] = {}

    # -- calendars ---------------------------------------------------------------------------------------------
    def exchange_calendar(self, market: Market | str) -> xcals.ExchangeCalendar:
        """The exchange_calendars object behind ``market``."""
        return _exchange_calendar(MARKETS[parse_market(market)].calendar_code, self.start, self.end)

    def tz(self, market: Market | str) -> ZoneInfo:
        """Time zone in which the market's session dates are expressed."""
        return MARKETS[parse_market(market)].tz

    def _arr(self, market: Market | str) -> _Arrays:
        m = parse_market(market)
        if m not in self._arrays:
            cached = self._cache_path(m)
            if cached is not None and cached.exists():
                with np.load(cached) as z:
                    self._arrays[m] = _Arrays(*(z[f] for f in _ARRAY_FIELDS))
            else:
                sched = self.exchange_calendar(m).schedule
                self._arrays[m] = _Arrays(
                    sessions=sched.index.values.astype("datetime64[D]"),
                    opens=_ns(sched["open"]),
                    closes=_ns(sched["close"]),
                    break_starts=_ns(sched["break_start"]),
                    break_ends=_ns(sched["break_end"]),
                )
                if cached is not None:
                    _write_cache(cached, self._arrays[m])
        return self._arrays[m]

    def _cache_path(self, market: Market) -> Path | None:
        if self.cache_dir is None:
            return None
        # The default end moves with the day exchange_calendars is asked: such a cache is renewed each month.
        end = self.end or f"default{datetime.now(UTC):%Y%m}"
        return self.cache_dir / f"{market.value}_{self.start}_{end}_xcals{version('exchange_calendars')}.npz"

    # -- sessions ----------------------------------------------------------------------------------------------
    def sessions(self, market: Market | str, start: date | str, end: date | str) -> list[date]:
        """Session dates of ``market`` from ``start`` to ``end`` inclusive."""
        arr = self._arr(market)
        lo, hi = self._slice(arr, start, end)
        return arr.sessions[lo:hi].tolist()

    def sessions_frame(self, market: Market | str, start: date | str, end: date | str) -> pl.DataFrame:
        """Sessions with their opens, closes and breaks in UTC (columns: :func:`sessions_schema`)."""
        # polars loads here, not with the module: the calendar is what `prometheus calendar state` needs, and
        # polars would be a sixth of its start-up (benchmarks/bench_cli_startup.py).
        import polars as pl  # noqa: PLC0415

        arr = self._arr(market)
        lo, hi = self._slice(arr, start, end)

        def col(values: np.ndarray) -> pl.Series:
            s = pl.Series(values[lo:hi], dtype=pl.Int64)
            s = pl.when(s == _NAT).then(None).otherwise(s)
            return pl.select(s.cast(pl.Datetime("ns", "UTC")).dt.cast_time_unit("us")).to_series()

        return pl.DataFrame(
            {
                "session": pl.Series(arr.sessions[lo:hi].tolist(), dtype=pl.Date),
                "open": col(arr.opens),
                "close": col(arr.closes),
                "break_start": col(arr.break_starts),
                "break_end": col(arr.break_ends),
            },
            schema=sessions_schema(),
        )

    def sessions_before(self, market: Market | str, day: date | str, n: int, *, inclusive: bool = False) -> list[date]:
        """The ``n`` sessions of ``market`` before ``day`` (``day`` itself too when ``inclusive``), oldest first.

        Fewer than ``n`` when the calendar starts later: lookbacks count sessions, never calendar days.
        """
        if n < 0:
            raise ConfigError(f"sessions_before needs n >= 0, got {n}", setting="n")
        arr = self._arr(market)
        hi = int(np.searchsorted(arr.sessions, _day(day), side="right" if inclusive else "left"))
        return arr.sessions[max(0, hi - n) : hi].tolist()

    def _slice(self, arr: _Arrays, start: date | str, end: date | str) -> tuple[int, int]:
        lo = np.searchsorted(arr.sessions, _day(start), side="left")
        hi = np.searchsorted(arr.sessions, _day(end), side="right")
        return int(lo), int(hi)

    def is_session(self, market: Market | str, day: date | str) -> bool:
        """True when ``day`` is a trading session of ``market``."""
        arr = self._arr(market)
        stamp = _day(day)
        i = int(np.searchsorted(arr.sessions, stamp))
        return bool(i < len(arr.sessions) and arr.sessions[i] == stamp)

    def _index(self, market: Market | str, session: date | str) -> int:
        arr = self._arr(market)
        stamp = _day(session)
        i = int(np.searchsorted(arr.sessions, stamp))
        if i >= len(arr.sessions) or arr.sessions[i] != stamp:
            raise ConfigError(f"{to_date(session)} is not a session of {parse_market(market)}", setting="session")
        return i

    def open_at(self, market: Market | str, session: date | str) -> datetime:
        """Open of ``session`` in UTC."""
        return _dt(self._arr(market).opens[self._index(market, session)])

    def close_at(self, market: Market | str, session: date | str) -> datetime:
        """Close of ``session`` in UTC (early closes included)."""
        return _dt(self._arr(market).closes[self._index(market, session)])

    def break_at(self, market: Market | str, session: date | str) -> tuple[datetime, datetime] | None:
        """Lunch break of ``session`` (start, end) in UTC, or None."""
        arr, i = self._arr(market), self._index(market, session)
        if arr.break_starts[i] == _NAT:
            return None
        return _dt(arr.break_starts[i]), _dt(arr.break_ends[i])

    def next_session(self, market: Market | str, day: date | str) -> date:
        """First session strictly after ``day``."""
        arr = self._arr(market)
        i = int(np.searchsorted(arr.sessions, _day(day), side="right"))
        self._check_range(market, i)
        return arr.sessions[i].item()

    def previous_session(self, market: Market | str, day: date | str) -> date:
        """Last session strictly before ``day``."""
        arr = self._arr(market)
        i = int(np.searchsorted(arr.sessions, _day(day), side="left")) - 1
        self._check_range(market, i)
        return arr.sessions[i].item()

    def _check_range(self, market: Market | str, i: int) -> None:
        arr = self._arr(market)
        if i < 0 or i >= len(arr.sessions):
            raise ConfigError(
                f"outside the calendar of {parse_market(market)} "
                f"({arr.sessions[0].item()} .. {arr.sessions[-1].item()})",
                setting="calendar",
            )

    # -- states ------------------------------------------------------------------------------------------------
    def state(self, market: Market | str, ts: datetime | str) -> MarketState:
        """State of ``market`` at ``ts`` (naive input is UTC)."""
        return self._state_ns(self._arr(market), market, _to_ns(ts))

    def _state_ns(self, arr: _Arrays, market: Market | str, t: int) -> MarketState:
        pre, post = _td_ns(self.pre_open), _td_ns(self.post_close)
        i = int(np.searchsorted(arr.opens, t, side="right")) - 1  # last session opened at or before t
        self._check_range(market, max(i, 0))
        if i + 1 >= len(arr.opens):
            self._check_range(market, i + 1)
        if i >= 0 and arr.closes[i] <= t < arr.closes[i] + post:
            return MarketState.POST_CLOSE
        if i >= 1 and arr.closes[i - 1] <= t < arr.closes[i - 1] + post:
            return MarketState.POST_CLOSE
        if i >= 0 and t < arr.closes[i]:
            if arr.break_starts[i] != _NAT and arr.break_starts[i] <= t < arr.break_ends[i]:
                return MarketState.BREAK
            return MarketState.OPEN
        if arr.opens[i + 1] - pre <= t:
            return MarketState.PRE_OPEN
        return MarketState.CLOSED

    def next_transition(self, market: Market | str, ts: datetime | str) -> Transition:
        """The first instant after ``ts`` at which the state changes, and the state entered."""
        arr = self._arr(market)
        t = _to_ns(ts)
        current = self._state_ns(arr, market, t)
        i = max(int(np.searchsorted(arr.opens, t, side="right")) - 2, 0)
        pre, post = _td_ns(self.pre_open), _td_ns(self.post_close)
        for lo in range(i, len(arr.opens), 4):
            sl = slice(lo, min(lo + 6, len(arr.opens)))
            bounds = np.concatenate(
                [
                    arr.opens[sl] - pre,
                    arr.opens[sl],
                    arr.closes[sl],
                    arr.closes[sl] + post,
                    arr.break_starts[sl][arr.break_starts[sl] != _NAT],
                    arr.break_ends[sl][arr.break_ends[sl] != _NAT],
                ]
            )
            for b in np.unique(bounds[bounds > t]):
                state = self._state_ns(arr, market, int(b))
                if state is not current:
                    return Transition(_dt(int(b)), state)
        raise ConfigError(f"no transition of {parse_market(market)} after {ts} in the calendar range")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ARRAY_FIELDS = ("sessions", "opens", "closes", "break_starts", "break_ends")


def _day(d: date | str) -> np.datetime64:
    return np.datetime64(to_date(d), "D")


def _write_cache(path: Path, arrays: _Arrays) -> None:
    """Write the arrays to ``path`` atomically (a half-written cache is never read)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as f:
        np.savez(f, **{name: getattr(arrays, name) for name in _ARRAY_FIELDS})
    tmp.replace(path)


def _to_ns(ts: datetime | str) -> int:
    return (to_utc(ts) - _EPOCH) // timedelta(microseconds=1) * 1000


def _td_ns(td: timedelta) -> int:
    return int(td.total_seconds() * 1_000_000_000)


def _dt(ns: int | np.integer) -> datetime:
    return _EPOCH + timedelta(microseconds=int(ns) // 1000)


@lru_cache(maxsize=8)
def _cached(pre_minutes: int, post_minutes: int) -> TradingCalendar:
    return TradingCalendar(timedelta(minutes=pre_minutes), timedelta(minutes=post_minutes))


def get_calendar(pre_open_minutes: int = 60, post_close_minutes: int = 60) -> TradingCalendar:
    """A shared calendar instance per window configuration (building a calendar costs about a second)."""
    return _cached(pre_open_minutes, post_close_minutes)
