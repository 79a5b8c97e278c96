"""Multi-currency portfolio view: each market's book in one base currency, converted with FX rates known at the time.

Each market keeps its results in its own currency (US_EQ in USD, EU_EQ in EUR, JP_EQ in JPY). This view reads, per
market and session, the book's equity, cash and position values in that currency and converts them into the base
currency (default USD) point in time:

- the book of session ``d`` is valued at the market's close of ``d`` (TradingCalendar, UTC): the *valuation time*;
- it is converted with the latest FX_GLOB close known at that instant (``known_at <= valuation time``, see
  :mod:`prometheus.data.fx`). The FX_GLOB close is 17:00 New York, so a JP_EQ book of session ``d`` (closing 15:30
  Tokyo, 06:30 UTC) and an EU_EQ book (17:30 Berlin) use the FX close of ``d - 1``, never of ``d``;
- a conversion without a known rate is an error naming the pair and the instant (never a later rate, never 1.0).

Where the books come from (runtime store), per (experiment, market):

- ``backtest_daily`` when it holds rows (a backtest): equity, cash, and gross / net exposure as fractions of equity;
- else the account's ``cash`` and ``positions`` snapshots (PAPER / LIVE, experiment ``live``): positions are marked
  at the session's close from ``prices_daily`` through the TimeMachine; equity is ``cash.equity`` where recorded,
  else cash plus the positions' value.

Daily P&L in base currency between consecutive sessions ``p`` and ``d`` of a market, with ``E`` the local equity and
``r`` the rate (base per local unit) at each valuation time, splits exactly into

- ``local_pnl = (E_d - E_p) * r_d``: the P&L made in the market's currency, translated at today's rate, and
- ``fx_pnl = E_p * (r_d - r_p)``: the translation effect of the rate move on yesterday's book,

so ``pnl = E_d * r_d - E_p * r_p = local_pnl + fx_pnl``. The first session of a market has no P&L (null).

The total is per date: on each date every market contributes its latest session on or before that date (a market
closed on a holiday keeps its last valuation, converted at its own close); a date's P&L is the sum of the P&L of
the sessions held that date. Currency exposure groups the same values by the book's currency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import polars as pl
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, field_validator

from prometheus.calendar import TradingCalendar
from prometheus.core.errors import DataError
from prometheus.core.time import to_utc
from prometheus.core.types import Market
from prometheus.data.fx import FxRateMissingError, FxRates
from prometheus.data.schema import UTC_DATETIME, Table
from prometheus.data.timemachine import TimeMachine
from prometheus.runtime.store import RuntimeStore
from prometheus.runtime.tables import backtest_daily, cash, positions

#: Columns of :func:`load_local_books`: name -> (dtype, meaning). Money is in the book's currency.
LOCAL_BOOK_COLUMNS: dict[str, tuple[pl.DataType, str]] = {
    "market": (pl.String(), "market code"),
    "session": (pl.Date(), "session date in the market's time zone"),
    "currency": (pl.String(), "ISO 4217 currency of the book (the market's currency)"),
    "valuation_time": (UTC_DATETIME, "the market's close of the session (UTC): the instant the book is valued at"),
    "equity": (pl.Float64(), "NAV: cash + positions' market value"),
    "cash": (pl.Float64(), "cash balance"),
    "market_value": (pl.Float64(), "sum of signed positions' market value (net)"),
    "gross_value": (pl.Float64(), "sum of |positions' market value| (gross)"),
    "source": (pl.String(), "'backtest_daily' or 'positions' (the account's cash and positions snapshots)"),
}

#: Columns of :attr:`PortfolioView.markets`: per market and session, money in the base currency.
MARKET_VIEW_COLUMNS: dict[str, tuple[pl.DataType, str]] = {
    "market": (pl.String(), "market code"),
    "session": (pl.Date(), "session date in the market's time zone"),
    "currency": (pl.String(), "the book's currency"),
    "valuation_time": (UTC_DATETIME, "the market's close of the session (UTC)"),
    "fx_rate": (pl.Float64(), "base currency per one unit of the book's currency, known at valuation_time"),
    "fx_route": (pl.String(), "identity, direct, inverted or triangulated (through USD)"),
    "fx_date": (pl.Date(), "FX_GLOB session of the rate (null for the identity)"),
    "fx_known_at": (UTC_DATETIME, "when that FX bar became known (<= valuation_time)"),
    "equity_local": (pl.Float64(), "NAV in the book's currency"),
    "equity": (pl.Float64(), "NAV in base currency"),
    "cash": (pl.Float64(), "cash in base currency"),
    "market_value": (pl.Float64(), "positions' net market value in base currency"),
    "gross_value": (pl.Float64(), "positions' gross market value in base currency"),
    "gross_exposure": (pl.Float64(), "gross_value / equity"),
    "net_exposure": (pl.Float64(), "market_value / equity"),
    "pnl_local_ccy": (pl.Float64(), "equity_local change since the market's previous session (book currency)"),
    "pnl": (pl.Float64(), "equity change since the previous session in base currency (null on the first)"),
    "local_pnl": (pl.Float64(), "pnl_local_ccy x today's fx_rate"),
    "fx_pnl": (pl.Float64(), "previous equity_local x (fx_rate - previous fx_rate): FX translation effect"),
}

#: Columns of :attr:`PortfolioView.total`: per date, all markets together, money in the base currency.
TOTAL_COLUMNS: dict[str, tuple[pl.DataType, str]] = {
    "date": (pl.Date(), "a date on which at least one market had a session"),
    "markets": (pl.UInt32(), "markets with a book on or before the date"),
    "equity": (pl.Float64(), "sum of each market's latest equity"),
    "cash": (pl.Float64(), "sum of each market's latest cash"),
    "market_value": (pl.Float64(), "net market value of all positions"),
    "gross_value": (pl.Float64(), "gross market value of all positions"),
    "gross_exposure": (pl.Float64(), "gross_value / equity"),
    "net_exposure": (pl.Float64(), "market_value / equity"),
    "pnl": (pl.Float64(), "sum of the P&L of the sessions held on the date"),
    "local_pnl": (pl.Float64(), "its local-currency part"),
    "fx_pnl": (pl.Float64(), "its FX translation part"),
}

#: Columns of :attr:`PortfolioView.currencies`: per date and currency (currency exposure), in the base currency.
CURRENCY_COLUMNS: dict[str, tuple[pl.DataType, str]] = {
    "date": (pl.Date(), "as in the total"),
    "currency": (pl.String(), "ISO 4217 currency of the books"),
    "equity": (pl.Float64(), "NAV held in the currency (cash and positions)"),
    "equity_weight": (pl.Float64(), "equity / total equity"),
    "market_value": (pl.Float64(), "net positions' value in the currency"),
    "gross_value": (pl.Float64(), "gross positions' value in the currency"),
    "gross_weight": (pl.Float64(), "gross_value / total gross_value (sums to 1 over currencies)"),
}


class PortfolioViewRequest(BaseModel):
    """What to put together: the experiment's books of ``markets``, in ``base``, for sessions in [start, end]."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    experiment: str = Field(min_length=1, description="Backtest name, or 'live' for the PAPER/LIVE account.")
    markets: tuple[Market, ...] = Field(min_length=1, description="Markets whose books are combined.")
    base: str = Field("USD", description="ISO 4217 base currency of the view.")
    start: date | None = Field(None, description="First session shown (None: the first recorded).")
    end: date | None = Field(None, description="Last session shown (None: the last recorded).")

    @field_validator("base")
    @classmethod
    def _currency(cls, value: str) -> str:
        if len(value) != 3 or not value.isalpha():
            raise ValueError(f"not an ISO 4217 currency code: {value!r}")
        return value.upper()


@dataclass(frozen=True, slots=True)
class PortfolioView:
    """The view: per market (:data:`MARKET_VIEW_COLUMNS`), total (:data:`TOTAL_COLUMNS`), per currency
    (:data:`CURRENCY_COLUMNS`)."""

    base: str
    as_of: datetime
    markets: pl.DataFrame
    total: pl.DataFrame
    currencies: pl.DataFrame


def market_currency(view: TimeMachine, market: Market) -> str:
    """The market's currency from the ``markets`` table as known at the view (the ingestion default if absent)."""
    rows = view.table(Table.MARKETS, market=market, columns=["currency"])
    if not rows.is_empty():
        return str(rows["currency"][-1])
    # Imported here: the ingestion package loads the synthetic market (scipy), a second for one constant.
    from prometheus.data.ingest.vendor import DEFAULT_CURRENCY

    return DEFAULT_CURRENCY[market]


def load_local_books(
    runtime: RuntimeStore,
    view: TimeMachine,
    calendar: TradingCalendar,
    experiment: str,
    markets: Sequence[Market],
    *,
    end: date | None = None,
) -> pl.DataFrame:
    """Each market's book per session in its own currency (:data:`LOCAL_BOOK_COLUMNS`), sessions valued by
    ``view.as_of`` only (a session whose close is later is not closed yet)."""
    frames = []
    for market in markets:
        frame = _backtest_books(runtime, experiment, market, end)
        if frame.is_empty():
            frame = _account_books(runtime, view, calendar, experiment, market, end)
        if frame.is_empty():
            continue
        closes = [calendar.close_at(market, d) for d in frame["session"]]
        frame = frame.with_columns(
            pl.lit(market.value).alias("market"),
            pl.lit(market_currency(view, market)).alias("currency"),
            pl.Series("valuation_time", closes, dtype=UTC_DATETIME),
        ).filter(pl.col("valuation_time") <= view.as_of)
        frames.append(frame.select(list(LOCAL_BOOK_COLUMNS)))
    if not frames:
        return pl.DataFrame(schema={k: v[0] for k, v in LOCAL_BOOK_COLUMNS.items()})
    return pl.concat(frames).sort("market", "session")


def _backtest_books(runtime: RuntimeStore, experiment: str, market: Market, end: date | None) -> pl.DataFrame:
    t = backtest_daily.c
    query = sa.select(t.session, t.equity, t.cash, t.gross_exposure, t.net_exposure).where(
        t.experiment == experiment, t.market == market.value
    )
    if end is not None:
        query = query.where(t.session <= end)
    with runtime.read() as conn:
        rows = conn.execute(query.order_by(t.session)).all()
    frame = pl.DataFrame(
        [tuple(r) for r in rows],
        schema={"session": pl.Date, "equity": pl.Float64, "cash": pl.Float64, "gross": pl.Float64, "net": pl.Float64},
        orient="row",
    )
    return frame.select(
        "session",
        "equity",
        "cash",
        # Exposures are stored as fractions of equity; a session without positions may leave them null.
        (pl.col("net").fill_null(0.0) * pl.col("equity")).alias("market_value"),
        (pl.col("gross").fill_null(0.0) * pl.col("equity")).alias("gross_value"),
        pl.lit("backtest_daily").alias("source"),
    )


def _account_books(
    runtime: RuntimeStore,
    view: TimeMachine,
    calendar: TradingCalendar,
    experiment: str,
    market: Market,
    end: date | None,
) -> pl.DataFrame:
    c, p = cash.c, positions.c
    cash_query = sa.select(c.session, c.balance, c.equity).where(c.experiment == experiment, c.market == market.value)
    held_query = sa.select(p.session, p.instrument, p.quantity).where(
        p.experiment == experiment, p.market == market.value
    )
    if end is not None:
        cash_query, held_query = cash_query.where(c.session <= end), held_query.where(p.session <= end)
    with runtime.read() as conn:
        balances = conn.execute(cash_query.order_by(c.session)).all()
        held = conn.execute(held_query).all()
    books = pl.DataFrame(
        [tuple(r) for r in balances],
        schema={"session": pl.Date, "cash": pl.Float64, "recorded_equity": pl.Float64},
        orient="row",
    )
    if books.is_empty():
        return books
    # The platform writes one cash row per session in the account currency; several would be summed as one.
    recorded = pl.col("recorded_equity")
    books = books.group_by("session").agg(
        pl.col("cash").sum(), pl.when(recorded.null_count() == 0).then(recorded.sum()).otherwise(None)
    )
    lots = pl.DataFrame(
        [tuple(r) for r in held],
        schema={"session": pl.Date, "symbol": pl.String, "quantity": pl.Float64},
        orient="row",
    ).filter(pl.col("quantity") != 0.0)
    # Only sessions closed at the view are valued: a later one's closes are not known (and it is left out anyway).
    closed = {d for d in lots["session"].unique() if calendar.close_at(market, d) <= view.as_of}
    lots = lots.filter(pl.col("session").is_in(list(closed)))
    if lots.is_empty():
        values = books.select("session", pl.lit(0.0).alias("market_value"), pl.lit(0.0).alias("gross_value"))
    else:
        marked = _mark(lots, view, market)
        values = marked.group_by("session").agg(
            pl.col("value").sum().alias("market_value"), pl.col("value").abs().sum().alias("gross_value")
        )
    return (
        books.join(values, on="session", how="left")
        .with_columns(pl.col("market_value", "gross_value").fill_null(0.0))
        .select(
            "session",
            pl.coalesce("recorded_equity", pl.col("cash") + pl.col("market_value")).alias("equity"),
            "cash",
            "market_value",
            "gross_value",
            pl.lit("positions").alias("source"),
        )
        .sort("session")
    )


def _mark(lots: pl.DataFrame, view: TimeMachine, market: Market) -> pl.DataFrame:
    """Each lot's value at the close of its session (the last close on or before it, as known at the view)."""
    bars = view.table(
        Table.PRICES_DAILY,
        market=market,
        end=lots["session"].max(),
        symbols=lots["symbol"].unique().to_list(),
        columns=["symbol", "date", "close"],
    ).sort("date")
    marked = lots.sort("session").join_asof(
        bars, left_on="session", right_on="date", by="symbol", strategy="backward", check_sortedness=False
    )
    unpriced = marked.filter(pl.col("close").is_null())
    if not unpriced.is_empty():
        first = unpriced.row(0, named=True)
        raise DataError(
            f"{market.value}: no close known at {view.as_of.isoformat()} for {first['symbol']} on or before "
            f"{first['session']} to value the position",
            field="close",
        )
    return marked.select("session", (pl.col("quantity") * pl.col("close")).alias("value"))


def convert_books(books: pl.DataFrame, rates: FxRates, base: str) -> pl.DataFrame:
    """Per-market view (:data:`MARKET_VIEW_COLUMNS`) of local books (:data:`LOCAL_BOOK_COLUMNS`) in ``base``.

    Raises
    ------
    FxRateMissingError
        A book's valuation time has no known rate from its currency into ``base``.
    """
    parts, missing = [], []
    for (currency,), part in sorted(books.sort("market", "session").partition_by("currency", as_dict=True).items()):
        try:
            fx = rates.rates(str(currency), base, part["valuation_time"])
        except FxRateMissingError as exc:
            missing.append(exc)
            continue
        parts.append(
            part.with_columns(
                fx["rate"].alias("fx_rate"),
                fx["route"].alias("fx_route"),
                fx["fx_date"].alias("fx_date"),
                fx["fx_known_at"].alias("fx_known_at"),
            )
        )
    if missing:
        # The earliest gap first, whichever currency it is in (a pair with no route at all before any gap).
        raise min(missing, key=lambda e: (e.at is not None, e.at or datetime.min.replace(tzinfo=UTC)))
    if not parts:
        return pl.DataFrame(schema={k: v[0] for k, v in MARKET_VIEW_COLUMNS.items()})
    r = pl.col("fx_rate")
    prev_e, prev_r = pl.col("equity").shift(1).over("market"), r.shift(1).over("market")
    frame = pl.concat(parts).sort("market", "session")
    return frame.select(
        "market",
        "session",
        "currency",
        "valuation_time",
        "fx_rate",
        "fx_route",
        "fx_date",
        "fx_known_at",
        pl.col("equity").alias("equity_local"),
        (pl.col("equity") * r).alias("equity"),
        (pl.col("cash") * r).alias("cash"),
        (pl.col("market_value") * r).alias("market_value"),
        (pl.col("gross_value") * r).alias("gross_value"),
        _ratio(pl.col("gross_value"), pl.col("equity")).alias("gross_exposure"),
        _ratio(pl.col("market_value"), pl.col("equity")).alias("net_exposure"),
        (pl.col("equity") - prev_e).alias("pnl_local_ccy"),
        (pl.col("equity") * r - prev_e * prev_r).alias("pnl"),
        ((pl.col("equity") - prev_e) * r).alias("local_pnl"),
        (prev_e * (r - prev_r)).alias("fx_pnl"),
    )


def _ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    return pl.when(den != 0.0).then(num / den).otherwise(None)


def _on_dates(markets: pl.DataFrame) -> pl.DataFrame:
    """Each market's latest session on or before every date of the view, with that date's own P&L (0 if none)."""
    dates = markets.select(pl.col("session").unique().sort().alias("date"))
    rows = []
    for (name,), part in markets.partition_by("market", as_dict=True).items():
        held = dates.join_asof(part.sort("session"), left_on="date", right_on="session", strategy="backward")
        today = pl.col("session") == pl.col("date")
        rows.append(
            held.filter(pl.col("session").is_not_null()).with_columns(
                *[
                    pl.when(today).then(pl.col(c).fill_null(0.0)).otherwise(0.0).alias(c)
                    for c in ("pnl", "local_pnl", "fx_pnl")
                ],  # fmt: skip
                pl.lit(name).alias("market"),
            )
        )
    return pl.concat(rows) if rows else markets.rename({"session": "date"})


def total_view(markets: pl.DataFrame) -> pl.DataFrame:
    """All markets together per date (:data:`TOTAL_COLUMNS`) from the per-market view."""
    if markets.is_empty():
        return pl.DataFrame(schema={k: v[0] for k, v in TOTAL_COLUMNS.items()})
    sums = ("equity", "cash", "market_value", "gross_value", "pnl", "local_pnl", "fx_pnl")
    total = (
        _on_dates(markets)
        .group_by("date")
        .agg(pl.len().cast(pl.UInt32).alias("markets"), *[pl.col(c).sum() for c in sums])
        .sort("date")
    )
    return total.select(
        "date",
        "markets",
        *sums[:4],
        _ratio(pl.col("gross_value"), pl.col("equity")).alias("gross_exposure"),
        _ratio(pl.col("market_value"), pl.col("equity")).alias("net_exposure"),
        *sums[4:],
    )


def currency_exposure(markets: pl.DataFrame) -> pl.DataFrame:
    """Per date and currency (:data:`CURRENCY_COLUMNS`): what the books hold in each currency, in base."""
    if markets.is_empty():
        return pl.DataFrame(schema={k: v[0] for k, v in CURRENCY_COLUMNS.items()})
    by = (
        _on_dates(markets)
        .group_by("date", "currency")
        .agg(pl.col("equity").sum(), pl.col("market_value").sum(), pl.col("gross_value").sum())
    )
    return by.select(
        "date",
        "currency",
        "equity",
        _ratio(pl.col("equity"), pl.col("equity").sum().over("date")).alias("equity_weight"),
        "market_value",
        "gross_value",
        _ratio(pl.col("gross_value"), pl.col("gross_value").sum().over("date")).alias("gross_weight"),
    ).sort("date", "currency")


def build_portfolio_view(
    runtime: RuntimeStore, view: TimeMachine, calendar: TradingCalendar, request: PortfolioViewRequest
) -> PortfolioView:
    """The multi-currency view of ``request`` as known at ``view.as_of`` (FX from the view's FX_GLOB bars).

    Raises
    ------
    FxRateMissingError
        A session shown (or the one before the first, for its P&L) has no rate known at its valuation time.
    """
    books = load_local_books(runtime, view, calendar, request.experiment, request.markets, end=request.end)
    if request.start is not None:
        # Keep the session before the start too: the first session shown needs it for its P&L.
        first = books.filter(pl.col("session") < request.start).group_by("market").agg(pl.col("session").max())
        floor = books.select("market").unique().join(first, on="market", how="left")
        books = books.join(floor.rename({"session": "_floor"}), on="market", how="left").filter(
            pl.col("session") >= pl.coalesce("_floor", pl.lit(request.start))
        )
        books = books.drop("_floor")
    rates = FxRates.from_timemachine(view)
    markets = convert_books(books, rates, request.base)
    if request.start is not None:
        markets = markets.filter(pl.col("session") >= request.start)
    return PortfolioView(
        base=request.base,
        as_of=to_utc(view.as_of),
        markets=markets,
        total=total_view(markets),
        currencies=currency_exposure(markets),
    )
