"""A fake IB Gateway: a TCP server on 127.0.0.1 that speaks the TWS API wire protocol as ``ib_async`` reads it.

Only what the IbBroker tests need: the handshake, startApi, managed accounts, next valid id, contract details
(STK SMART USD), place / modify / cancel with a scripted behaviour per symbol, open orders, completed orders,
executions with commission reports, positions, account updates and account summary, and error messages by code.
Orders of other API clients and manual TWS orders (:meth:`FakeIbGateway.place_foreign`) are listed by
``reqAllOpenOrders`` / ``reqCompletedOrders`` like IB does, and never pushed to our client.

Wire format (one message): a 4-byte big-endian length, then text fields each ended by NUL. The client opens with
``API\\0`` + a framed ``v157..178``; the server answers with its version and connection time (two fields), then
the client sends startApi and the server sends managedAccounts and nextValidId. Every message below is laid out
field by field as ``ib_async.decoder.Decoder`` reads it for :data:`SERVER_VERSION`.
"""

from __future__ import annotations

import math
import socket
import socketserver
import struct
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

#: The one server version this fake speaks (ib_async accepts 157..178). At 176 contract details carry no
#: version field, placeOrder still sends faProfile, and execDetails has no pendingPriceRevision.
SERVER_VERSION = 176

# Incoming (client → server) message ids.
_REQ_MKT_DATA, _PLACE_ORDER, _CANCEL_ORDER, _REQ_OPEN_ORDERS, _REQ_ACCOUNT_UPDATES = 1, 3, 4, 5, 6
_REQ_EXECUTIONS, _REQ_IDS, _REQ_CONTRACT_DETAILS, _REQ_ALL_OPEN_ORDERS, _REQ_CURRENT_TIME = 7, 8, 9, 16, 49
_REQ_POSITIONS, _REQ_ACCOUNT_SUMMARY, _CANCEL_ACCOUNT_SUMMARY, _CANCEL_POSITIONS = 61, 62, 63, 64
_START_API, _REQ_ACCOUNT_UPDATES_MULTI, _REQ_COMPLETED_ORDERS = 71, 76, 99

# Outgoing (server → client) message ids.
_ORDER_STATUS, _ERR_MSG, _OPEN_ORDER, _ACCT_VALUE, _PORTFOLIO_VALUE, _ACCT_UPDATE_TIME = 3, 4, 5, 6, 7, 8
_NEXT_VALID_ID, _CONTRACT_DATA, _EXECUTION_DATA, _MANAGED_ACCTS, _CURRENT_TIME = 9, 10, 11, 15, 49
_CONTRACT_DATA_END, _OPEN_ORDER_END, _ACCT_DOWNLOAD_END, _EXECUTION_DATA_END = 52, 53, 54, 55
_COMMISSION_REPORT, _POSITION_DATA, _POSITION_END, _ACCOUNT_SUMMARY, _ACCOUNT_SUMMARY_END = 59, 61, 62, 63, 64
_ACCOUNT_UPDATE_MULTI, _ACCOUNT_UPDATE_MULTI_END, _COMPLETED_ORDER, _COMPLETED_ORDERS_END = 73, 74, 101, 102
_TICK_PRICE, _TICK_SNAPSHOT_END = 1, 57
#: Tick types of a snapshot: bid, ask, last, close.
_BID, _ASK, _LAST, _CLOSE = 1, 2, 4, 9

CLIENT_ID_IN_USE_TEXT = "Unable to connect as the client id is already in use. Retry with a unique client id."


class Behaviour(StrEnum):
    """What the fake does with a new order for a symbol."""

    FILL = "FILL"  # fill everything at once
    PARTIAL = "PARTIAL"  # fill part (``partial_fraction``), the rest keeps working
    REJECT = "REJECT"  # error 201, then order status Inactive
    REST = "REST"  # acknowledge and keep working, no fill


@dataclass
class SymbolSpec:
    """A tradable stock of the fake: contract id, the price it fills at, and its scripted behaviour."""

    con_id: int
    price: float
    behaviour: Behaviour = Behaviour.FILL
    partial_fraction: float = 0.5
    primary_exchange: str = "NASDAQ"


@dataclass
class FakeOrder:
    """An order as the fake gateway holds it."""

    client_id: int
    order_id: int
    perm_id: int
    symbol: str
    action: str
    quantity: float
    order_type: str
    limit_price: float | None
    tif: str
    order_ref: str
    account: str
    status: str = "PreSubmitted"
    filled: float = 0.0
    avg_price: float = 0.0

    @property
    def working(self) -> bool:
        """Still able to fill, be modified or cancelled."""
        return self.status in {"PreSubmitted", "Submitted"}

    @property
    def manual(self) -> bool:
        """Entered by hand in TWS: IB reports it with client id 0 and order id 0."""
        return self.client_id == 0 and self.order_id == 0

    @property
    def remaining(self) -> float:
        """Shares left to fill."""
        return max(self.quantity - self.filled, 0.0) if self.working else 0.0


@dataclass(frozen=True)
class FakeExecution:
    """One fill the fake reported, with its commission."""

    exec_id: str
    order: FakeOrder
    shares: float
    price: float
    cum_qty: float
    avg_price: float
    time: datetime
    commission: float


@dataclass
class _Session:
    """One client connection."""

    sock: socket.socket
    client_id: int | None = None
    positions_sub: bool = False
    account_sub: bool = False
    summary_reqs: dict[int, list[str]] = field(default_factory=dict)
    send_lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, *fields: object) -> None:
        body = b"".join(_text(f).encode() + b"\0" for f in fields)
        with self.send_lock:
            self.sock.sendall(struct.pack(">I", len(body)) + body)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(int(value)) if value.is_integer() else repr(value)
    return str(value)


def fixed_commission(shares: float, price: float) -> float:
    """IBKR fixed pricing, US stocks: $0.005 a share, at least $1.00, at most 1 % of the trade value."""
    return round(min(max(0.005 * shares, 1.0), 0.01 * shares * price), 6)


class FakeIbGateway:
    """A threaded TCP server on 127.0.0.1 (a random free port) that answers ib_async like IB Gateway.

    Use as a context manager; ``port`` is known once started. ``requests`` holds every decoded request as
    ``(client_id, fields)`` so tests can check what went on the wire.
    """

    def __init__(
        self,
        symbols: Mapping[str, SymbolSpec],
        *,
        account: str = "DU1234567",
        cash: float = 1_000_000.0,
        positions: Mapping[str, tuple[float, float]] | None = None,
        next_order_id: int = 1,
        commission: Callable[[float, float], float] = fixed_commission,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.symbols = dict(symbols)
        self.account = account
        self.cash = float(cash)
        self.holdings: dict[str, list[float]] = {s: [q, a] for s, (q, a) in (positions or {}).items()}
        self.orders: dict[tuple[int, int], FakeOrder] = {}
        self.executions: list[FakeExecution] = []
        self.requests: list[tuple[int | None, list[str]]] = []
        self._next_order_id = next_order_id
        self._commission = commission
        self._clock = clock
        self._perm = 900_000
        self._exec = 0
        self._lock = threading.RLock()
        self._sessions: list[_Session] = []
        self._owner: dict[tuple[int, int], _Session] = {}
        self._server: socketserver.ThreadingTCPServer | None = None
        self._port = 0  # 0 until the first start; a restart listens on the same port again
        self.duplicate_id_next = False  # answer the next new order with error 103 (duplicate order id)
        self.refuse_modify_next: int | None = None  # answer the next modify with this error code (order unchanged)
        self._thread: threading.Thread | None = None
        #: More request handlers by incoming message id (extensions such as historical bars register here).
        self.extra_handlers: dict[int, Callable[[_Session, list[str]], None]] = {}

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> FakeIbGateway:
        """Bind to 127.0.0.1 (a free port the first time, the same port after :meth:`stop`) and serve."""
        gateway = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                gateway._serve(self.request)

        server = socketserver.ThreadingTCPServer(("127.0.0.1", self._port), Handler, bind_and_activate=False)
        server.daemon_threads = True
        server.allow_reuse_address = True
        server.server_bind()
        server.server_activate()
        self._server = server
        self._port = int(server.server_address[1])
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close every connection and the listening socket; orders, executions and the account are kept (a
        gateway restart: IB's servers keep them)."""
        self.drop_connections()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeIbGateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The TCP port the fake listens (or listened) on."""
        assert self._port, "start the gateway first"
        return self._port

    @property
    def client_ids(self) -> set[int]:
        """Client ids of the connected API clients."""
        with self._lock:
            return {s.client_id for s in self._sessions if s.client_id is not None}

    def drop_connections(self) -> None:
        """Close every client socket (the gateway itself keeps listening)."""
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for s in sessions:
            _close(s.sock)

    # ----------------------------------------------------------------- scripting from a test
    def set_behaviour(self, symbol: str, behaviour: Behaviour) -> None:
        """Change what happens to the next orders in ``symbol``."""
        with self._lock:
            self.symbols[symbol].behaviour = behaviour

    def order_by_ref(self, order_ref: str) -> FakeOrder:
        """The (latest) order the fake holds with this orderRef."""
        with self._lock:
            found = [o for o in self.orders.values() if o.order_ref == order_ref]
        if not found:
            raise KeyError(order_ref)
        return found[-1]

    def order_by_perm(self, perm_id: int) -> FakeOrder:
        """The order with this permId."""
        with self._lock:
            return next(o for o in self.orders.values() if o.perm_id == perm_id)

    def fill(
        self, order_ref: str, quantity: float | None = None, price: float | None = None, *, perm_id: int = 0
    ) -> None:
        """Fill a working order (all that remains by default; by permId when given) and report it to the client
        that placed it, if connected."""
        with self._lock:
            order = self.order_by_perm(perm_id) if perm_id else self.order_by_ref(order_ref)
            qty = order.remaining if quantity is None else quantity
            self._execute(
                self._session_of(order), order, qty, self.symbols[order.symbol].price if price is None else price
            )

    def place_foreign(
        self,
        symbol: str,
        action: str,
        quantity: float,
        *,
        order_type: str = "LMT",
        limit_price: float | None = None,
        tif: str = "DAY",
        order_ref: str = "",
        client_id: int = 0,
    ) -> FakeOrder:
        """An order we did not send, resting at IB: entered by hand in TWS (``client_id`` 0, order id 0) or placed
        by another API client (``client_id`` > 0, the next order id). Nothing is pushed to connected clients."""
        with self._lock:
            self._perm += 1
            order_id = 0
            if client_id:
                order_id = self._next_order_id
                self._next_order_id += 1
            order = FakeOrder(
                client_id, order_id, self._perm, symbol, action, float(quantity), order_type, limit_price, tif,
                order_ref, self.account, status="Submitted",
            )  # fmt: skip
            # Manual orders all have order id 0: the permId keeps them apart.
            key = (client_id, order_id) if order_id else (0, -self._perm)
            self.orders[key] = order
            owner = next((x for x in self._sessions if x.client_id == client_id and client_id), None)
            if owner is not None:
                self._owner[key] = owner
            return order

    def cancel_at_ib(self, order_ref: str = "", *, perm_id: int = 0) -> None:
        """IB (or the operator in TWS) cancels a working order; its client hears of it only if connected."""
        with self._lock:
            order = self.order_by_perm(perm_id) if perm_id else self.order_by_ref(order_ref)
            order.status = "Cancelled"
            session = self._session_of(order)
            if session is not None:
                self._send_status(session, order)

    def broadcast_error(self, code: int, text: str) -> None:
        """Send a system message (error callback, reqId -1) to every client, e.g. 1100 / 1101 / 1102."""
        with self._lock:
            for s in list(self._sessions):
                try:
                    s.send(_ERR_MSG, 2, -1, code, text, "")
                except OSError:
                    continue

    def _session_of(self, order: FakeOrder) -> _Session | None:
        session = self._owner.get((order.client_id, order.order_id))
        return session if session in self._sessions else None

    def expire(self, order_ref: str) -> None:
        """IB cancels a working order on its own (a DAY order at the close): status Cancelled, then error 202."""
        with self._lock:
            order = self.order_by_ref(order_ref)
            order.status = "Cancelled"
            session = self._owner[(order.client_id, order.order_id)]
            self._send_status(session, order)
            session.send(_ERR_MSG, 2, order.order_id, 202, "Order Canceled - reason:The order expired at the close", "")

    # ----------------------------------------------------------------- connection
    def _serve(self, sock: socket.socket) -> None:
        session = _Session(sock)
        with self._lock:
            self._sessions.append(session)
        try:
            if not self._handshake(session):
                return
            while True:
                fields = _read_message(sock)
                if fields is None:
                    return
                with self._lock:
                    self.requests.append((session.client_id, fields))
                    if not self._dispatch(session, fields):
                        return
        except OSError:
            return
        finally:
            with self._lock:
                if session in self._sessions:
                    self._sessions.remove(session)
            _close(sock)

    def _handshake(self, session: _Session) -> bool:
        prefix = _read_exact(session.sock, 4)
        if prefix != b"API\0":
            return False
        versions = _read_frame(session.sock)
        if versions is None or not versions.startswith(b"v"):
            return False
        session.send(SERVER_VERSION, self._clock().strftime("%Y%m%d %H:%M:%S UTC"))
        return True

    def _dispatch(self, session: _Session, f: list[str]) -> bool:
        msg_id = int(f[0])
        if msg_id == _START_API:
            return self._start_api(session, int(f[2]))
        handler = self.extra_handlers.get(msg_id) or self._handlers().get(msg_id)
        if handler is not None:
            handler(session, f)
        return True

    def _handlers(self) -> dict[int, Callable[[_Session, list[str]], None]]:
        return {
            _REQ_MKT_DATA: self._on_market_data,
            _PLACE_ORDER: self._on_place_order,
            _CANCEL_ORDER: self._on_cancel_order,
            _REQ_OPEN_ORDERS: self._on_open_orders,
            _REQ_ALL_OPEN_ORDERS: lambda s, f: self._on_open_orders(s, f, every_client=True),
            _REQ_ACCOUNT_UPDATES: self._on_account_updates,
            _REQ_EXECUTIONS: self._on_executions,
            _REQ_IDS: lambda s, f: s.send(_NEXT_VALID_ID, 1, self._next_order_id),
            _REQ_CONTRACT_DETAILS: self._on_contract_details,
            _REQ_CURRENT_TIME: lambda s, f: s.send(_CURRENT_TIME, 1, int(self._clock().timestamp())),
            _REQ_POSITIONS: self._on_positions,
            _CANCEL_POSITIONS: lambda s, f: setattr(s, "positions_sub", False),
            _REQ_ACCOUNT_SUMMARY: self._on_account_summary,
            _CANCEL_ACCOUNT_SUMMARY: lambda s, f: s.summary_reqs.pop(int(f[2]), None),
            _REQ_ACCOUNT_UPDATES_MULTI: self._on_account_updates_multi,
            _REQ_COMPLETED_ORDERS: self._on_completed_orders,
        }

    def _start_api(self, session: _Session, client_id: int) -> bool:
        if client_id in self.client_ids:
            # TWS answers a clash with error 326 and closes the socket.
            session.send(_ERR_MSG, 2, -1, 326, CLIENT_ID_IN_USE_TEXT, "")
            return False
        session.client_id = client_id
        # IB routes updates of an order to whichever connection now has the client id that placed it.
        for key in self._owner:
            if key[0] == client_id:
                self._owner[key] = session
        session.send(_MANAGED_ACCTS, 1, self.account)
        session.send(_NEXT_VALID_ID, 1, self._next_order_id)
        return True

    # ----------------------------------------------------------------- orders
    def _on_place_order(self, session: _Session, f: list[str]) -> None:
        order_id, symbol = int(f[1]), f[3]
        action, quantity, order_type = f[16], float(f[17]), f[18]
        limit = float(f[19]) if f[19] else None
        tif, order_ref = f[21], f[26]
        client_id = session.client_id or 0
        key = (client_id, order_id)
        self._next_order_id = max(self._next_order_id, order_id + 1)
        known = self.orders.get(key)
        if known is not None:
            self._modify(session, known, quantity, limit)
            return
        spec = self.symbols.get(symbol)
        if self.duplicate_id_next:
            self.duplicate_id_next = False
            session.send(_ERR_MSG, 2, order_id, 103, "Duplicate order id", "")
            return
        if spec is None:
            session.send(_ERR_MSG, 2, order_id, 200, "No security definition has been found for the request", "")
            return
        self._perm += 1
        order = FakeOrder(
            client_id, order_id, self._perm, symbol, action, quantity, order_type, limit, tif, order_ref, self.account
        )
        self.orders[key] = order
        self._owner[key] = session
        if spec.behaviour is Behaviour.REJECT:
            order.status = "Inactive"
            session.send(_ERR_MSG, 2, order_id, 201, "Order rejected - reason:scripted rejection by the fake", "")
            self._send_status(session, order)
            return
        order.status = "Submitted"
        self._send_open_order(session, order)
        self._send_status(session, order)
        if not self._marketable(order, spec.price):
            return
        if spec.behaviour is Behaviour.FILL:
            self._execute(session, order, order.quantity, spec.price)
        elif spec.behaviour is Behaviour.PARTIAL:
            part = math.floor(order.quantity * spec.partial_fraction)
            if part > 0:
                self._execute(session, order, part, spec.price)

    def _modify(self, session: _Session, order: FakeOrder, quantity: float, limit: float | None) -> None:
        if not order.working:
            session.send(_ERR_MSG, 2, order.order_id, 104, "Cannot modify a filled order.", "")
            return
        if self.refuse_modify_next is not None:
            code, self.refuse_modify_next = self.refuse_modify_next, None
            session.send(_ERR_MSG, 2, order.order_id, code, "Order modification refused by the fake", "")
            return
        order.quantity, order.limit_price = quantity, limit
        self._send_open_order(session, order)
        self._send_status(session, order)

    def _on_cancel_order(self, session: _Session, f: list[str]) -> None:
        order = self.orders.get((session.client_id or 0, int(f[2])))
        if order is None or not order.working:
            session.send(_ERR_MSG, 2, int(f[2]), 10148, "OrderId that needs to be cancelled cannot be cancelled", "")
            return
        order.status = "Cancelled"
        self._send_status(session, order)
        session.send(_ERR_MSG, 2, order.order_id, 202, "Order Canceled - reason:", "")

    @staticmethod
    def _marketable(order: FakeOrder, price: float) -> bool:
        if order.order_type != "LMT" or order.limit_price is None:
            return True
        return order.limit_price >= price if order.action == "BUY" else order.limit_price <= price

    def _execute(self, session: _Session | None, order: FakeOrder, shares: float, price: float) -> None:
        shares = min(shares, order.remaining)
        if shares <= 0:
            return
        order.avg_price = (order.avg_price * order.filled + price * shares) / (order.filled + shares)
        order.filled += shares
        if order.filled >= order.quantity:
            order.status = "Filled"
        self._exec += 1
        ex = FakeExecution(
            f"0000fake.{self._exec:08x}.01.01",
            order,
            shares,
            price,
            order.filled,
            order.avg_price,
            self._clock(),
            self._commission(shares, price),
        )
        self.executions.append(ex)
        self._book(order.symbol, shares if order.action == "BUY" else -shares, price, ex.commission)
        if session is not None and session in self._sessions:  # else reqExecutions reports it later
            try:
                self._send_execution(session, ex, -1)
                self._send_status(session, order)
                self._send_commission(session, ex)
            except OSError:
                pass
        self._push_account(order.symbol)

    def _book(self, symbol: str, signed: float, price: float, commission: float) -> None:
        qty, avg = self.holdings.get(symbol, [0.0, 0.0])
        new = qty + signed
        if new == 0:
            avg = 0.0
        elif qty == 0 or (qty > 0) == (signed > 0):
            avg = (avg * qty + price * signed) / new  # adding to the position
        elif (new > 0) != (qty > 0):
            avg = price  # flipped through zero
        self.holdings[symbol] = [new, avg]
        self.cash -= signed * price + commission

    # ----------------------------------------------------------------- requests
    def _on_open_orders(self, session: _Session, f: list[str], every_client: bool = False) -> None:
        for (client_id, _), order in self.orders.items():
            if (every_client or client_id == session.client_id) and order.working:
                self._send_open_order(session, order)
                self._send_status(session, order)
        session.send(_OPEN_ORDER_END, 1)

    def _on_completed_orders(self, session: _Session, f: list[str]) -> None:
        # reqCompletedOrders: msg id, apiOnly. Every order of the account that IB finished (filled, cancelled,
        # rejected), from any client; apiOnly leaves out those entered by hand in TWS.
        api_only = f[1] == "1"
        for order in list(self.orders.values()):
            if not order.working and not (api_only and order.manual):
                session.send(*completed_order_fields(order, self._contract11(order.symbol), self._clock()))
        session.send(_COMPLETED_ORDERS_END)

    def _on_executions(self, session: _Session, f: list[str]) -> None:
        req_id = int(f[2])
        for ex in self.executions:
            self._send_execution(session, ex, req_id)
            self._send_commission(session, ex)
        session.send(_EXECUTION_DATA_END, 1, req_id)

    def _on_contract_details(self, session: _Session, f: list[str]) -> None:
        req_id, symbol, sec_type, currency = int(f[2]), f[4], f[5], f[12]
        spec = self.symbols.get(symbol)
        if spec is None or sec_type not in {"", "STK"} or currency not in {"", "USD"}:
            session.send(_ERR_MSG, 2, req_id, 200, "No security definition has been found for the request", "")
            return
        session.send(*_contract_details(req_id, symbol, spec))
        session.send(_CONTRACT_DATA_END, 1, req_id)

    def _on_market_data(self, session: _Session, f: list[str]) -> None:
        # reqMktData: msg id, version, reqId, the 12 contract fields (symbol at 4), no delta-neutral contract,
        # genericTicks, snapshot. Only snapshots: bid / ask one cent around the price, last and close = price.
        req_id, symbol = int(f[2]), f[4]
        spec = self.symbols.get(symbol)
        if spec is None:
            session.send(_ERR_MSG, 2, req_id, 200, "No security definition has been found for the request", "")
            return
        p = spec.price
        for tick, price, size in ((_BID, p - 0.01, 100), (_ASK, p + 0.01, 100), (_LAST, p, 100), (_CLOSE, p, 0)):
            # tickPrice: msg id, version, reqId, tickType, price, size, attribute mask
            session.send(_TICK_PRICE, 6, req_id, tick, round(price, 2), size, 0)
        session.send(_TICK_SNAPSHOT_END, 1, req_id)

    def _on_positions(self, session: _Session, f: list[str]) -> None:
        session.positions_sub = True
        for symbol in self.holdings:
            self._send_position(session, symbol)
        session.send(_POSITION_END, 1)

    def _on_account_updates(self, session: _Session, f: list[str]) -> None:
        session.account_sub = f[2] == "1"
        if not session.account_sub:
            return
        for tag, value in self._account_values().items():
            session.send(_ACCT_VALUE, 2, tag, value, "USD", self.account)
        for symbol in self.holdings:
            self._send_portfolio(session, symbol)
        session.send(_ACCT_UPDATE_TIME, 1, self._clock().strftime("%H:%M"))
        session.send(_ACCT_DOWNLOAD_END, 1, self.account)

    def _on_account_updates_multi(self, session: _Session, f: list[str]) -> None:
        req_id = int(f[2])
        for tag, value in self._account_values().items():
            session.send(_ACCOUNT_UPDATE_MULTI, 1, req_id, self.account, "", tag, value, "USD")
        session.send(_ACCOUNT_UPDATE_MULTI_END, 1, req_id)

    def _on_account_summary(self, session: _Session, f: list[str]) -> None:
        req_id, tags = int(f[2]), f[4].split(",")
        session.summary_reqs[req_id] = tags
        self._send_summary(session, req_id, tags)
        session.send(_ACCOUNT_SUMMARY_END, 1, req_id)

    def _account_values(self) -> dict[str, float]:
        value = sum(q * self.symbols[s].price for s, (q, _) in self.holdings.items())
        net = self.cash + value
        return {
            "NetLiquidation": net,
            "TotalCashValue": self.cash,
            "AvailableFunds": net - 0.25 * abs(value),
            "BuyingPower": 4 * (net - 0.25 * abs(value)),
            "GrossPositionValue": sum(abs(q) * self.symbols[s].price for s, (q, _) in self.holdings.items()),
        }

    # ----------------------------------------------------------------- pushes after a fill
    def _push_account(self, symbol: str) -> None:
        for s in list(self._sessions):
            try:
                if s.positions_sub:
                    self._send_position(s, symbol)
                if s.account_sub:
                    for tag, value in self._account_values().items():
                        s.send(_ACCT_VALUE, 2, tag, value, "USD", self.account)
                    self._send_portfolio(s, symbol)
                for req_id, tags in s.summary_reqs.items():
                    self._send_summary(s, req_id, tags)
            except OSError:
                continue

    # ----------------------------------------------------------------- encoders
    def _contract11(self, symbol: str) -> list[object]:
        # conId, symbol, secType, lastTradeDate, strike, right, multiplier, exchange, currency, localSymbol,
        # tradingClass: the contract block of openOrder, execDetails and position.
        return [self.symbols[symbol].con_id, symbol, "STK", "", 0.0, "", "", "SMART", "USD", symbol, "NMS"]

    def _send_status(self, session: _Session, o: FakeOrder) -> None:
        # orderStatus has no version field: id, status, filled, remaining, avgFillPrice, permId, parentId,
        # lastFillPrice, clientId, whyHeld, mktCapPrice.
        session.send(
            _ORDER_STATUS, o.order_id, o.status, o.filled, o.remaining, o.avg_price, o.perm_id, 0,
            o.avg_price, o.client_id, "", 0.0,
        )  # fmt: skip

    def _send_open_order(self, session: _Session, o: FakeOrder) -> None:
        session.send(*_open_order_fields(o, self._contract11(o.symbol)))

    def _send_execution(self, session: _Session, ex: FakeExecution, req_id: int) -> None:
        o = ex.order
        session.send(
            _EXECUTION_DATA, req_id, o.order_id, *self._contract11(o.symbol), ex.exec_id,
            ex.time.strftime("%Y%m%d %H:%M:%S UTC"), o.account, "ISLAND", "BOT" if o.action == "BUY" else "SLD",
            ex.shares, ex.price, o.perm_id, o.client_id, 0, ex.cum_qty, ex.avg_price, o.order_ref, "", "", "", 1,
        )  # fmt: skip

    def _send_commission(self, session: _Session, ex: FakeExecution) -> None:
        session.send(_COMMISSION_REPORT, 1, ex.exec_id, ex.commission, "USD", "", "", "")

    def _send_position(self, session: _Session, symbol: str) -> None:
        qty, avg = self.holdings[symbol]
        session.send(_POSITION_DATA, 3, self.account, *self._contract11(symbol), qty, avg)

    def _send_portfolio(self, session: _Session, symbol: str) -> None:
        qty, avg = self.holdings[symbol]
        price = self.symbols[symbol].price
        c = self._contract11(symbol)
        # updatePortfolio carries primaryExchange where the others carry exchange.
        c[7] = self.symbols[symbol].primary_exchange
        session.send(_PORTFOLIO_VALUE, 8, *c, qty, price, qty * price, avg, qty * (price - avg), 0.0, self.account)

    def _send_summary(self, session: _Session, req_id: int, tags: Iterable[str]) -> None:
        values = self._account_values()
        for tag in tags:
            if tag in values:
                session.send(_ACCOUNT_SUMMARY, 1, req_id, self.account, tag, values[tag], "USD")


def _contract_details(req_id: int, symbol: str, spec: SymbolSpec) -> list[object]:
    # Server version >= 164: no version field and no mdSizeMultiplier.
    return [
        _CONTRACT_DATA, req_id, symbol, "STK", "", 0.0, "", "SMART", "USD", symbol, "NMS", "NMS", spec.con_id,
        0.01, "", "ACTIVETIM,LMT,MKT,MOC,MOO,OPG", "SMART,NASDAQ,NYSE,ISLAND", 1, 0, f"{symbol} FAKE INC",
        spec.primary_exchange, "", "Technology", "", "", "US/Eastern", "", "", "", "",
        0,  # secIdList: none
        1, "", "", "26", "", "COMMON", 1, 1, 100,  # aggGroup .. stockType, minSize, sizeIncrement, suggested
    ]  # fmt: skip


def _open_order_fields(o: FakeOrder, contract11: list[object]) -> list[object]:
    blank = [""]
    return [
        _OPEN_ORDER, o.order_id, *contract11,
        # action .. faPercentage (21 fields), then faProfile (server version < 177)
        o.action, o.quantity, o.order_type, o.limit_price, None, o.tif, "", o.account, "O", 0, o.order_ref,
        o.client_id, o.perm_id, 0, 0, 0.0, "", "", "", "", "",
        "",
        # modelCode .. deltaNeutralAuxPrice (29 fields); an empty deltaNeutralOrderType skips its block
        *blank * 14, 0, 0, 0, 0, "", 0, 0, 0, "", 0, 0, "", "", "", "",
        # continuousUpdate .. comboLegsDescrip (7), then no combo legs, order combo legs or routing params
        0, "", "", "", "", "", "", 0, 0, 0,
        # scaleInitLevelSize, scaleSubsLevelSize, scalePriceIncrement (empty: no scale block), hedgeType
        "", "", "", "",
        # optOutSmartRouting, clearingAccount, clearingIntent, notHeld, no delta-neutral contract, no algo
        0, "", "IB", 0, 0, "",
        # solicited, whatIf, status, 12 margin / commission figures, commissionCurrency, warningText,
        # randomizeSize, randomizePrice
        0, 0, o.status, *blank * 12, "USD", "", 0, 0,
        0,  # conditions: none
        # adjustedOrderType .. usePriceMgmtAlgo (16 fields)
        "None", "", "", "", "", "", "", 0, "", "", "", "", 0, 0, "", "",
        # duration (>= 159), postToAts (>= 160), autoCancelParent (>= 162)
        "", "", 0,
        # minTradeQty, minCompeteSize, competeAgainstBestOffset, midOffsetAtWhole, midOffsetAtHalf (>= 170)
        "", "", "", "", "",
    ]  # fmt: skip


def completed_order_fields(o: FakeOrder, contract11: list[object], now: datetime) -> list[object]:
    """The completedOrder message of ``o`` (server version 176), field by field."""
    # No version field and no order id / client id: IB identifies a completed order by permId.
    blank = [""]
    return [
        _COMPLETED_ORDER, *contract11,
        # action .. faPercentage (19 fields), then faProfile (server version < 177)
        o.action, o.quantity, o.order_type, o.limit_price, None, o.tif, "", o.account, "O", 0, o.order_ref,
        o.perm_id, 0, 0, 0.0, "", "", "", "",
        "",
        # modelCode .. deltaNeutralAuxPrice (23 fields); an empty deltaNeutralOrderType skips its block
        *blank * 13, 0, 0, 0, 0, "", 0, 0, 0, "", "",
        # continuousUpdate .. comboLegsDescrip (5), then no combo legs, order combo legs or routing params
        0, "", "", "", "", 0, 0, 0,
        # scaleInitLevelSize, scaleSubsLevelSize, scalePriceIncrement (empty: no scale block), hedgeType
        "", "", "", "",
        # clearingAccount, clearingIntent, notHeld, no delta-neutral contract, no algo
        "", "IB", 0, 0, "",
        # solicited, status, randomizeSize, randomizePrice
        0, o.status, 0, 0,
        0,  # conditions: none
        # trailStopPrice, lmtPriceOffset, cashQty, dontUseAutoPriceForHedge, isOmsContainer, autoCancelDate,
        # filledQuantity, refFuturesConId, autoCancelParent, shareholder, imbalanceOnly, routeMarketableToBbo,
        # parentPermId, completedTime, completedStatus
        "", "", "", 0, 0, "", o.filled, "", 0, "", 0, 0, "", now.strftime("%Y%m%d %H:%M:%S UTC"), o.status,
        # minTradeQty, minCompeteSize, competeAgainstBestOffset, midOffsetAtWhole, midOffsetAtHalf (>= 170)
        "", "", "", "", "",
    ]  # fmt: skip


def _read_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def _read_frame(sock: socket.socket) -> bytes | None:
    head = _read_exact(sock, 4)
    if head is None:
        return None
    return _read_exact(sock, struct.unpack(">I", head)[0])


def _read_message(sock: socket.socket) -> list[str] | None:
    body = _read_frame(sock)
    if body is None:
        return None
    return body.decode().split("\0")[:-1]


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def decode_fields(fields: list[Any]) -> list[str]:
    """The text fields a message is sent as (for checking the encoders against ib_async's decoder)."""
    return [_text(f) for f in fields]
