"""IbBroker: the :class:`~prometheus.execution.broker.Broker` of PAPER and LIVE, on ``ib_async``.

A synchronous facade: ib_async runs its asyncio loop only while one of our methods waits (``connect``, the
reads, :meth:`IbBroker.wait_until`), and the IB callbacks translate into our order events there, through the
same state machine the BacktestBroker uses. Every connect and reconnect reconciles our orders with IB's
(:mod:`~prometheus.execution.brokers.ib.reconcile`). Not for use from inside a running asyncio loop.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from prometheus.core.errors import BrokerError
from prometheus.core.time import utc_now
from prometheus.execution.brokers.ib.client import build_order, fetch_state, open_connection, run_loop, stock
from prometheus.execution.brokers.ib.config import IbConfig
from prometheus.execution.brokers.ib.connectivity import Connectivity
from prometheus.execution.brokers.ib.mapping import (
    IbClientIdInUse,
    IbConnectionError,
    check_account,
    ib_order_fields,
    mask_account,
    order_refusal,
    quote_price,
)
from prometheus.execution.brokers.ib.reconcile import ReconcileReport, Reconciliation
from prometheus.execution.brokers.ib.status import IbOpenOrder, IbStatus, open_order_view
from prometheus.execution.brokers.ib.tracker import OrderTracker
from prometheus.execution.kill_switch import KillSwitch
from prometheus.execution.risk_gate import Quote
from prometheus.execution.state_machine import Order
from prometheus.execution.types import Fill, OrderEvent, OrderEventType, OrderRef, OrderStatus, Position

if TYPE_CHECKING:
    import ib_async

E = OrderEventType
_log = logging.getLogger(__name__)
_QTY_TOL = 1e-9


class IbBroker:
    """Orders, fills, positions and cash of one IB account, in PAPER or LIVE (``config.mode``).

    Parameters
    ----------
    config
        Host, port, client id, the expected account and (LIVE) the confirmation.
    clock
        Timestamps of the events we create ourselves (SUBMIT, MODIFY_REQUEST, CANCEL_REQUEST, reconciliation's);
        its New York date is "today" for reconciliation.
    kill_switch
        Moved to REDUCING while IB connectivity is lost (1100 or a dropped socket), back on restore.
    order_source
        Our non-terminal order records from earlier processes (e.g. ``ExecutionStore.working_orders``), read on
        every connect and reconnect for :meth:`reconcile`.
    known_refs
        Which of the given refs our records hold, finished ones included (e.g. ``ExecutionStore.known_refs``):
        IB's completed orders with those refs are then ours, not foreign orders.
    on_connectivity
        Called with ``(degraded, reason)`` when IB connectivity is lost or restored (the operator's alerts).
    """

    def __init__(
        self,
        config: IbConfig,
        clock: Callable[[], datetime] = utc_now,
        kill_switch: KillSwitch | None = None,
        order_source: Callable[[], Iterable[Order]] | None = None,
        known_refs: Callable[[Iterable[OrderRef]], set[OrderRef]] | None = None,
        on_connectivity: Callable[[bool, str], None] | None = None,
    ) -> None:
        self.config = config
        self.account: str | None = None
        #: The reconciliation of the latest connect / reconnect (None before the first).
        self.last_reconcile: ReconcileReport | None = None
        self._order_source = order_source
        self._known_refs = known_refs
        self.connectivity = Connectivity(kill_switch, on_change=on_connectivity)
        self._closing = False
        self._clock = clock
        self._ib: ib_async.IB | None = None
        self._book = OrderTracker(config.client_id, clock)
        self._contracts: dict[str, ib_async.Contract | None] = {}

    @property
    def problems(self) -> list[str]:
        """IB callbacks that could not be applied (each also logged)."""
        return self._book.problems

    # ----------------------------------------------------------------- connection
    def connect(self) -> str:
        """Connect, pass the account guard, reconcile (:attr:`last_reconcile`); return the (masked) account.

        Connected already: nothing happens.

        Raises
        ------
        IbClientIdInUse
            IB error 326: the client id is taken by another API client.
        IbConnectionError
            Nothing listens at host:port, the API handshake did not complete in time, or IB did not answer the
            reconciliation's requests (the connection is closed: without reconciliation nothing may be sent).
        IbAccountRefused
            The account guard refuses the login's account for this mode (the connection is closed).
        """
        if self.connected:
            return mask_account(self.account)
        self._open()
        self._reconcile_or_close()
        return mask_account(self.account)

    def _open(self) -> None:
        self._closing = False
        ib = open_connection(self.config, self._wire)
        try:
            self.account = check_account(
                self.config.mode, ib.managedAccounts(), self.config.account, self.config.live_confirm
            )
        except BrokerError:
            ib.disconnect()
            raise
        self._ib = ib
        cfg = self.config
        _log.info(
            "connected to IB %s:%s clientId %s, %s account %s",
            cfg.host, cfg.port, cfg.client_id, cfg.mode.value, mask_account(self.account),
        )  # fmt: skip

    def _reconcile_or_close(self) -> ReconcileReport:
        try:
            self.last_reconcile = self.reconcile(self._order_source() if self._order_source else ())
        except BrokerError as exc:
            self.disconnect()
            raise IbConnectionError(f"connected to IB, but reconciliation failed: {exc}") from None
        except BaseException:  # the order source failed (its store?): not connected either way
            self.disconnect()
            raise
        return self.last_reconcile

    def reconcile(self, known: Iterable[Order] = ()) -> ReconcileReport:
        """Compare our orders with IB's and record what IB did: see :mod:`~prometheus.execution.brokers.ib.reconcile`.

        ``known``: our non-terminal order records from earlier processes (records of refs this broker already
        tracks are ignored: its own orders are newer). Runs on every connect and reconnect; safe to repeat (an
        execution is booked once). Foreign orders are handled by ``config.foreign_orders``.

        Raises
        ------
        BrokerError
            Not connected, or IB did not answer within ``config.request_timeout_s``.
        """
        ib = self._connected()
        self._pump()
        state = fetch_state(ib, self.account or "", self.config.request_timeout_s)
        first_fill = len(self._book.fills)
        run = Reconciliation(self._book, self.config.foreign_orders, self._cancel_foreign, self._known_refs)
        report = run.run(state, known)
        # A fill is listed once its commission report is in: give IB a moment for reports still to come.
        self.wait_until(lambda: not self._book.awaiting_commission, self.config.request_timeout_s)
        report = dataclasses.replace(report, missed_fills=tuple(self._book.fills[first_fill:]))
        if report.changed:
            _log.info("IB reconciliation:\n  %s", "\n  ".join(report.lines()))
        return report

    def _cancel_foreign(self, trade: ib_async.Trade) -> str:
        try:
            self._connected().cancelOrder(trade.order)
        except (BrokerError, ConnectionError) as exc:
            return f"cancel not sent: {exc}"
        return ""

    def disconnect(self) -> None:
        """Close the connection (orders stay at IB)."""
        if self._ib is not None:
            self._closing = True  # our own close is not a connectivity loss
            self._ib.disconnect()
            self._ib = None

    def reconnect(self, attempts: int = 5, backoff_s: float = 0.5) -> list[OrderEvent]:
        """Connect again after a drop (waits double after each failed try) and reconcile; connected already: only
        reconcile. Returns the order events the reconciliation recorded (the report: :attr:`last_reconcile`).

        ib_async forgets its orders and fills on disconnect: reconciliation re-links our working orders, books
        every execution missed while away exactly once, and closes what IB finished meanwhile.

        Raises
        ------
        IbConnectionError, IbClientIdInUse
            Still failing after ``attempts`` tries.
        IbAccountRefused
            The account guard refuses the account now logged in (no retry).
        BrokerError
            Connected already, and IB did not answer the reconciliation's requests.
        """
        self.wait_until(lambda: not self.connected, 0.05)  # let a drop that just happened be noticed
        if self.connected:  # a live socket degraded by 1100 waits for IB's 1101 / 1102 instead
            self.last_reconcile = self.reconcile(self._order_source() if self._order_source else ())
            return list(self.last_reconcile.events)
        self._ib = None  # the socket is gone; a fresh ib_async client starts from a clean state
        delay = backoff_s
        for attempt in range(1, attempts + 1):
            try:
                self.connect()
                break
            except (IbConnectionError, IbClientIdInUse) as exc:
                if attempt == attempts:
                    raise
                _log.warning("IB reconnect %d/%d failed (%s); next try in %.1fs", attempt, attempts, exc, delay)
                time.sleep(delay)
                delay *= 2
        self.connectivity.restored(data_lost=True)
        assert self.last_reconcile is not None  # connect() reconciled
        return list(self.last_reconcile.events)

    def adopt(self, order: Order) -> Order:
        """Take over an order an earlier process sent (IB knows its orderRef): link it and book what IB did since.

        ``order`` is our record of it (:meth:`ExecutionStore.load_order`); executions IB reports beyond its filled
        quantity are booked once, and a later :meth:`submit` of the ref returns it instead of sending it again.

        Raises
        ------
        BrokerError
            Not connected, or IB has neither an open order nor an execution with this orderRef.
        """
        ib = self._connected()
        self._pump()
        return self._book.adopt(order, ib.openTrades(), ib.fills())

    @property
    def connected(self) -> bool:
        """True while the API connection is up."""
        return self._ib is not None and self._ib.isConnected()

    def __enter__(self) -> IbBroker:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.disconnect()

    # ----------------------------------------------------------------- Broker protocol
    def submit(self, order: Order) -> Order:
        """Send ``order`` to IB with ``orderRef`` = its ref; a ref already known returns the known order.

        An order IB cannot take (unknown symbol, fractional shares, LIMIT without price) is recorded REJECTED.

        Raises
        ------
        BrokerError
            Not connected, the order is not NEW, or IB already has a working order with this orderRef (sent by
            an earlier process: reconcile instead of sending it twice).
        """
        known = self._book.orders.get(order.ref)
        if known is not None:
            return known
        ib = self._connected()
        self._require_healthy(order.ref)
        if order.status is not OrderStatus.NEW:
            raise BrokerError(f"order {order.ref} is {order.status}, only NEW orders are sent")
        at_ib = next((t for t in ib.trades() if t.order.orderRef == order.ref.value), None)
        if at_ib is not None and not at_ib.isDone():
            raise BrokerError(f"order {order.ref} is already working at IB; reconcile instead of sending it again")
        if at_ib is not None:
            raise BrokerError(
                f"order {order.ref} is already at IB ({at_ib.orderStatus.status}); reconcile, do not send it again"
            )
        reason = order_refusal(order)
        contract = None if reason else self._contract(order.instrument)
        if not reason and contract is None:
            reason = f"IB knows no {self.config.currency} stock {order.instrument!r} on {self.config.exchange}"
        if reason:
            self._book.orders[order.ref] = order
            self._book.record(order, OrderEvent(order.ref, E.REJECT, self._clock(), reason=reason))
            return order
        try:
            trade = ib.placeOrder(contract, build_order(ib_order_fields(order), self.account or ""))
        except ConnectionError as exc:  # never sent: a later submit may send it
            raise BrokerError(f"order {order.ref} not sent: {exc}") from None
        self._book.link(order, trade)
        self._book.record(order, OrderEvent(order.ref, E.SUBMIT, self._clock()))
        self._pump()
        return order

    def modify(self, ref: OrderRef, *, quantity: float | None = None, limit_price: float | None = None) -> Order:
        """Ask IB to change the total quantity and/or limit price; MODIFIED follows IB's acknowledgement.

        Raises
        ------
        BrokerError
            The order is not working, nothing to change, a limit price for a non-LIMIT order, or fractional
            shares.
        """
        order = self._book.working(ref)
        self._require_healthy(ref)
        trade = self._own_trade(ref)
        if quantity is None and limit_price is None:
            raise BrokerError(f"modify {ref}: give a quantity or a limit price")
        if limit_price is not None and trade.order.orderType != "LMT":
            raise BrokerError(f"modify {ref}: only LIMIT orders have a limit price")
        if quantity is not None and (not math.isfinite(quantity) or abs(quantity - round(quantity)) > _QTY_TOL):
            raise BrokerError(f"modify {ref}: IB stock orders take whole shares; got {quantity}")
        if quantity is not None and quantity <= order.filled_quantity:
            raise BrokerError(f"modify {ref}: {quantity} is not above the {order.filled_quantity} already filled")
        changed = dataclasses.replace(
            trade.order,
            totalQuantity=float(round(quantity)) if quantity is not None else trade.order.totalQuantity,
            lmtPrice=limit_price if limit_price is not None else trade.order.lmtPrice,
        )
        self._book.record(order, OrderEvent(ref, E.MODIFY_REQUEST, self._clock()))
        self._book.pending_modify[ref] = (quantity, limit_price)
        self._connected().placeOrder(trade.contract, changed)
        self._pump()
        return order

    def cancel(self, ref: OrderRef) -> Order:
        """Ask IB to cancel a working order; CANCELLED follows IB's confirmation.

        Raises
        ------
        BrokerError
            The order is not working, or was placed by another client id (adopted: IB lets only that client
            cancel it).
        """
        order = self._book.working(ref)
        ib = self._connected()
        trade = self._own_trade(ref)
        self._book.record(order, OrderEvent(ref, E.CANCEL_REQUEST, self._clock()))
        ib.cancelOrder(trade.order)
        self._pump()
        return order

    def open_orders(self) -> list[Order]:
        """Our orders still working, in submission order."""
        self._pump()
        return list(self._book.open.values())

    def order(self, ref: OrderRef) -> Order | None:
        """The order with ``ref``, if this broker sent or adopted it."""
        return self._book.orders.get(ref)

    def order_events(self, since: int = 0) -> Sequence[OrderEvent]:
        """Every order event from position ``since``."""
        self._pump()
        return self._book.events[since:]

    def fills(self, since: int = 0) -> Sequence[Fill]:
        """Every fill from position ``since``; a fill is listed once its commission report has arrived."""
        self._pump()
        return self._book.fills[since:]

    def positions(self) -> dict[str, Position]:
        """Non-zero positions of the account as IB reports them (cost basis from IB's average cost)."""
        ib = self._connected()
        self._pump()
        return {
            p.contract.symbol: Position(p.contract.symbol, float(p.position), float(p.position) * float(p.avgCost))
            for p in ib.positions(self.account or "")
            if p.position
        }

    def cash(self) -> float:
        """``TotalCashValue`` of the account in ``config.currency`` (IB's account updates).

        Raises
        ------
        BrokerError
            IB has not reported the cash balance.
        """
        ib = self._connected()
        self._pump()
        for v in ib.accountValues(self.account or ""):
            if v.tag == "TotalCashValue" and v.currency == self.config.currency:
                return float(v.value)
        raise BrokerError(f"IB reported no TotalCashValue in {self.config.currency} for {mask_account(self.account)}")

    # ----------------------------------------------------------------- beyond the protocol
    def account_summary(self) -> dict[str, float]:
        """Numeric account-summary tags in ``config.currency`` (NetLiquidation, TotalCashValue, AvailableFunds...)."""
        ib = self._connected()
        out: dict[str, float] = {}
        for v in ib.accountSummary(self.account or ""):
            if v.currency == self.config.currency:
                with suppress(ValueError):
                    out[v.tag] = float(v.value)
        return out

    def status(self) -> IbStatus:
        """The connection, account, positions and open orders at IB (empty lists when not connected)."""
        cfg, up = self.config, self.connected
        return IbStatus(
            cfg.mode, f"{cfg.host}:{cfg.port}", cfg.client_id, up, mask_account(self.account),
            self.connectivity.reason, self.positions() if up else {}, self.ib_open_orders() if up else [],
        )  # fmt: skip

    def ib_open_orders(self) -> list[IbOpenOrder]:
        """Every order IB lists as open for this login (any client id), ours or not."""
        ib = self._connected()
        self._pump()
        return [open_order_view(t, ours=self._book.ref_of(t) is not None) for t in ib.openTrades()]

    def snapshot_quotes(self, symbols: Sequence[str]) -> dict[str, Quote]:
        """Snapshot quotes (the last trade, else the midpoint, else the close) with the time they arrived.

        Symbols IB does not know, or without any price, are left out.
        """
        ib = self._connected()
        contracts = {s: c for s in symbols if (c := self._contract(s)) is not None}
        tickers = ib.reqTickers(*contracts.values())
        now = self._clock()
        out: dict[str, Quote] = {}
        for symbol, t in zip(contracts, tickers, strict=True):
            price = quote_price(t.last, t.bid, t.ask, t.close)
            if price is not None:
                ts = t.time.astimezone(UTC) if isinstance(t.time, datetime) and t.time.tzinfo else now
                out[symbol] = Quote(price, ts)
        return out

    def qualify(self, symbols: Sequence[str]) -> dict[str, int]:
        """IB contract ids of ``symbols`` (stocks on ``config.exchange`` in ``config.currency``).

        Raises
        ------
        BrokerError
            A symbol IB does not know.
        """
        self._connected()
        out: dict[str, int] = {}
        for s in symbols:
            contract = self._contract(s)
            if contract is None:
                raise BrokerError(f"IB knows no {self.config.currency} stock {s!r} on {self.config.exchange}")
            out[s] = int(contract.conId)
        return out

    def wait_until(self, done: Callable[[], bool], timeout: float) -> bool:
        """Let IB messages arrive until ``done()`` or ``timeout`` seconds; return ``done()``."""
        end = time.monotonic() + timeout
        while not done():
            left = end - time.monotonic()
            if left <= 0:
                return False
            run_loop(min(0.02, left))
        return True

    def wait_for_orders(self, refs: Sequence[OrderRef], timeout: float) -> bool:
        """Wait until every order in ``refs`` is terminal and its fills carry their commissions."""
        return self.wait_until(lambda: self._book.settled(refs), timeout)

    # ----------------------------------------------------------------- IB callbacks
    def _wire(self, ib: ib_async.IB) -> None:
        book = self._book
        ib.orderStatusEvent += book.guarded(book.on_status)
        ib.openOrderEvent += book.guarded(book.on_open_order)
        ib.execDetailsEvent += book.guarded(book.on_execution)
        ib.commissionReportEvent += book.guarded(book.on_commission)
        ib.errorEvent += lambda req_id, code, text, contract: self.connectivity.on_error(code, text)
        ib.disconnectedEvent += lambda: self._on_disconnected(ib)

    def _on_disconnected(self, ib: ib_async.IB) -> None:
        # Only the drop of the connection in use counts: not our own close, not a connect attempt that failed.
        if ib is self._ib and not self._closing:
            self.connectivity.lost("the connection to IB Gateway / TWS closed")

    # ----------------------------------------------------------------- internals
    def _require_healthy(self, ref: OrderRef) -> None:
        if self.connectivity.degraded:
            raise BrokerError(
                f"order {ref} not sent: IB connectivity is degraded ({self.connectivity.reason}); no new orders "
                "until IB reports 1101/1102 or reconnect() succeeds"
            )

    def _own_trade(self, ref: OrderRef) -> ib_async.Trade:
        trade = self._book.trades.get(ref)
        if trade is None:
            raise BrokerError(f"order {ref} is not linked to an order at IB; reconcile first")
        # Order ids are per client id: a request with another client's order id would change our own order.
        if trade.order.clientId != self.config.client_id or not trade.order.orderId:
            who = f"client id {trade.order.clientId}" if trade.order.orderId else "TWS"
            raise BrokerError(f"order {ref} was placed by {who}; only there can it be modified or cancelled")
        return trade

    def _connected(self) -> ib_async.IB:
        if self._ib is None or not self._ib.isConnected():
            raise BrokerError(f"not connected to IB at {self.config.host}:{self.config.port}; call connect() first")
        return self._ib

    def _pump(self) -> None:
        # Let ib_async read what has arrived on the socket, so reads see the latest state.
        if self._ib is not None and self._ib.isConnected():
            run_loop(0)

    def _contract(self, symbol: str) -> ib_async.Contract | None:
        if symbol not in self._contracts:
            found = self._connected().qualifyContracts(stock(symbol, self.config.exchange, self.config.currency))
            self._contracts[symbol] = found[0] if found and found[0] is not None else None
        return self._contracts[symbol]
