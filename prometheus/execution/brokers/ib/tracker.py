"""OrderTracker: our orders at IB, moved by IB's callbacks through the order state machine.

It holds no connection: the broker feeds it ib_async's ``Trade`` / ``Fill`` objects (from callbacks, or from the
lists ib_async keeps after a (re)connect) and it records the matching :class:`OrderEvent` s and :class:`Fill` s.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from prometheus.core.errors import BrokerError
from prometheus.execution.brokers.ib.mapping import (
    IB_ENDED,
    IB_VALIDATION_ERROR,
    IB_WORKING,
    ended_event,
    warning_event,
)
from prometheus.execution.state_machine import Order
from prometheus.execution.types import Fill, OrderEvent, OrderEventType, OrderRef, OrderStatus

if TYPE_CHECKING:
    import ib_async

E = OrderEventType
_log = logging.getLogger(__name__)
_QTY_TOL = 1e-9
NOT_OPEN_AFTER_RECONNECT = "not open at IB after reconnect"


class OrderTracker:
    """Orders this broker sent or adopted, their events and fills, and their link to IB's trades.

    Parameters
    ----------
    client_id
        Our API client id (IB order ids are per client id).
    clock
        Time of the events IB does not timestamp (acknowledgements, cancels, modifies).
    """

    def __init__(self, client_id: int, clock: Callable[[], datetime]) -> None:
        self.client_id = client_id
        self.clock = clock
        self.orders: dict[OrderRef, Order] = {}
        self.open: dict[OrderRef, Order] = {}
        self.trades: dict[OrderRef, ib_async.Trade] = {}
        self.events: list[OrderEvent] = []
        self.fills: list[Fill] = []
        self.problems: list[str] = []  # IB callbacks we could not apply (each also logged)
        self.pending_modify: dict[OrderRef, tuple[float | None, float | None]] = {}
        self.awaiting_commission: dict[str, Fill] = {}  # execId → fill booked, commission report to come
        self.perm_ids: dict[OrderRef, int] = {}  # IB's permId of our orders, once IB has assigned it
        self.foreign_seen: set[int] = set()  # permIds of orders we did not send, already reported
        self._refs_by_id: dict[int, OrderRef] = {}
        self._refs_by_perm: dict[int, OrderRef] = {}
        self._accepted: set[OrderRef] = set()
        self._seen_execs: set[str] = set()

    # ----------------------------------------------------------------- bookkeeping
    def record(self, order: Order, ev: OrderEvent) -> None:
        """Apply ``ev`` to ``order`` and log it; a terminal order leaves the open set."""
        order.apply(ev)
        self.events.append(ev)
        if order.status.is_terminal:
            self.open.pop(order.ref, None)
            self.pending_modify.pop(order.ref, None)

    def register(self, order: Order) -> None:
        """Track ``order`` (sent by us, adopted, or a record of an earlier process)."""
        self.orders[order.ref] = order
        if not order.status.is_terminal:
            self.open[order.ref] = order

    def forget(self, ref: OrderRef) -> None:
        """Stop tracking ``ref`` (a record that never reached IB)."""
        self.orders.pop(ref, None)
        self.open.pop(ref, None)

    def link(self, order: Order, trade: ib_async.Trade) -> None:
        """``order`` is ``trade`` at IB (status updates for that order id now reach it)."""
        self.register(order)
        self.trades[order.ref] = trade
        # Order ids are per client id: only ours identify our orders (another client's id 5 is not our 5).
        if trade.order.clientId == self.client_id and trade.order.orderId:
            self._refs_by_id[trade.order.orderId] = order.ref
        self.note_perm(order.ref, perm_id(trade))

    def note_perm(self, ref: OrderRef, perm: int) -> None:
        """IB's permId of our order ``ref`` (0: not assigned yet, ignored)."""
        if perm and ref in self.orders:
            self.perm_ids[ref] = perm
            self._refs_by_perm[perm] = ref

    def ref_of(self, trade: ib_async.Trade) -> OrderRef | None:
        """Our ref of an IB order: its orderRef if it is one of ours, else its permId, else our order id."""
        if trade.order.orderRef and OrderRef(trade.order.orderRef) in self.orders:
            return OrderRef(trade.order.orderRef)
        ref = self._refs_by_perm.get(perm_id(trade))
        if ref is None and trade.order.clientId == self.client_id and trade.order.orderId:
            ref = self._refs_by_id.get(trade.order.orderId)
        return ref

    def ref_of_execution(self, ex: ib_async.Execution) -> OrderRef | None:
        """Our ref of an IB execution: by its orderRef, else by its permId."""
        if ex.orderRef and OrderRef(ex.orderRef) in self.orders:
            return OrderRef(ex.orderRef)
        return self._refs_by_perm.get(ex.permId)

    def seen(self, exec_id: str) -> bool:
        """The execution is booked already (or known to be booked by an earlier process)."""
        return exec_id in self._seen_execs

    def mark_seen(self, exec_id: str) -> None:
        """Take the execution as booked without booking it (an earlier process recorded it)."""
        self._seen_execs.add(exec_id)

    def working(self, ref: OrderRef) -> Order:
        """The working order with ``ref``.

        Raises
        ------
        BrokerError
            Unknown or already done.
        """
        order = self.open.get(ref)
        if order is None:
            raise BrokerError(f"order {ref} is not working (unknown or already done)")
        return order

    def settled(self, refs: Iterable[OrderRef]) -> bool:
        """Every order in ``refs`` is terminal and every fill has its commission."""
        return not self.awaiting_commission and all(
            (o := self.orders.get(r)) is not None and o.status.is_terminal for r in refs
        )

    def order_for(self, trade: ib_async.Trade) -> Order | None:
        """Our order behind an IB trade: by our order id, else by orderRef, else by permId."""
        ref = None
        if trade.order.clientId == self.client_id and trade.order.orderId:
            ref = self._refs_by_id.get(trade.order.orderId)
        if ref is None:
            ref = self.ref_of(trade)
        order = self.orders.get(ref) if ref is not None else None
        if order is not None:
            self.note_perm(order.ref, perm_id(trade))
        return order

    # ----------------------------------------------------------------- IB callbacks
    def guarded(self, handler: Callable[..., None]) -> Callable[..., None]:
        """``handler`` with its BrokerErrors logged and kept in :attr:`problems`."""

        # An exception inside an ib_async callback would be swallowed by its event loop: keep it visible.
        def run(*args: Any) -> None:
            try:
                handler(*args)
            except BrokerError as exc:
                _log.error("IB callback %s failed: %s", handler.__name__, exc)
                self.problems.append(f"{handler.__name__}: {exc}")

        return run

    def on_status(self, trade: ib_async.Trade) -> None:
        """orderStatus (or ib_async's own status change on an order error)."""
        order = self.order_for(trade)
        if order is None or order.status.is_terminal:
            return
        status = trade.orderStatus.status
        if status in IB_WORKING:
            self.accept(order)
            return
        last = trade.log[-1] if trade.log else None
        code = last.errorCode if last is not None and last.status == status else 0
        if status == IB_VALIDATION_ERROR:
            kind = warning_event(order.status)
        elif status in IB_ENDED:
            kind = ended_event(order.status, self.was_accepted(order), status, code)
        else:
            return
        if kind is None:
            return
        reason = last.message if code and last is not None else f"IB status {status}"
        self.record(order, OrderEvent(order.ref, kind, self.clock(), reason=reason))
        if kind in (E.MODIFY_REJECT, E.CANCEL_REJECT):
            self.pending_modify.pop(order.ref, None)

    def on_open_order(self, trade: ib_async.Trade) -> None:
        """openOrder: IB echoes the order; with the requested values it acknowledges a modify."""
        order = self.order_for(trade)
        if order is None or order.status is not OrderStatus.PENDING_MODIFY or order.ref not in self.pending_modify:
            return
        quantity, limit = self.pending_modify[order.ref]
        if quantity is not None and abs(trade.order.totalQuantity - quantity) > _QTY_TOL:
            return
        if limit is not None and not math.isclose(trade.order.lmtPrice, limit):
            return
        del self.pending_modify[order.ref]
        self.record(order, OrderEvent(order.ref, E.MODIFIED, self.clock(), quantity=quantity or 0.0, price=limit))

    def on_execution(self, trade: ib_async.Trade, fill: ib_async.Fill) -> None:
        """execDetails of a live execution."""
        ex = fill.execution
        if ex.execId in self._seen_execs:
            return
        order = self.order_for(trade)
        if order is None:
            _log.warning("execution %s of an order this broker did not send (orderRef %r)", ex.execId, ex.orderRef)
            return
        self.book_execution(order, fill)

    def on_commission(self, trade: ib_async.Trade, fill: ib_async.Fill, report: ib_async.CommissionReport) -> None:
        """commissionReport: the waiting fill is listed with its commission."""
        booked = self.awaiting_commission.pop(report.execId, None)
        if booked is not None:
            self.fills.append(dataclasses.replace(booked, commission=float(report.commission)))

    def book_execution(self, order: Order, fill: ib_async.Fill) -> None:
        """Record one execution of ``order`` (PARTIAL_FILL or FILL) and its fill once the commission is known."""
        ex = fill.execution
        self._seen_execs.add(ex.execId)
        ts = ex.time.astimezone(UTC) if ex.time.tzinfo else ex.time.replace(tzinfo=UTC)
        remaining = order.quantity - order.filled_quantity
        kind = E.FILL if ex.shares >= remaining - _QTY_TOL * max(remaining, 1.0) else E.PARTIAL_FILL
        shares = remaining if kind is E.FILL else float(ex.shares)
        self.record(order, OrderEvent(order.ref, kind, ts, quantity=shares, price=float(ex.price)))
        booked = Fill(order.ref, order.instrument, order.side, shares, float(ex.price), order.session, ts)
        report = fill.commissionReport
        if report.execId == ex.execId:  # the report came first (always so for executions from reqExecutions)
            self.fills.append(dataclasses.replace(booked, commission=float(report.commission)))
        else:
            self.awaiting_commission[ex.execId] = booked

    # ----------------------------------------------------------------- after a (re)connect
    def adopt(self, order: Order, open_trades: Sequence[ib_async.Trade], executions: Sequence[ib_async.Fill]) -> Order:
        """Take over ``order``, sent by an earlier process (found at IB by orderRef), and book what IB did since.

        ``order`` is our record of it (e.g. :meth:`ExecutionStore.load_order`): executions up to its filled
        quantity are taken as already booked (IB's cumulative quantity tells which), later ones are booked now.

        Raises
        ------
        BrokerError
            IB has neither an open order nor an execution with this orderRef.
        """
        known = self.orders.get(order.ref)
        if known is not None:
            return known
        trade = next((t for t in open_trades if t.order.orderRef == order.ref.value), None)
        mine = sorted(
            (f for f in executions if f.execution.orderRef == order.ref.value), key=lambda f: f.execution.time
        )
        if trade is None and not mine:
            raise BrokerError(f"order {order.ref}: IB has no open order or execution with this orderRef to adopt")
        self.orders[order.ref] = order
        if not order.status.is_terminal:
            self.open[order.ref] = order
        if order.status is OrderStatus.NEW:  # sent, but the process died before recording it
            self.record(order, OrderEvent(order.ref, E.SUBMIT, self.clock(), reason="adopted from IB"))
        if trade is not None:
            self.link(order, trade)
        for f in mine:
            self._seen_execs.add(f.execution.execId)
            if float(f.execution.cumQty) > order.filled_quantity + _QTY_TOL and not order.status.is_terminal:
                self.book_execution(order, f)
        if trade is None and not order.status.is_terminal:
            self.record(order, OrderEvent(order.ref, E.CANCELLED, self.clock(), reason=NOT_OPEN_AFTER_RECONNECT))
        elif trade is not None and trade.orderStatus.status in IB_WORKING:
            self.accept(order)
        return order

    def was_accepted(self, order: Order) -> bool:
        """IB acknowledged ``order`` (or filled part of it)."""
        return order.ref in self._accepted or order.filled_quantity > 0

    def accept(self, order: Order) -> None:
        """Record IB's acknowledgement of a SUBMITTED order (once)."""
        if order.status is OrderStatus.SUBMITTED and order.ref not in self._accepted:
            self._accepted.add(order.ref)
            self.record(order, OrderEvent(order.ref, E.ACCEPT, self.clock()))


def perm_id(trade: ib_async.Trade) -> int:
    """IB's permId of a trade (0 until IB has assigned one)."""
    return int(trade.order.permId or trade.orderStatus.permId or 0)
