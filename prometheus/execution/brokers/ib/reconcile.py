"""Reconciliation: our order records against what IB reports after a (re)connect.

IB is compared on four lists: open orders of every client id (``reqAllOpenOrders``), completed orders
(``reqCompletedOrders``), executions (``reqExecutions``) and positions. An IB order is ours when its orderRef is
one of our refs, else when its permId is one we saw for our order (so an order IB reports without its orderRef
still matches). Everything else at IB is *foreign*, handled by
:attr:`IbConfig.foreign_orders`. Every change goes through the order state machine; an execution is booked once,
by execId, however often reconciliation runs.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from prometheus.core.errors import BrokerError
from prometheus.execution.brokers.ib.config import ForeignPolicy
from prometheus.execution.brokers.ib.mapping import (
    IB_ENDED,
    IB_WORKING,
    ended_event,
    order_type_from_ib,
    side_from_action,
)
from prometheus.execution.brokers.ib.tracker import OrderTracker, perm_id
from prometheus.execution.state_machine import Order
from prometheus.execution.types import Fill, OrderEvent, OrderEventType, OrderRef, OrderStatus, OrderType, Position

if TYPE_CHECKING:
    import ib_async

E = OrderEventType
_log = logging.getLogger(__name__)
_QTY_TOL = 1e-9

#: IB's status of a filled order.
IB_FILLED = "Filled"
#: The broker trades US stocks (SMART, USD): a session is a New York calendar day.
EXCHANGE_TZ = ZoneInfo("America/New_York")
#: Prefix of the ref given to an adopted foreign order that has no orderRef.
SYNTHETIC_REF_PREFIX = "ib-perm-"
#: Answers to a pending modify / cancel that reconciliation reads off IB's open order.
_ANSWERS = frozenset({OrderEventType.MODIFIED, OrderEventType.MODIFY_REJECT, OrderEventType.CANCEL_REJECT})
NO_TRACE = "IB has no open order, completed order or execution with this orderRef or permId"


class ForeignAction(StrEnum):
    """What reconciliation did with a foreign order."""

    ALERTED = "ALERTED"  # listed and logged only
    ADOPTED = "ADOPTED"  # taken over as our order
    CANCEL_SENT = "CANCEL_SENT"  # cancel sent to IB (its confirmation follows as an order status)
    NOT_CANCELLABLE = "NOT_CANCELLABLE"  # policy "cancel", but IB lets only the client that placed it cancel it


@dataclass(frozen=True, slots=True)
class ForeignOrder:
    """An order at IB that we did not send, as IB reports it, and what was done with it."""

    perm_id: int
    client_id: int  # 0 with order_id 0: entered by hand in TWS
    order_id: int
    order_ref: str  # "" when none
    instrument: str
    action: str
    quantity: float
    filled: float
    order_type: str
    tif: str
    limit_price: float | None
    ib_status: str
    working: bool  # open at IB (False: completed)
    handled: ForeignAction
    adopted_as: OrderRef | None = None
    note: str = ""

    def describe(self) -> str:
        """One line for logs, alerts and ``broker reconcile``."""
        price = f" @ {self.limit_price:g}" if self.limit_price is not None else ""
        who = "TWS (manual)" if self.client_id == 0 and self.order_id == 0 else f"clientId {self.client_id}"
        ref = f"orderRef {self.order_ref!r}" if self.order_ref else "no orderRef"
        text = (
            f"foreign order permId {self.perm_id} ({who}, {ref}): {self.action} {self.quantity:g} {self.instrument} "
            f"{self.order_type}{price} {self.tif}, {self.ib_status}, filled {self.filled:g} -> {self.handled.value}"
        )
        if self.adopted_as is not None:
            text += f" as {self.adopted_as}"
        return text + (f" ({self.note})" if self.note else "")


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    """What one reconciliation found and changed.

    ``orders`` holds every order that received an event (for the caller to save), ``events`` those events and
    ``missed_fills`` the fills booked now (each IB execution once); ``unsent`` are NEW records of today IB has no
    trace of (never sent: the caller may send them).
    """

    ts: datetime
    adopted: tuple[OrderRef, ...] = ()
    completed: tuple[OrderRef, ...] = ()
    missed_fills: tuple[Fill, ...] = ()
    foreign: tuple[ForeignOrder, ...] = ()
    unknown_refs: tuple[OrderRef, ...] = ()
    unsent: tuple[OrderRef, ...] = ()
    positions: Mapping[str, Position] = field(default_factory=dict)
    events: tuple[OrderEvent, ...] = ()
    orders: tuple[Order, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def foreign_action(self) -> dict[int, ForeignAction]:
        """What was done with each foreign order, by permId."""
        return {f.perm_id: f.handled for f in self.foreign}

    @property
    def changed(self) -> bool:
        """Anything to report: re-linked orders, completions, fills, foreign orders, unknown refs, answers to
        pending requests, problems (an acknowledgement alone is not a change)."""
        listed = self.adopted or self.completed or self.missed_fills or self.foreign or self.unknown_refs
        return bool(listed or self.problems or self._answers())

    def _answers(self) -> list[OrderEvent]:
        return [e for e in self.events if e.kind in _ANSWERS]

    def lines(self) -> list[str]:
        """A short human-readable summary ("nothing changed" when so)."""
        if not self.changed and not self.unsent:
            return ["nothing changed"]
        out: list[str] = []
        status = {o.ref: o.status for o in self.orders}
        if self.adopted:
            out.append(f"re-linked {len(self.adopted)} order(s) working at IB: {_refs(self.adopted)}")
        if self.completed:
            done = ", ".join(f"{r} {status.get(r, '?')}" for r in self.completed)
            out.append(f"completed at IB while away: {done}")
        out += [f"{e.ref} {e.kind.value}: {e.reason}" for e in self._answers()]
        if self.missed_fills:
            fills = ", ".join(
                f"{f.ref} {f.side.value} {f.quantity:g} {f.instrument} @ {f.price:g}" for f in self.missed_fills
            )
            out.append(f"missed fills booked ({len(self.missed_fills)}): {fills}")
        out += [f.describe() for f in self.foreign]
        if self.unknown_refs:
            gone = ", ".join(f"{r} {status.get(r, '?')}" for r in self.unknown_refs)
            out.append(f"unknown to IB, closed: {gone}")
        if self.unsent:
            out.append(f"never reached IB (still NEW): {_refs(self.unsent)}")
        out += [f"problem: {p}" for p in self.problems]
        return out


@dataclass(frozen=True, slots=True)
class IbState:
    """What IB reported for reconciliation (ib_async objects, fetched by the broker)."""

    open_trades: Sequence[ib_async.Trade]
    completed: Sequence[ib_async.Trade]
    executions: Sequence[ib_async.Fill]
    positions: Mapping[str, Position]


def session_of(ts: datetime) -> date:
    """The trading day (New York date) of ``ts``."""
    return ts.astimezone(EXCHANGE_TZ).date()


class Reconciliation:
    """One reconciliation run over the tracker's orders, ``known`` records and IB's state.

    Parameters
    ----------
    book
        The broker's orders, events and fills; reconciliation records into it.
    policy
        What to do with foreign orders.
    cancel
        Sends IB a cancel for a foreign order (called only under the "cancel" policy, only for an order this
        client id may cancel); returns "" or why it could not.
    known_refs
        Which of the given refs our records hold (e.g. ``ExecutionStore.known_refs``), finished orders
        included: an IB order with such an orderRef is ours, not foreign, even when it is not in ``known``.
    """

    def __init__(
        self,
        book: OrderTracker,
        policy: ForeignPolicy,
        cancel: Callable[[ib_async.Trade], str],
        known_refs: Callable[[Iterable[OrderRef]], set[OrderRef]] | None = None,
    ) -> None:
        self.book = book
        self.policy = policy
        self.cancel = cancel
        self.known_refs = known_refs
        self._adopted: list[OrderRef] = []
        self._completed: list[OrderRef] = []
        self._unknown: list[OrderRef] = []
        self._unsent: list[OrderRef] = []
        self._foreign: list[ForeignOrder] = []
        self._problems: list[str] = []

    def run(self, state: IbState, known: Iterable[Order]) -> ReconcileReport:
        """Compare, record, and report (the report's fills are those booked by this run)."""
        book = self.book
        first_event, first_fill = len(book.events), len(book.fills)
        from_records = self._take_records(known)
        executions = sorted(state.executions, key=lambda f: f.execution.time)
        self._learn_perm_ids(state, executions)
        open_ours, open_foreign = self._split(state.open_trades)
        done_ours, done_foreign = self._split(state.completed)
        self._drop_recorded(open_foreign, working=True)
        self._drop_recorded(done_foreign, working=False)
        execs: dict[OrderRef, list[ib_async.Fill]] = {}
        for f in executions:
            if (ref := book.ref_of_execution(f.execution)) is not None:
                execs.setdefault(ref, []).append(f)
        for ref, order in list(book.orders.items()):
            # One record at odds with IB (an illegal transition, a fill too large) must not keep the broker from
            # connecting: it is reported, the order unchanged (Order.apply is all or nothing).
            try:
                self._settle(order, open_ours.get(ref), done_ours.get(ref), execs.get(ref, []), ref in from_records)
            except BrokerError as exc:
                self._problem(f"order {ref}: {exc}")
        foreign = [(t, True) for t in open_foreign.values()]
        foreign += [(t, False) for perm, t in done_foreign.items() if perm not in book.foreign_seen]
        for trade, working in foreign:
            try:
                self._foreign_order(trade, executions, working)
            except BrokerError as exc:
                self._problem(f"foreign order permId {perm_id(trade)}: {exc}")
        events = tuple(book.events[first_event:])
        touched = dict.fromkeys(e.ref for e in events)
        return ReconcileReport(
            ts=book.clock(),
            adopted=tuple(self._adopted),
            completed=tuple(self._completed),
            missed_fills=tuple(book.fills[first_fill:]),
            foreign=tuple(self._foreign),
            unknown_refs=tuple(self._unknown),
            unsent=tuple(self._unsent),
            positions=dict(state.positions),
            events=events,
            orders=tuple(book.orders[r] for r in touched if r in book.orders),
            problems=tuple(self._problems),
        )

    # ----------------------------------------------------------------- matching
    def _take_records(self, known: Iterable[Order]) -> set[OrderRef]:
        # Records of earlier processes: their fills up to ``filled_quantity`` are booked already.
        taken: set[OrderRef] = set()
        for order in known:
            if order.ref not in self.book.orders:
                self.book.register(order)
                taken.add(order.ref)
        return taken

    def _learn_perm_ids(self, state: IbState, executions: Sequence[ib_async.Fill]) -> None:
        # Anything IB reports with one of our orderRefs tells that order's permId, so a later report of the same
        # order without its orderRef still matches.
        for f in executions:
            if f.execution.orderRef and OrderRef(f.execution.orderRef) in self.book.orders:
                self.book.note_perm(OrderRef(f.execution.orderRef), f.execution.permId)
        for t in (*state.open_trades, *state.completed):
            if t.order.orderRef and OrderRef(t.order.orderRef) in self.book.orders:
                self.book.note_perm(OrderRef(t.order.orderRef), perm_id(t))

    def _split(
        self, trades: Sequence[ib_async.Trade]
    ) -> tuple[dict[OrderRef, ib_async.Trade], dict[int, ib_async.Trade]]:
        ours: dict[OrderRef, ib_async.Trade] = {}
        foreign: dict[int, ib_async.Trade] = {}
        for t in trades:
            ref = self.book.ref_of(t)
            if ref is not None:
                ours[ref] = t
            else:
                foreign[perm_id(t)] = t
        return ours, foreign

    def _drop_recorded(self, foreign: dict[int, ib_async.Trade], working: bool) -> None:
        # IB orders whose orderRef our records hold as finished (an earlier process's) are ours, not foreign.
        by_ref = {OrderRef(t.order.orderRef): perm for perm, t in foreign.items() if t.order.orderRef}
        if self.known_refs is None or not by_ref:
            return
        for ref in self.known_refs(by_ref):
            trade = foreign.pop(by_ref[ref])
            if working:
                self._problem(
                    f"IB has {ref} open ({trade.orderStatus.status}) but our records hold it finished; "
                    "reconcile with its record or cancel it at IB"
                )

    # ----------------------------------------------------------------- our orders
    def _settle(
        self,
        order: Order,
        trade: ib_async.Trade | None,
        done: ib_async.Trade | None,
        fills: list[ib_async.Fill],
        from_record: bool,
    ) -> None:
        book = self.book
        unseen = [f for f in fills if not book.seen(f.execution.execId)]
        if order.status.is_terminal and not unseen:
            return
        if trade is None and done is None and not fills:
            self._no_trace(order)
            return
        if order.status is OrderStatus.NEW:  # it reached IB, but the process died before recording that
            book.record(order, OrderEvent(order.ref, E.SUBMIT, book.clock(), reason="found at IB by reconciliation"))
        was_open = not order.status.is_terminal
        if trade is not None and was_open and book.trades.get(order.ref) is not trade:
            book.link(order, trade)
            self._adopted.append(order.ref)
        if trade is not None and trade.orderStatus.status in IB_WORKING:
            book.accept(order)
            self._settle_request(order, trade)
        self._book_fills(order, unseen, from_record)
        if trade is None and done is not None:
            self._complete(order, done)
        elif trade is None and not order.status.is_terminal:
            # Executions but neither an open nor a completed order: IB has finished with it.
            self._note(order, E.CANCELLED, "IB lists it neither open nor completed; its executions are booked")
        if was_open and order.status.is_terminal:
            self._completed.append(order.ref)

    def _settle_request(self, order: Order, trade: ib_async.Trade) -> None:
        # A modify or cancel whose answer was lost with the connection (or sent by an earlier process): IB
        # answers requests in order, so its open-order report already reflects it.
        if order.status is OrderStatus.PENDING_CANCEL:
            self._note(
                order, E.CANCEL_REJECT, "IB still lists the order working after the cancel request; cancel again"
            )
            return
        if order.status is not OrderStatus.PENDING_MODIFY:
            return
        quantity = float(trade.order.totalQuantity)
        limit = float(trade.order.lmtPrice) if trade.order.orderType == "LMT" else None
        wanted = self.book.pending_modify.pop(order.ref, None)
        if wanted is not None:
            applied = (wanted[0] is None or math.isclose(quantity, wanted[0])) and (
                wanted[1] is None or (limit is not None and math.isclose(limit, wanted[1]))
            )
        else:  # an earlier process's request: did IB's order change from our record?
            applied = not math.isclose(quantity, order.quantity) or (
                limit is not None and order.limit_price is not None and not math.isclose(limit, order.limit_price)
            )
        if applied:
            ev = OrderEvent(order.ref, E.MODIFIED, self.book.clock(), quantity=quantity, price=limit,
                            reason="IB lists the order modified")  # fmt: skip
            self.book.record(order, ev)
        else:
            self._note(order, E.MODIFY_REJECT, "IB lists the order unchanged after the modify request")

    def _book_fills(self, order: Order, fills: list[ib_async.Fill], from_record: bool) -> None:
        for f in fills:
            ex = f.execution
            if from_record and float(ex.cumQty) <= order.filled_quantity + _QTY_TOL:
                self.book.mark_seen(ex.execId)  # IB's cumulative quantity: the record holds this one already
                continue
            if (
                order.status is OrderStatus.FILLED
                or float(ex.shares) > order.quantity - order.filled_quantity + _QTY_TOL
            ):
                self.book.mark_seen(ex.execId)
                self._problem(f"execution {ex.execId} ({ex.shares:g} @ {ex.price:g}) does not fit order {order.ref} "
                              f"({order.filled_quantity:g} of {order.quantity:g} filled); not booked")  # fmt: skip
                continue
            self.book.book_execution(order, f)

    def _complete(self, order: Order, done: ib_async.Trade) -> None:
        status = done.orderStatus.status
        if order.status.is_terminal:
            return
        if status == IB_FILLED:
            self._problem(
                f"IB reports {order.ref} Filled but its executions give {order.filled_quantity:g} of "
                f"{order.quantity:g} (IB reports executions of the current day only); the rest is not booked"
            )
            return
        if status not in IB_ENDED:
            self._problem(f"IB reports completed order {order.ref} with status {status!r}; left as {order.status}")
            return
        kind = ended_event(order.status, self.book.was_accepted(order), status, 0)
        if kind is None:
            return
        self._note(order, kind, f"IB status {status} (completed while away)")

    def _no_trace(self, order: Order) -> None:
        today = session_of(self.book.clock())
        if order.status is OrderStatus.NEW and order.session >= today:
            # Never sent: forgotten again, so that a later submit sends it.
            self.book.forget(order.ref)
            self._unsent.append(order.ref)
            return
        if order.status is OrderStatus.NEW:
            self._note(order, E.CANCELLED, f"never sent; its session {order.session} has ended")
        elif order.session < today:
            self._note(order, E.EXPIRE, f"{NO_TRACE}; its session {order.session} has ended")
        else:
            self._note(order, E.CANCELLED, NO_TRACE)
        self._unknown.append(order.ref)

    def _note(self, order: Order, kind: OrderEventType, reason: str) -> None:
        self.book.record(order, OrderEvent(order.ref, kind, self.book.clock(), reason=reason))

    # ----------------------------------------------------------------- foreign orders
    def _foreign_order(self, trade: ib_async.Trade, executions: Sequence[ib_async.Fill], working: bool) -> None:
        perm = perm_id(trade)
        self.book.foreign_seen.add(perm)
        handled, note, adopted = ForeignAction.ALERTED, "", None
        if not working:
            # Nothing to take over or cancel; adopting its fills could book an earlier process's fills twice.
            note = f"completed at IB ({trade.orderStatus.status})"
        elif self.policy == "adopt":
            adopted, note = self._adopt_foreign(trade, executions)
            handled = ForeignAction.ADOPTED if adopted is not None else ForeignAction.ALERTED
        elif self.policy == "cancel":
            handled, note = self._cancel_foreign(trade)
        o = trade.order
        limit = float(o.lmtPrice) if o.orderType == "LMT" else None
        found = ForeignOrder(
            perm, int(o.clientId), int(o.orderId), o.orderRef, trade.contract.symbol, o.action,
            float(o.totalQuantity), _filled(trade, working), o.orderType, o.tif, limit,
            trade.orderStatus.status, working, handled, adopted, note,
        )  # fmt: skip
        _log.warning("%s", found.describe())
        self._foreign.append(found)

    def _adopt_foreign(self, trade: ib_async.Trade, executions: Sequence[ib_async.Fill]) -> tuple[OrderRef | None, str]:
        o = trade.order
        kind = order_type_from_ib(o.orderType, o.tif)
        if kind is None:
            return None, f"not adopted: IB {o.orderType} {o.tif} has no counterpart among our order types"
        try:
            side = side_from_action(o.action)
        except BrokerError as exc:
            return None, f"not adopted: {exc}"
        perm = perm_id(trade)
        ref = OrderRef(o.orderRef or f"{SYNTHETIC_REF_PREFIX}{perm}")
        book = self.book
        order = Order(
            ref, trade.contract.symbol, side, float(o.totalQuantity), kind, session_of(book.clock()),
            limit_price=float(o.lmtPrice) if kind is OrderType.LIMIT else None,
        )  # fmt: skip
        book.register(order)
        book.note_perm(ref, perm)
        who = f"clientId {o.clientId}" if o.orderId else "TWS"
        book.record(order, OrderEvent(ref, E.SUBMIT, book.clock(), reason=f"adopted from IB (permId {perm}, {who})"))
        book.link(order, trade)
        # Its executions so far (IB reports today's): booked now, so our records match IB's positions.
        if trade.orderStatus.status in IB_WORKING:
            book.accept(order)
        mine = [f for f in executions if f.execution.permId == perm and not book.seen(f.execution.execId)]
        self._book_fills(order, mine, from_record=False)
        return ref, ""

    def _cancel_foreign(self, trade: ib_async.Trade) -> tuple[ForeignAction, str]:
        o = trade.order
        # Order ids are per client id, so a cancel for another client's order id would hit our own order with that
        # id; IB lets only the client that placed an order (or TWS) cancel it.
        if o.clientId != self.book.client_id or not o.orderId:
            return (
                ForeignAction.NOT_CANCELLABLE,
                f"placed by {'TWS' if not o.orderId else f'clientId {o.clientId}'}; cancel it there",
            )
        failure = self.cancel(trade)
        if failure:
            return ForeignAction.NOT_CANCELLABLE, failure
        return ForeignAction.CANCEL_SENT, ""

    def _problem(self, text: str) -> None:
        _log.error("reconciliation: %s", text)
        self._problems.append(text)
        self.book.problems.append(f"reconcile: {text}")


def _filled(trade: ib_async.Trade, working: bool) -> float:
    # An open order's fills are in its order status; a completed order carries them in the order itself
    # (IB's "unset" is a huge double).
    value = float(trade.orderStatus.filled if working else trade.order.filledQuantity)
    return value if 0 <= value < 1e300 else 0.0


def _refs(refs: Iterable[OrderRef]) -> str:
    return ", ".join(str(r) for r in refs)
