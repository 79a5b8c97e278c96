"""BacktestBroker: the :class:`Broker` of BACKTEST mode, on a MarketSimulator and a vectorised Ledger.

Each session, in order: corporate actions at the ex-date open (splits, cash dividends), fills of the working
orders for that session or earlier, then the close: mark to market, borrow fee on shorts, one curve row.
Sessions without working orders or actions are marked in one vectorised block.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

import numpy as np
import polars as pl

from prometheus.core.errors import BrokerError, DataError
from prometheus.execution.accounting import Ledger
from prometheus.execution.market_data import MarketPanel
from prometheus.execution.simulator import (
    MarketSimulator,
    MatchResult,
    OrderBatch,
    SimulatorConfig,
    price_code,
)
from prometheus.execution.state_machine import Order
from prometheus.execution.types import (
    Fill,
    OrderEvent,
    OrderEventType,
    OrderRef,
    Position,
    RemainderPolicy,
)

E = OrderEventType


class CorporateActionKind(StrEnum):
    """Corporate actions applied to positions and cash."""

    SPLIT = "SPLIT"  # value = new shares per old share (2.0 for a 2-for-1)
    DIVIDEND = "DIVIDEND"  # value = cash per share


@dataclass(frozen=True, slots=True)
class CorporateAction:
    """One action effective at the open of its ex-date ``session``."""

    session: date
    instrument: str
    kind: CorporateActionKind
    value: float


#: Columns of :meth:`BacktestBroker.equity_curve` (costs and dividends are cumulative since the start).
EQUITY_CURVE_SCHEMA: dict[str, tuple[type[pl.DataType], str]] = {
    "session": (pl.Date, "session date (market time zone)"),
    "cash": (pl.Float64, "cash after the session's fills, dividends and borrow fee"),
    "market_value": (pl.Float64, "sum of shares x close (net exposure in currency)"),
    "gross_exposure": (pl.Float64, "sum of |shares x close|"),
    "equity": (pl.Float64, "cash + market_value"),
    "realised_pnl": (pl.Float64, "realised P&L of closed shares at fill prices, before commission and fees"),
    "unrealised_pnl": (pl.Float64, "market_value - cost basis of open positions"),
    "commission": (pl.Float64, "cumulative commissions"),
    "fees": (pl.Float64, "cumulative regulatory, clearing and exchange fees"),
    "spread": (pl.Float64, "cumulative half-spread cost inside fill prices"),
    "impact": (pl.Float64, "cumulative market-impact cost inside fill prices"),
    "borrow": (pl.Float64, "cumulative borrow fee on shorts"),
    "dividends": (pl.Float64, "cumulative dividend cash flow (negative on shorts)"),
}
_CURVE_FIELDS = tuple(k for k in EQUITY_CURVE_SCHEMA if k != "session")
_QTY_TOL = 1e-9


class BacktestBroker:
    """In-memory broker that fills against historical bars.

    Parameters
    ----------
    panel
        Prices and volumes (raw, so corporate actions apply at their ex-dates).
    config
        Fill price, participation and remainder policy, costs.
    initial_cash
        Starting cash in account currency.
    corporate_actions
        Splits and cash dividends; names must be in the panel.

    Raises
    ------
    DataError
        A corporate action names an unknown instrument or a session outside the panel.
    """

    def __init__(
        self,
        panel: MarketPanel,
        config: SimulatorConfig,
        initial_cash: float,
        corporate_actions: Iterable[CorporateAction] = (),
    ) -> None:
        self.panel = panel
        self.simulator = MarketSimulator(config, panel)
        self.ledger = Ledger(len(panel.instruments), float(initial_cash))
        self._col = {name: i for i, name in enumerate(panel.instruments)}
        self._session_index = {d: i for i, d in enumerate(panel.sessions)}
        self._marks = _forward_fill(panel.close)
        self._actions = self._index_actions(corporate_actions)
        self._orders: dict[OrderRef, Order] = {}
        self._open: dict[OrderRef, Order] = {}
        self._events: list[OrderEvent] = []
        self._fills: list[Fill] = []
        self._next = 0
        self._month: tuple[int, int] | None = None
        self._month_volume = 0.0
        self._curve = np.full((len(_CURVE_FIELDS), len(panel.sessions)), np.nan)
        days = [(b - a).days for a, b in zip(panel.sessions[:-1], panel.sessions[1:], strict=True)]
        self._days = np.array([1, *days], dtype=float)

    # ----------------------------------------------------------------- Broker protocol
    def submit(self, order: Order) -> Order:
        """Accept ``order`` for its session; a known ref returns the known order (no double)."""
        known = self._orders.get(order.ref)
        if known is not None:
            return known
        self._orders[order.ref] = order
        reason = self._refusal(order)
        kind = E.REJECT if reason else E.SUBMIT
        self._record(order, OrderEvent(order.ref, kind, self._now(), reason=reason))
        if not reason:
            self._open[order.ref] = order
        return order

    def submit_many(self, orders: Iterable[Order]) -> list[Order]:
        """:meth:`submit` each order in turn."""
        return [self.submit(o) for o in orders]

    def modify(self, ref: OrderRef, *, quantity: float | None = None, limit_price: float | None = None) -> Order:
        """Change a working order at once (a backtest has no latency)."""
        order = self._working(ref)
        now = self._now()
        self._record(order, OrderEvent(ref, E.MODIFY_REQUEST, now))
        self._record(order, OrderEvent(ref, E.MODIFIED, now, quantity=quantity or 0.0, price=limit_price))
        if order.remaining <= _QTY_TOL:
            self._open.pop(ref, None)
            self._record(order, OrderEvent(ref, E.CANCELLED, now, reason="modified to filled quantity"))
        return order

    def cancel(self, ref: OrderRef) -> Order:
        """Cancel a working order at once."""
        order = self._working(ref)
        now = self._now()
        self._record(order, OrderEvent(ref, E.CANCEL_REQUEST, now))
        self._record(order, OrderEvent(ref, E.CANCELLED, now, reason="cancel requested"))
        del self._open[ref]
        return order

    def open_orders(self) -> list[Order]:
        """Working orders in submission order."""
        return list(self._open.values())

    def order(self, ref: OrderRef) -> Order | None:
        """The order with ``ref``, if known."""
        return self._orders.get(ref)

    def order_events(self, since: int = 0) -> Sequence[OrderEvent]:
        """Every order event from position ``since``."""
        return self._events[since:]

    def fills(self, since: int = 0) -> Sequence[Fill]:
        """Every fill from position ``since``."""
        return self._fills[since:]

    def positions(self) -> dict[str, Position]:
        """Non-zero positions by instrument."""
        names = self.panel.instruments
        led = self.ledger
        return {
            names[i]: Position(names[i], float(led.quantity[i]), float(led.cost_basis[i]))
            for i in np.flatnonzero(led.quantity)
        }

    def cash(self) -> float:
        """Cash balance."""
        return self.ledger.cash

    # ----------------------------------------------------------------- simulation clock
    @property
    def next_session(self) -> date | None:
        """The next session to be processed (None once the panel is exhausted)."""
        return self.panel.sessions[self._next] if self._next < len(self.panel.sessions) else None

    @property
    def month_volume(self) -> tuple[tuple[int, int] | None, float]:
        """(year, month) of the last fill session and the shares traded in that month (tiered commissions)."""
        return self._month, self._month_volume

    def position_vector(self) -> np.ndarray:
        """Signed shares per panel instrument (a copy)."""
        return self.ledger.quantity.copy()

    def equity_at(self, session: date) -> float:
        """Cash + positions at the (last known) close of ``session``: the value a decision at that close uses."""
        return self.ledger.equity(self._marks[self._index(session)])

    def advance_to(self, session: date) -> None:
        """Process every session up to and including ``session``."""
        target = self._index(session)
        while self._next <= target:
            s = self._next
            if self._open or s in self._actions:
                self._step(s)
                self._next = s + 1
                continue
            stop = min([target + 1, *[a for a in self._actions if a > s]])
            self._mark_block(s, stop)
            self._next = stop

    def resume(
        self, cash: float, positions: Mapping[str, Position], after: date | None, month_volume: float = 0.0
    ) -> None:
        """Start a fresh broker from an account at the close of ``after`` (None: before the first session).

        ``month_volume``: shares already traded in ``after``'s calendar month (tiered commissions count them).

        Sessions up to ``after`` are not simulated: they only hold the prices the first decisions need (a backtest
        window after the previous one). ``after``'s curve row is the account marked at its close, without costs.

        Raises
        ------
        BrokerError
            The broker has already processed sessions or taken orders.
        DataError
            A position names an instrument outside the panel.
        """
        if self._next or self._orders:
            raise BrokerError("only a fresh broker can resume from an account state")
        unknown = sorted(n for n in positions if n not in self._col)
        if unknown:
            raise DataError(f"positions in instruments outside the panel: {unknown[:5]}", field="positions")
        led = self.ledger
        led.cash = float(cash)
        for name, pos in positions.items():
            led.quantity[self._col[name]] = pos.quantity
            led.cost_basis[self._col[name]] = pos.cost_basis
        if after is None:
            return
        self._month, self._month_volume = (after.year, after.month), float(month_volume)
        s = self._index(after)
        marks = self._marks[s]
        mv = float(marks @ led.quantity)
        row = dict.fromkeys(_CURVE_FIELDS, 0.0) | {
            "cash": led.cash,
            "market_value": mv,
            "gross_exposure": float(np.abs(marks) @ np.abs(led.quantity)),
            "equity": led.cash + mv,
            "unrealised_pnl": mv - float(led.cost_basis.sum()),
        }
        for k, name in enumerate(_CURVE_FIELDS):
            self._curve[k, s] = row[name]
        self._next = s + 1

    def run_to_end(self) -> None:
        """Process every remaining session."""
        if self._next < len(self.panel.sessions):
            self.advance_to(self.panel.sessions[-1])

    def curve_row(self, session: date) -> dict[str, float]:
        """The equity-curve figures of one processed session (:data:`EQUITY_CURVE_SCHEMA` without ``session``)."""
        s = self._index(session)
        if s >= self._next:
            raise BrokerError(f"session {session} is not processed yet")
        return {name: float(self._curve[k, s]) for k, name in enumerate(_CURVE_FIELDS)}

    def equity_curve(self) -> pl.DataFrame:
        """One row per processed session, columns :data:`EQUITY_CURVE_SCHEMA`."""
        n = self._next
        data: dict[str, object] = {"session": list(self.panel.sessions[:n])}
        for k, name in enumerate(_CURVE_FIELDS):
            data[name] = self._curve[k, :n]
        return pl.DataFrame(data, schema={k: v[0] for k, v in EQUITY_CURVE_SCHEMA.items()})

    # ----------------------------------------------------------------- internals
    def _index(self, session: date) -> int:
        try:
            return self._session_index[session]
        except KeyError:
            raise BrokerError(f"{session} is not a session of the backtest panel") from None

    def _now(self) -> datetime:
        return self.panel.ts[max(self._next - 1, 0)]

    def _refusal(self, order: Order) -> str:
        if order.instrument not in self._col:
            return f"unknown instrument {order.instrument}"
        if order.session not in self._session_index:
            return f"{order.session} is not a session"
        if self._session_index[order.session] < self._next:
            return f"session {order.session} is already closed"
        if not (order.quantity > 0 and math.isfinite(order.quantity)):
            return f"bad quantity {order.quantity}"
        return ""

    def _working(self, ref: OrderRef) -> Order:
        order = self._open.get(ref)
        if order is None:
            raise BrokerError(f"order {ref} is not working (unknown or already done)")
        return order

    def _record(self, order: Order, ev: OrderEvent) -> None:
        order.apply(ev)
        self._events.append(ev)

    def _index_actions(self, actions: Iterable[CorporateAction]) -> dict[int, list[CorporateAction]]:
        out: dict[int, list[CorporateAction]] = {}
        for a in actions:
            if a.instrument not in self._col:
                raise DataError(f"corporate action for unknown instrument {a.instrument}", field="instrument")
            if a.session not in self._session_index:
                raise DataError(f"corporate action on non-session {a.session}", field="session")
            out.setdefault(self._session_index[a.session], []).append(a)
        return out

    def _step(self, s: int) -> None:
        for action in self._actions.get(s, ()):
            self._apply_action(s, action)
        if self._open:
            self._match(s)
        self._mark_block(s, s + 1)

    def _apply_action(self, s: int, action: CorporateAction) -> None:
        col = np.array([self._col[action.instrument]])
        if action.kind is CorporateActionKind.SPLIT:
            self.ledger.split(col, np.array([action.value]))
            # Working orders were sized in pre-split shares: cancel them rather than guess.
            for ref, order in list(self._open.items()):
                if order.instrument == action.instrument:
                    ev = OrderEvent(ref, E.CANCELLED, self.panel.ts[s], reason="split at ex-date")
                    self._record(order, ev)
                    del self._open[ref]
        else:
            self.ledger.dividend(col, np.array([action.value]))

    def _match(self, s: int) -> None:
        today = self.panel.sessions[s]
        orders = [o for o in self._open.values() if o.session <= today]
        if not orders:
            return
        n = len(orders)
        batch = OrderBatch(
            col=np.fromiter((self._col[o.instrument] for o in orders), np.int64, n),
            sign=np.fromiter((o.side.sign for o in orders), float, n),
            remaining=np.fromiter((o.quantity - o.filled_quantity for o in orders), float, n),
            kind=np.fromiter((price_code(o.order_type) for o in orders), np.int8, n),
            limit=np.fromiter((math.nan if o.limit_price is None else o.limit_price for o in orders), float, n),
        )
        month = (today.year, today.month)
        if month != self._month:
            self._month, self._month_volume = month, 0.0
        res = self.simulator.match(s, batch, self._month_volume)
        self._month_volume += float(res.quantity.sum())
        self._book(s, orders, batch, res)

    def _book(self, s: int, orders: list[Order], batch: OrderBatch, res: MatchResult) -> None:
        filled = res.quantity > 0
        led = self.ledger
        led.book_fills(batch.col[filled], (batch.sign * res.quantity)[filled], res.price[filled])
        led.charge("commission", float(res.commission.sum()))
        led.charge("fees", float(res.fees.sum()))
        led.note("spread", float(res.spread_cost.sum()))
        led.note("impact", float(res.impact_cost.sum()))
        ts, session = self.panel.ts[s], self.panel.sessions[s]
        cancel = self.simulator.config.remainder is RemainderPolicy.CANCEL
        cols = zip(
            res.quantity.tolist(),
            res.price.tolist(),
            batch.remaining.tolist(),
            res.commission.tolist(),
            res.fees.tolist(),
            res.spread_cost.tolist(),
            res.impact_cost.tolist(),
            strict=True,
        )
        for order, (qty, price, remaining, comm, fees, spread, impact) in zip(orders, cols, strict=True):
            done = False
            if qty > 0:
                done = qty >= remaining - _QTY_TOL * max(remaining, 1.0)
                if done:
                    qty = remaining
                ev = OrderEvent(order.ref, E.FILL if done else E.PARTIAL_FILL, ts, quantity=qty, price=price)
                self._record(order, ev)
                self._fills.append(
                    Fill(
                        order.ref,
                        order.instrument,
                        order.side,
                        qty,
                        price,
                        session,
                        ts,
                        comm,
                        fees,
                        spread,
                        impact,
                    )
                )
            if not done and cancel:
                self._record(order, OrderEvent(order.ref, E.CANCELLED, ts, reason="unfilled remainder cancelled"))
                done = True
            if done:
                del self._open[order.ref]

    def _mark_block(self, a: int, b: int) -> None:
        led = self.ledger
        held = np.flatnonzero(led.quantity)
        q = led.quantity[held]
        marks = self._marks[a:b][:, held]
        mv = marks @ q
        gross = np.abs(marks) @ np.abs(q)
        cash = np.full(b - a, led.cash)
        borrow = np.zeros(b - a)
        if self.simulator.costs is not None and (q < 0).any():
            short = marks[:, q < 0] @ -q[q < 0]
            borrow = np.cumsum(self.simulator.costs.borrow_fee(short, self._days[a:b]))
            cash -= borrow
            led.charge("borrow", float(borrow[-1]))
        c = led.costs
        rows = {
            "cash": cash,
            "market_value": mv,
            "gross_exposure": gross,
            "equity": cash + mv,
            "realised_pnl": np.full(b - a, float(led.realised.sum())),
            "unrealised_pnl": mv - float(led.cost_basis[held].sum()),
            "commission": c["commission"],
            "fees": c["fees"],
            "spread": c["spread"],
            "impact": c["impact"],
            "borrow": c["borrow"] - borrow[-1] + borrow,
            "dividends": led.dividends,
        }
        for k, name in enumerate(_CURVE_FIELDS):
            self._curve[k, a:b] = rows[name]


def _forward_fill(values: np.ndarray) -> np.ndarray:
    # Positions in a halted or delisted name keep their last known price.
    out = values.astype(float, copy=True)
    ok = np.isfinite(out)
    idx = np.where(ok, np.arange(out.shape[0])[:, None], 0)
    np.maximum.accumulate(idx, axis=0, out=idx)
    filled = out[idx, np.arange(out.shape[1])]
    return np.where(np.isfinite(filled), filled, 0.0)
