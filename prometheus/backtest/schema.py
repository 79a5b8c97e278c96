"""The daily results of a backtest: one row per (experiment, market, session) in ``backtest_daily``.

Money columns are in the market's account currency; exposure and turnover are fractions of the session's
equity; cost columns are the amounts of that session (not cumulative), so sums over any span are that span's cost.
"""

from __future__ import annotations

import polars as pl

#: Columns of ``backtest_daily`` (and of the frames the runner and the tear sheet exchange): name -> (dtype, meaning).
BACKTEST_DAILY_SCHEMA: dict[str, tuple[pl.DataType, str]] = {
    "experiment": (pl.String(), "experiment name (backtests never share rows with each other or with live data)"),
    "market": (pl.String(), "market code (US_EQ ...)"),
    "session": (pl.Date(), "session date in the market's time zone"),
    "equity": (pl.Float64(), "cash + sum of shares x close after the session"),
    "cash": (pl.Float64(), "cash after the session's fills, dividends and borrow fee"),
    "gross_exposure": (pl.Float64(), "sum |shares x close| / equity"),
    "net_exposure": (pl.Float64(), "sum shares x close / equity"),
    "turnover": (pl.Float64(), "traded notional of the session (buys + sells) / equity before it"),
    "commission": (pl.Float64(), "commissions paid in the session"),
    "fees": (pl.Float64(), "regulatory, clearing and exchange fees of the session"),
    "spread": (pl.Float64(), "half-spread cost inside the session's fill prices"),
    "impact": (pl.Float64(), "market-impact cost inside the session's fill prices"),
    "borrow": (pl.Float64(), "borrow fee on shorts charged for the session"),
    "dividends": (pl.Float64(), "dividend cash flow of the session (negative on shorts)"),
    "daily_return": (pl.Float64(), "equity / previous equity - 1 (the first session against the initial capital)"),
    "benchmark_return": (pl.Float64(), "the market's benchmark return of the session (equal-weighted when none)"),
    "baseline_return": (pl.Float64(), "return of the 1/N baseline over the same universe, same costs and cadence"),
    "regime_label": (pl.String(), "the Regime engine's label known at the session's decision (null before any)"),
}

#: Cost columns of a session, in the order the tear sheet stacks them.
COST_COLUMNS: tuple[str, ...] = ("commission", "fees", "spread", "impact", "borrow")


def empty_daily() -> pl.DataFrame:
    """An empty frame with the ``backtest_daily`` columns."""
    return pl.DataFrame(schema={k: v[0] for k, v in BACKTEST_DAILY_SCHEMA.items()})
