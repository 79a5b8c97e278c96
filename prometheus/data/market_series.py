"""The market series engines use (ARCHITECTURE section 3): the market's configured benchmark if it has one,
else the equal-weighted total return of the names listed at t. Always read through a TimeMachine view."""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

import polars as pl

from prometheus.core.errors import DataError
from prometheus.core.types import Market
from prometheus.data.schema import Table
from prometheus.data.timemachine import TimeMachine

#: Columns of the market series: session date, the market's return that session, how it was made, names used.
MARKET_SERIES_SCHEMA = pl.Schema(
    {"date": pl.Date(), "market_return": pl.Float64(), "source": pl.String(), "names": pl.Int64()}
)
#: Days read before ``start`` so the first benchmark return has a previous level.
_LOOKBACK_DAYS = 14


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
    names = view.table(Table.INSTRUMENTS, market=market).sort("known_at").unique("symbol", keep="last")
    listed = (
        returns.join(names.select("symbol", "listed", "delisted"), on="symbol")
        .filter(pl.col("listed").is_null() | (pl.col("listed") <= pl.col("date")))
        .filter(pl.col("delisted").is_null() | (pl.col("delisted") >= pl.col("date")))
    )
    out = listed.group_by("date").agg(
        pl.col("total_return").mean().alias("market_return"), pl.len().cast(pl.Int64).alias("names")
    )
    return (
        out.with_columns(pl.lit(MarketSeriesSource.EQUAL_WEIGHTED.value).alias("source"))
        .select(MARKET_SERIES_SCHEMA.names())
        .sort("date")
    )


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
