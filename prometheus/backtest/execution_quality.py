"""Execution quality of a backtest: each order's trading cost as the cost model expected it at the decision, beside
what its fills realised.

The expectation uses what the decision knew: the decision session's close as the price and the trailing ADV and
volatility of the ``adv_window`` sessions up to it (the values the simulator prices the fill with, since they end
the session before the fill), for the quantity ordered. The realisation is what the fills recorded: commission,
fees, and the spread and impact inside the fill prices, for the quantity filled (participation caps cancel the
rest). The implementation shortfall adds the move from the decision close to the fill's reference price.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import sqlalchemy as sa

from prometheus.backtest.config import BacktestConfig
from prometheus.calendar import TradingCalendar
from prometheus.core.costs import CostModel
from prometheus.core.types import Market
from prometheus.data.schema import Table
from prometheus.data.store import HistoricalStore
from prometheus.data.timemachine import HistorySnapshot, TimeMachine
from prometheus.execution.market_data import trailing_adv_sigma
from prometheus.runtime.store import RuntimeStore
from prometheus.runtime.tables import fills, orders

#: Columns of :func:`order_costs`: name -> (dtype, meaning). Costs are in the account currency; bps are of the
#: decision notional (decision price x shares) of the shares they concern.
ORDER_COSTS_SCHEMA: dict[str, tuple[pl.DataType, str]] = {
    "session": (pl.Date(), "session the order traded in"),
    "decision_session": (pl.Date(), "session whose close decided the order"),
    "instrument": (pl.String(), "symbol"),
    "side": (pl.String(), "BUY or SELL"),
    "intent": (pl.String(), "order intent (open, increase, reduce, close ...)"),
    "quantity": (pl.Float64(), "shares ordered"),
    "filled_quantity": (pl.Float64(), "shares filled (less than ordered when capped by participation)"),
    "decision_price": (pl.Float64(), "close of the decision session"),
    "average_fill_price": (pl.Float64(), "volume-weighted fill price (null without a fill)"),
    "adv": (pl.Float64(), "trailing average daily volume known at the decision (shares)"),
    "participation": (pl.Float64(), "shares ordered / ADV"),
    "expected_cost": (pl.Float64(), "cost model at the decision: spread + impact + commission + fees of the order"),
    "realised_cost": (pl.Float64(), "commission + fees + spread + impact of the fills"),
    "spread_cost": (pl.Float64(), "half-spread cost inside the fill prices"),
    "impact_cost": (pl.Float64(), "impact cost inside the fill prices"),
    "commission": (pl.Float64(), "commissions of the fills"),
    "fees": (pl.Float64(), "regulatory fees of the fills"),
    "shortfall": (pl.Float64(), "side x (fill price - decision price) x filled + commission + fees"),
    "expected_bps": (pl.Float64(), "expected_cost / ordered decision notional, basis points"),
    "realised_bps": (pl.Float64(), "realised_cost / filled decision notional, basis points (null without fills)"),
    "shortfall_bps": (pl.Float64(), "shortfall / filled decision notional, basis points (null without fills)"),
}


def empty_order_costs() -> pl.DataFrame:
    """An empty frame with the :data:`ORDER_COSTS_SCHEMA` columns."""
    return pl.DataFrame(schema={k: v[0] for k, v in ORDER_COSTS_SCHEMA.items()})


def order_costs(
    runtime: RuntimeStore,
    historical: HistoricalStore,
    calendar: TradingCalendar,
    market: Market,
    experiment: str,
    config: BacktestConfig,
    bar_delay: timedelta,
    decided: tuple[date, date] | None = None,
) -> pl.DataFrame:
    """One row per order of the experiment on ``market`` (:data:`ORDER_COSTS_SCHEMA`), in session and symbol order.

    ``config`` must be the experiment's backtest config: its cost model and ``adv_window`` price the expectation
    (compare ``config.config_version`` with the experiment's recorded ``backtest`` version). Commission tiers are
    taken at the month's first band, the dearest. ``decided``: only orders whose decision session is in this
    inclusive range.
    """
    sent = _rows(runtime, orders, _ORDER_COLUMNS, market, experiment).filter(pl.col("quantity") > 0)
    if sent.is_empty():
        return empty_order_costs()
    before = {d: calendar.sessions_before(market, d, 1)[0] for d in set(sent["session"].to_list())}
    sent = sent.with_columns(
        pl.Series("decision_session", [before[d] for d in sent["session"].to_list()], dtype=pl.Date())
    )
    if decided is not None:
        sent = sent.filter(pl.col("decision_session").is_between(decided[0], decided[1]))
        if sent.is_empty():
            return empty_order_costs()
    price, adv, sigma = _known_at_decision(historical, calendar, market, sent, config.adv_window, bar_delay)
    sign = np.where(sent["side"].to_numpy() == "BUY", 1.0, -1.0)
    qty = sent["quantity"].to_numpy().astype(float)
    costs = config.simulator.costs
    expected = CostModel(costs).expected_cost(sign * qty, price, adv, sigma) if costs is not None else 0.0 * qty
    priced = sent.with_columns(
        pl.Series("decision_price", price), pl.Series("adv", adv), pl.Series("expected_cost", expected),
        pl.Series("sign", sign),
    )  # fmt: skip
    return _with_fills(priced, _rows(runtime, fills, _FILL_COLUMNS, market, experiment))


def _known_at_decision(
    historical: HistoricalStore,
    calendar: TradingCalendar,
    market: Market,
    sent: pl.DataFrame,
    adv_window: int,
    bar_delay: timedelta,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per order: the decision session's close, and the ADV and daily volatility of the ``adv_window`` sessions up
    to it, from the raw bars as known at the last decision."""
    span = calendar.sessions(market, sent["decision_session"].min(), sent["session"].max())
    days = [*calendar.sessions_before(market, span[0], adv_window + 1), *span]
    as_of = calendar.close_at(market, sent["decision_session"].max()) + bar_delay
    snap = HistorySnapshot.load(historical, [Table.PRICES_DAILY], known_until=as_of, market=market,
                                start=days[0], end=days[-1])  # fmt: skip
    bars = TimeMachine(snap, as_of).table(Table.PRICES_DAILY, market=market, start=days[0], end=days[-1],
                                          columns=["date", "symbol", "close", "volume"])  # fmt: skip
    names = sorted(set(sent["instrument"].to_list()))
    close = _grid(bars, "close", days, names)
    adv, sigma = trailing_adv_sigma(close, _grid(bars, "volume", days, names), adv_window)
    row, col = {d: i for i, d in enumerate(days)}, {n: j for j, n in enumerate(names)}
    c = np.array([col[n] for n in sent["instrument"].to_list()])
    decided = np.array([row[d] for d in sent["decision_session"].to_list()])
    # ADV and volatility at the fill session end the session before it: the decision's own, known at its time.
    traded = np.array([row[d] for d in sent["session"].to_list()])
    return close[decided, c], adv[traded, c], sigma[traded, c]


def _with_fills(priced: pl.DataFrame, done: pl.DataFrame) -> pl.DataFrame:
    """The priced orders joined with their fills' quantities and costs, as :data:`ORDER_COSTS_SCHEMA` rows."""
    per_order = done.group_by("order_ref").agg(
        pl.col("quantity").sum().alias("filled"),
        ((pl.col("quantity") * pl.col("price")).sum() / pl.col("quantity").sum()).alias("average_fill_price"),
        *(pl.col(k).sum() for k in ("commission", "fees", "spread_cost", "impact_cost")),
    )
    out = (
        priced.join(per_order, on="order_ref", how="left")
        .with_columns(pl.col("filled", "commission", "fees", "spread_cost", "impact_cost").fill_null(0.0))
        .with_columns(
            pl.sum_horizontal("commission", "fees", "spread_cost", "impact_cost").alias("realised_cost"),
            (
                pl.col("sign") * (pl.col("average_fill_price") - pl.col("decision_price")) * pl.col("filled")
                + pl.col("commission")
                + pl.col("fees")
            ).alias("shortfall"),
            (pl.col("filled") * pl.col("decision_price")).alias("filled_notional"),
        )
    )
    bps = pl.when(pl.col("filled_notional") > 0).then(1e4 / pl.col("filled_notional"))
    return (
        out.with_columns(
            (pl.col("quantity") / pl.col("adv")).alias("participation"),
            (1e4 * pl.col("expected_cost") / (pl.col("quantity") * pl.col("decision_price"))).alias("expected_bps"),
            (pl.col("realised_cost") * bps).alias("realised_bps"),
            (pl.col("shortfall") * bps).alias("shortfall_bps"),
            pl.col("filled").alias("filled_quantity"),
        )
        .select([pl.col(k).cast(v[0]) for k, v in ORDER_COSTS_SCHEMA.items()])
        .sort("session", "instrument")
    )


#: Columns read from ``orders`` and ``fills``.
_ORDER_COLUMNS = {"order_ref": pl.String(), "session": pl.Date(), "instrument": pl.String(), "side": pl.String(),
                  "intent": pl.String(), "quantity": pl.Float64()}  # fmt: skip
_FILL_COLUMNS = {"order_ref": pl.String(), "quantity": pl.Float64(), "price": pl.Float64(),
                 "commission": pl.Float64(), "fees": pl.Float64(), "spread_cost": pl.Float64(),
                 "impact_cost": pl.Float64()}  # fmt: skip


def _rows(
    runtime: RuntimeStore, table: sa.Table, columns: dict[str, pl.DataType], market: Market, experiment: str
) -> pl.DataFrame:
    query = sa.select(*(table.c[k] for k in columns)).where(
        table.c.experiment == experiment, table.c.market == market.value
    )
    with runtime.read() as conn:
        rows = [tuple(r) for r in conn.execute(query)]
    return pl.DataFrame(rows, schema=columns, orient="row")


def _grid(bars: pl.DataFrame, column: str, days: list[date], names: list[str]) -> np.ndarray:
    """(days, names) array of ``column``, NaN where no bar is known."""
    out = np.full((len(days), len(names)), np.nan)
    row = {d: i for i, d in enumerate(days)}
    col = {n: j for j, n in enumerate(names)}
    for d, name, value in bars.select("date", "symbol", column).iter_rows():
        if d in row and name in col and value is not None:
            out[row[d], col[name]] = float(value)
    return out
