"""The market series engines use (ARCHITECTURE section 3): the market's configured benchmark if it has one,
else the equal-weighted total return of the names listed at t. Always read through a TimeMachine view.

:func:`market_series` reads a range as one view knows it. :func:`market_returns_known` gives each session's
return as known at that session's own decision time, from one read per table: the same values, bit for bit, as
one :func:`market_series` call per session at its own view (:func:`market_returns_per_session`, the reference
it is tested against), without scanning the history once per session.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from enum import StrEnum

import numpy as np
import polars as pl

from prometheus.core.errors import DataError
from prometheus.core.time import to_utc
from prometheus.core.types import Market
from prometheus.data.schema import UTC_DATETIME, Table
from prometheus.data.timemachine import TimeMachine

#: Columns of the market series: session date, the market's return that session, how it was made, names used.
MARKET_SERIES_SCHEMA = pl.Schema(
    {"date": pl.Date(), "market_return": pl.Float64(), "source": pl.String(), "names": pl.Int64()}
)
#: Days read before ``start`` so the first benchmark return has a previous level.
_LOOKBACK_DAYS = 14

#: (view, market, start, end) -> frame with ``date`` and ``market_return`` (the :func:`market_series` contract).
SeriesReader = Callable[[TimeMachine, Market, date, date], pl.DataFrame]


class MarketSeriesSource(StrEnum):
    """How a market return was obtained."""

    BENCHMARK = "benchmark"
    EQUAL_WEIGHTED = "equal_weighted"


def benchmark_of(view: TimeMachine, market: Market) -> str | None:
    """The benchmark series configured for ``market`` in the view's ``markets`` table (None when none)."""
    markets = view.table(Table.MARKETS, market=market)
    if markets.is_empty():
        return None
    value = markets.sort("known_at")["benchmark"][-1]
    return str(value) if value else None


def market_series(view: TimeMachine, market: Market, start: date, end: date) -> pl.DataFrame:
    """Market returns for the sessions in ``[start, end]`` known to ``view`` (``MARKET_SERIES_SCHEMA``).

    Benchmark: simple returns of the benchmark's levels in ``macro_observations``. Otherwise: the mean
    ``total_return`` (dividends included) over the names listed on each date, as the view knows them; names
    without a return that day (first session) do not count.

    Raises
    ------
    DataError
        A benchmark is configured but the view has no observations of it in the range.
    """
    benchmark = benchmark_of(view, market)
    if benchmark is not None:
        return _benchmark_returns(view, market, benchmark, start, end)
    returns = view.table(
        Table.PRICES_ADJUSTED, market=market, start=start, end=end, columns=["date", "symbol", "total_return"]
    ).drop_nulls("total_return")
    return _equal_weighted(returns, _instruments(view, market))


def _instruments(view: TimeMachine, market: Market) -> pl.DataFrame:
    return view.table(Table.INSTRUMENTS, market=market).sort("known_at").unique("symbol", keep="last")


def _equal_weighted(returns: pl.DataFrame, names: pl.DataFrame) -> pl.DataFrame:
    # Shared by the per-range and the batched readers, so both average the same rows the same way.
    listed = (
        returns.join(names.select("symbol", "listed", "delisted"), on="symbol")
        .filter(pl.col("listed").is_null() | (pl.col("listed") <= pl.col("date")))
        .filter(pl.col("delisted").is_null() | (pl.col("delisted") >= pl.col("date")))
        .select("date", "total_return")
        .sort("date")
    )
    out = listed.group_by("date", maintain_order=True).agg(pl.len().cast(pl.Int64).alias("names"))
    # The mean of a date is its exactly rounded sum over the count: independent of the order of the rows (which
    # a join leaves to hashing), so one date read alone and many dates read at once give the same bits.
    values, counts = listed["total_return"].to_list(), out["names"].to_list()
    ends = np.cumsum(counts).tolist()
    means = [_exact_mean(values[end - n : end]) for end, n in zip(ends, counts, strict=True)]
    return (
        out.with_columns(
            pl.Series("market_return", means, dtype=pl.Float64()),
            pl.lit(MarketSeriesSource.EQUAL_WEIGHTED.value).alias("source"),
        )
        .select(MARKET_SERIES_SCHEMA.names())
        .sort("date")
    )


def _exact_mean(values: list[float]) -> float:
    try:
        return math.fsum(values) / len(values)
    except ValueError:  # +inf and -inf together: no sum, as in float arithmetic
        return math.nan


def _benchmark_returns(view: TimeMachine, market: Market, series: str, start: date, end: date) -> pl.DataFrame:
    levels = (
        view.table(Table.MACRO_OBSERVATIONS, market=market, start=start - timedelta(days=_LOOKBACK_DAYS), end=end)
        .filter(pl.col("series") == series)
        .sort("date")
    )
    if levels.filter(pl.col("date") >= start).is_empty():
        raise DataError(
            f"benchmark {series!r} of {market.value} has no observations from {start} to {end} known at {view.as_of}",
            file=Table.MACRO_OBSERVATIONS.value,
            field="series",
        )
    out = levels.select(
        "date",
        (pl.col("value") / pl.col("value").shift(1) - 1.0).alias("market_return"),
        pl.lit(MarketSeriesSource.BENCHMARK.value).alias("source"),
        pl.lit(None, dtype=pl.Int64).alias("names"),
    )
    return out.filter(pl.col("date") >= start).select(MARKET_SERIES_SCHEMA.names())


def market_returns_per_session(
    view: TimeMachine,
    market: Market,
    sessions: Sequence[date],
    times: Sequence[datetime],
    series: SeriesReader = market_series,
) -> np.ndarray:
    """The return of each session read through ``view.at`` its own decision time, one read per session (NaN
    where nothing is known): the definition :func:`market_returns_known` reproduces, and the reader for a
    substitute ``series``."""
    out = np.full(len(sessions), np.nan)
    for i, (day, t) in enumerate(zip(sessions, times, strict=True)):
        try:
            frame = series(view.at(t), market, day, day)
        except DataError:
            # Nothing known for this session (before the series starts): a gap, not an error.
            continue
        row = frame.filter(pl.col("date") == day)
        value = row["market_return"][0] if row.height else None
        if value is not None:
            out[i] = float(value)
    return out


def market_returns_known(
    view: TimeMachine, market: Market, sessions: Sequence[date], times: Sequence[datetime]
) -> np.ndarray:
    """The return of each session (increasing) as known at its decision time; NaN where nothing is known.

    Equal, bit for bit, to :func:`market_returns_per_session` with :func:`market_series`, late rows and revisions
    included: each table is read once at ``view`` with every revision, and each row is resolved at the decision
    time of the session it serves. The benchmark setting and the instrument list only change when a row of
    ``markets`` or ``instruments`` becomes known, so sessions that see the same such rows share one read of them.

    Raises
    ------
    LookAheadError
        A decision time later than the view's.
    """
    n = len(sessions)
    out = np.full(n, np.nan)
    if n == 0:
        return out
    at = [to_utc(t) for t in times]
    view.at(max(at))  # a session decided after the view would be a look ahead, as with one read per session
    seen = zip(_seen(view, Table.MARKETS, market, at), _seen(view, Table.INSTRUMENTS, market, at), strict=True)
    first_of: dict[tuple[int, int], int] = {}
    group = [first_of.setdefault(key, i) for i, key in enumerate(seen)]
    clock = pl.DataFrame(
        {"date": list(sessions), "t": at, "row": range(n), "group": group},
        schema={"date": pl.Date(), "t": UTC_DATETIME, "row": pl.Int64(), "group": pl.Int64()},
    )
    # Every session of a group sees the same markets and instruments rows as the group's first session.
    views = {g: view.at(at[g]) for g in first_of.values()}
    benchmarks = {g: benchmark_of(v, market) for g, v in views.items()}
    found: list[pl.DataFrame] = []
    for g, benchmark in benchmarks.items():
        if benchmark is not None:
            found.append(_benchmark_known(view, market, benchmark, clock.filter(pl.col("group") == g)))
    equal_weighted = clock.filter(pl.col("group").is_in([g for g, b in benchmarks.items() if b is None]))
    if not equal_weighted.is_empty():
        prices = _prices_known(view, market, equal_weighted)
        for rows in prices.partition_by("group"):
            means = _equal_weighted(rows, _instruments(views[rows["group"][0]], market))
            found.append(equal_weighted.join(means, on="date").select("row", "market_return"))
    for part in found:
        part = part.drop_nulls("market_return")
        out[part["row"].to_numpy()] = part["market_return"].to_numpy()
    return out


def series_returns_known(
    series: str, view: TimeMachine, market: Market, sessions: Sequence[date], times: Sequence[datetime]
) -> np.ndarray:
    """Returns of the macro series ``series`` (e.g. ``SP500``) of ``market`` per session, each as known at its
    decision time; NaN where nothing is known. What :func:`market_returns_known` gives for a market whose benchmark
    is ``series``, without making it the benchmark: ``functools.partial(series_returns_known, "SP500")`` is a
    returns reader for the Regime engine, so an index can be labelled beside the market's own series.

    Raises
    ------
    LookAheadError
        A decision time later than the view's.
    """
    out = np.full(len(sessions), np.nan)
    if not sessions:
        return out
    at = [to_utc(t) for t in times]
    view.at(max(at))
    clock = pl.DataFrame(
        {"date": list(sessions), "t": at, "row": range(len(sessions))},
        schema={"date": pl.Date(), "t": UTC_DATETIME, "row": pl.Int64()},
    )
    found = _benchmark_known(view, market, series, clock).drop_nulls("market_return")
    out[found["row"].to_numpy()] = found["market_return"].to_numpy()
    return out


def _seen(view: TimeMachine, table: Table, market: Market, at: Sequence[datetime]) -> np.ndarray:
    """Per instant, how many rows of ``table`` are known then: equal counts mean the same rows."""
    known = view.revisions(table, market=market, columns=["known_at"])["known_at"].sort()
    stamps = pl.Series(at, dtype=UTC_DATETIME)
    return known.search_sorted(stamps, side="right").to_numpy()


def _prices_known(view: TimeMachine, market: Market, clock: pl.DataFrame) -> pl.DataFrame:
    """Each session's ``total_return`` rows (with its ``group``), the latest revision known at its decision time."""
    rows = view.revisions(
        Table.PRICES_ADJUSTED, market=market, start=clock["date"].min(), end=clock["date"].max(),
        columns=["date", "symbol", "total_return", "known_at"],
    )  # fmt: skip
    visible = rows.join(clock.select("date", "t", "group"), on="date").filter(pl.col("known_at") <= pl.col("t"))
    ident = ["date", "symbol"]
    # As TimeMachine.table: the latest revision per key (the order of rows does not matter to the mean).
    if visible.select(pl.struct(ident).is_duplicated().any()).item():
        visible = visible.sort([*ident, "known_at"]).unique(subset=ident, keep="last", maintain_order=True)
    return visible.select("date", "symbol", "total_return", "group").drop_nulls("total_return")


def _benchmark_known(view: TimeMachine, market: Market, series: str, part: pl.DataFrame) -> pl.DataFrame:
    """``row`` and ``market_return`` of the sessions in ``part`` whose benchmark level is known at their time."""
    levels = view.revisions(
        Table.MACRO_OBSERVATIONS, market=market, start=part["date"].min() - timedelta(days=_LOOKBACK_DAYS),
        end=part["date"].max(), columns=["series", "date", "value", "known_at"],
    ).filter(pl.col("series") == series)  # fmt: skip
    # Each session against every level of its own window [date - 14 days, date], as known at its time.
    back = pl.DataFrame({"back": range(_LOOKBACK_DAYS + 1)}, schema={"back": pl.Int32()})
    pairs = (
        part.join(back, how="cross")
        .with_columns((pl.col("date").cast(pl.Int32) - pl.col("back")).cast(pl.Date()).alias("level_date"))
        .join(levels.rename({"date": "level_date"}), on="level_date")
        .filter(pl.col("known_at") <= pl.col("t"))
    )
    latest = pairs.sort(["row", "level_date", "known_at"]).unique(
        ["row", "level_date"], keep="last", maintain_order=True
    )
    own = latest.filter(pl.col("level_date") == pl.col("date")).select("row", pl.col("value").alias("level"))
    prev = (
        latest.filter(pl.col("level_date") < pl.col("date"))
        .group_by("row")
        .agg(pl.col("value").sort_by("level_date").last().alias("previous"))
    )
    # Sessions without a level of their own date have no return (the per-session read raises there).
    return own.join(prev, on="row", how="left").select(
        "row", (pl.col("level") / pl.col("previous") - 1.0).alias("market_return")
    )
