"""Reconciliation of the IB broker against the fake IB Gateway: the real ib_async client on a real socket.

Each test names the behaviour it protects: what IB reports after a (re)connect is booked once, through the state
machine, and nothing is sent twice; orders we did not send are reported and handled by the configured policy.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from ib_async.decoder import Decoder
from pydantic import ValidationError

from prometheus.core.errors import BrokerError
from prometheus.core.types import Mode
from prometheus.execution import Order, OrderEventType, OrderRef, OrderStatus, OrderType, Side
from prometheus.execution.brokers.ib import (
    ForeignAction,
    IbBroker,
    IbConfig,
    IbConnectionError,
    ReconcileReport,
)
from prometheus.execution.types import OrderEvent, Position
from tests.support.execution_kit import make_order
from tests.support.fake_ib_gateway import (
    SERVER_VERSION,
    Behaviour,
    FakeIbGateway,
    FakeOrder,
    SymbolSpec,
    completed_order_fields,
    decode_fields,
)

E = OrderEventType
WAIT = 3.0
CLIENT_ID = 7
#: The broker's clock: 10:00 in New York on SESSION, so SESSION is "today" for reconciliation.
NOW = datetime(2024, 3, 1, 15, 0, tzinfo=UTC)
PREVIOUS = date(2024, 2, 29)
NO_TRACE = "IB has no open order, completed order or execution with this orderRef or permId"


@pytest.fixture
def gateway() -> Iterator[FakeIbGateway]:
    symbols = {
        "AAA": SymbolSpec(1001, 50.0, Behaviour.FILL),
        "DDD": SymbolSpec(1004, 40.0, Behaviour.REST),
    }
    with FakeIbGateway(symbols, account="DU1234567", positions={"DDD": (30.0, 38.0)}) as gw:
        yield gw


@pytest.fixture
def connect(gateway: FakeIbGateway) -> Iterator[Callable[..., IbBroker]]:
    opened: list[IbBroker] = []

    def make(
        *,
        known: Iterable[Order] = (),
        known_refs: Callable[[Iterable[OrderRef]], set[OrderRef]] | None = None,
        **overrides: object,
    ) -> IbBroker:
        values: dict[str, object] = {"mode": Mode.PAPER, "port": gateway.port, "client_id": CLIENT_ID}
        records = list(known)
        broker = IbBroker(
            IbConfig.model_validate(values | overrides),
            clock=lambda: NOW,
            order_source=lambda: records,
            known_refs=known_refs,
        )
        opened.append(broker)
        broker.connect()
        return broker

    yield make
    for b in opened:
        b.disconnect()


def _report(broker: IbBroker) -> ReconcileReport:
    assert broker.last_reconcile is not None
    return broker.last_reconcile


def _requests(gateway: FakeIbGateway, msg_id: str) -> list[list[str]]:
    return [f for _, f in gateway.requests if f[0] == msg_id]


def _accepted(broker: IbBroker, order: Order) -> None:
    assert broker.wait_until(lambda: E.ACCEPT in [e.kind for e in order.events], WAIT)


def _gone(broker: IbBroker, gateway: FakeIbGateway) -> None:
    """The socket drops (the process dies, or the network fails) and the gateway notices."""
    gateway.drop_connections()
    assert broker.wait_until(lambda: not broker.connected, WAIT)


def _record(order: Order) -> Order:
    """What an earlier process left in the ExecutionStore: a copy rebuilt from the order's events."""
    copy = make_order(
        order.instrument, order.side, order.quantity, ref=order.ref.value, order_type=order.order_type,
        limit_price=order.limit_price, session=order.session,
    )  # fmt: skip
    for ev in order.events:
        copy.apply(ev)
    return copy


def _disconnected(gateway: FakeIbGateway) -> None:
    deadline = time.monotonic() + WAIT
    while gateway.client_ids and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not gateway.client_ids


# ----------------------------------------------------------------- the fake's completed orders
def test_fake_completed_order_when_decoded_by_ib_async_lands_field_for_field() -> None:
    """The fake's completedOrder message has the layout ib_async decodes at server version 176: a shifted field
    would be decoded silently wrong (the decoder logs and drops what it cannot parse)."""
    decoded: list[tuple[Any, Any, Any]] = []

    class Wrapper:
        def completedOrder(self, contract: Any, order: Any, state: Any) -> None:  # noqa: N802 (ib_async's name)
            decoded.append((contract, order, state))

    order = FakeOrder(0, 0, 900_123, "DDD", "SELL", 7.0, "LMT", 41.5, "DAY", "ref-x", "DU1234567", "Cancelled", 3.0)
    fields = completed_order_fields(order, [1004, "DDD", "STK", "", 0.0, "", "", "SMART", "USD", "DDD", "NMS"], NOW)
    Decoder(Wrapper(), SERVER_VERSION).interpret(decode_fields(fields))  # type: ignore[arg-type]
    [(contract, ib_order, state)] = decoded
    assert (contract.conId, contract.symbol, contract.currency) == (1004, "DDD", "USD")
    assert (ib_order.action, ib_order.totalQuantity, ib_order.orderType, ib_order.lmtPrice) == ("SELL", 7, "LMT", 41.5)
    assert (ib_order.tif, ib_order.orderRef, ib_order.permId, ib_order.filledQuantity) == ("DAY", "ref-x", 900_123, 3)
    assert (state.status, state.completedStatus) == ("Cancelled", "Cancelled")
    assert state.completedTime == "20240301 15:00:00 UTC"


# ----------------------------------------------------------------- nothing to do
def test_connect_when_nothing_happened_reports_nothing_changed_with_ib_positions(
    connect: Callable[..., IbBroker],
) -> None:
    """A clean connect reconciles, changes nothing, and carries IB's positions."""
    broker = connect()
    report = _report(broker)
    assert report.lines() == ["nothing changed"]
    assert not report.changed
    assert (report.events, report.missed_fills, report.foreign, report.unknown_refs) == ((), (), (), ())
    assert report.positions == {"DDD": Position("DDD", 30.0, 30.0 * 38.0)}
    assert broker.reconcile().lines() == ["nothing changed"]


def test_connect_when_ib_does_not_answer_reconciliation_refuses_to_stay_connected(
    connect: Callable[..., IbBroker], gateway: FakeIbGateway
) -> None:
    """Without a reconciliation nothing may be sent: connect fails and closes the connection."""
    gateway.extra_handlers[99] = lambda session, fields: None  # reqCompletedOrders never answered
    with pytest.raises(IbConnectionError, match="reconciliation failed.*reqCompletedOrders"):
        connect(connect_timeout_s=0.3, request_timeout_s=0.3)
    _disconnected(gateway)


def test_connect_when_the_order_source_fails_does_not_stay_connected(gateway: FakeIbGateway) -> None:
    """Our records could not be read, so IB cannot be reconciled: the connection is closed, the error kept."""

    def broken() -> list[Order]:
        raise OSError("runtime store unreachable")

    broker = IbBroker(IbConfig(mode=Mode.PAPER, port=gateway.port, client_id=CLIENT_ID), order_source=broken)
    with pytest.raises(OSError, match="runtime store unreachable"):
        broker.connect()
    assert not broker.connected
    _disconnected(gateway)


# ----------------------------------------------------------------- fills while away
def test_reconnect_when_partially_filled_while_away_books_the_fill_once(
    connect: Callable[..., IbBroker], gateway: FakeIbGateway
) -> None:
    """A fill IB made while the socket was down is booked at reconnect, once, however often we reconcile."""
    broker = connect()
    order = broker.submit(make_order("DDD", Side.BUY, 10, ref="r-away"))
    _accepted(broker, order)
    _gone(broker, gateway)
    gateway.fill("r-away", quantity=4)  # nobody listens
    broker.reconnect(attempts=3, backoff_s=0.05)
    report = _report(broker)
    assert report.adopted == (order.ref,)  # re-linked to IB's open order
    assert [(f.ref, f.quantity, f.price, f.commission) for f in report.missed_fills] == [
        (order.ref, 4, 40.0, pytest.approx(1.0))
    ]
    assert (order.status, order.filled_quantity) == (OrderStatus.PARTIALLY_FILLED, 4)
    assert report.orders == (order,)
    assert report.positions["DDD"].quantity == 34
    assert any("missed fills booked (1)" in line for line in report.lines())

    again = broker.reconcile()
    assert again.missed_fills == ()
    assert again.lines() == ["nothing changed"]
    gateway.fill("r-away")  # the rest, live: the re-linked order hears of it
    assert broker.wait_for_orders([order.ref], WAIT)
    assert [f.quantity for f in broker.fills()] == [4, 6]
    assert broker.reconcile().missed_fills == ()


# ----------------------------------------------------------------- a restart
@pytest.mark.parametrize("recorded", ["SUBMITTED", "NEW"])
def test_restart_when_order_filled_while_process_down_books_completion_and_sends_nothing_again(
    connect: Callable[..., IbBroker], gateway: FakeIbGateway, recorded: str
) -> None:
    """An order that filled and completed while no process ran is booked FILLED from our record at the next
    start (also when the record never got its SUBMIT), and submitting its ref again sends nothing."""
    first = connect()
    order = first.submit(make_order("DDD", Side.BUY, 10, ref="r-down"))
    _accepted(first, order)
    record = _record(order) if recorded == "SUBMITTED" else make_order("DDD", Side.BUY, 10, ref="r-down")
    first.disconnect()  # the process ends
    _disconnected(gateway)
    gateway.fill("r-down")

    restarted = connect(known=[record])
    report = _report(restarted)
    assert report.completed == (record.ref,)
    assert (record.status, record.filled_quantity) == (OrderStatus.FILLED, 10)
    expected = [E.SUBMIT, E.ACCEPT, E.FILL] if recorded == "SUBMITTED" else [E.SUBMIT, E.FILL]
    assert [e.kind for e in record.events] == expected
    assert [(f.quantity, f.price) for f in report.missed_fills] == [(10, 40.0)]
    assert report.orders == (record,)
    assert restarted.submit(make_order("DDD", Side.BUY, 10, ref="r-down")) is record
    assert len(_requests(gateway, "3")) == 1  # one placeOrder, ever
    assert restarted.reconcile().missed_fills == ()


def test_restart_when_filled_before_the_crash_books_only_the_fills_the_record_lacks(
    connect: Callable[..., IbBroker], gateway: FakeIbGateway
) -> None:
    """IB's cumulative quantity tells which executions the record holds: those are not booked again."""
    first = connect()
    order = first.submit(make_order("DDD", Side.BUY, 10, ref="r-half"))
    _accepted(first, order)
    gateway.fill("r-half", quantity=3)
    assert first.wait_until(lambda: len(first.fills()) == 1, WAIT)
    record = _record(order)  # holds the first fill
    first.disconnect()
    _disconnected(gateway)
    gateway.fill("r-half")  # 7 more while down

    restarted = connect(known=[record])
    report = _report(restarted)
    assert [f.quantity for f in report.missed_fills] == [7]
    assert (record.status, record.filled_quantity) == (OrderStatus.FILLED, 10)
    assert report.completed == (record.ref,)


def test_restart_when_record_is_working_at_ib_relinks_it_so_later_fills_arrive_live(
    connect: Callable[..., IbBroker], gateway: FakeIbGateway
) -> None:
    """A record of an earlier process whose order still works at IB is re-linked, not sent again."""
    first = connect()
    order = first.submit(make_order("DDD", Side.BUY, 10, ref="r-live"))
    _accepted(first, order)
    record = _record(order)
    first.disconnect()
    _disconnected(gateway)

    restarted = connect(known=[record])
    assert _report(restarted).adopted == (record.ref,)
    assert restarted.open_orders() == [record]
    assert restarted.submit(make_order("DDD", Side.BUY, 10, ref="r-live")) is record
    gateway.fill("r-live")
    assert restarted.wait_for_orders([record.ref], WAIT)
    assert record.status is OrderStatus.FILLED
    assert len(_requests(gateway, "3")) == 1


def test_restart_when_record_awaits_an_answer_ib_gave_settles_it_from_ib(
    connect: Callable[..., IbBroker], gateway: FakeIbGateway
) -> None:
    """A modify IB applied, and a cancel that never reached IB, both unanswered in our records when the process
    died: IB's open order tells which, so neither order stays pending forever."""
    first = connect()
    moved = first.submit(make_order("DDD", quantity=10, ref="r-mod", order_type=OrderType.LIMIT, limit_price=39.0))
    kept = first.submit(make_order("DDD", quantity=10, ref="r-cxl", order_type=OrderType.LIMIT, limit_price=38.0))
    _accepted(first, moved)
    _accepted(first, kept)
    moved_record, kept_record = _record(moved), _record(kept)
    moved_record.apply(_event(moved_record, E.MODIFY_REQUEST))
    kept_record.apply(_event(kept_record, E.CANCEL_REQUEST))  # written, then the process died before sending
    first.modify(moved.ref, quantity=20, limit_price=39.5)
    assert first.wait_until(lambda: gateway.order_by_ref("r-mod").quantity == 20, WAIT)
    first.disconnect()
    _disconnected(gateway)

    restarted = connect(known=[moved_record, kept_record])
    assert (moved_record.status, moved_record.quantity, moved_record.limit_price) == (OrderStatus.SUBMITTED, 20, 39.5)
    assert moved_record.events[-1].kind is E.MODIFIED
    assert (kept_record.status, kept_record.events[-1].kind) == (OrderStatus.SUBMITTED, E.CANCEL_REJECT)
    lines = _report(restarted).lines()
    assert "r-mod MODIFIED: IB lists the order modified" in lines
    assert any(line.startswith("r-cxl CANCEL_REJECT") for line in lines)
    restarted.cancel(kept_record.ref)
    assert restarted.wait_for_orders([kept_record.ref], WAIT)
    assert gateway.order_by_ref("r-cxl").status == "Cancelled"


def test_restart_when_ib_reports_filled_without_executions_reports_a_problem_and_invents_no_fill(
    connect: Callable[..., IbBroker], gateway: FakeIbGateway
) -> None:
    """IB reports executions of the current day only: a Filled order whose executions are gone cannot be booked
    (no price), so it stays working and the report says why; nothing is sent again for it."""
    first = connect()
    order = first.submit(make_order("DDD", Side.BUY, 10, ref="r-old-fill"))
    _accepted(first, order)
    record = _record(order)
    first.disconnect()
    _disconnected(gateway)
    gateway.fill("r-old-fill")
    gateway.executions.clear()  # a new day at IB

    restarted = connect(known=[record])
    report = _report(restarted)
    assert report.missed_fills == ()
    assert record.status is OrderStatus.SUBMITTED
    [problem] = report.problems
    assert "r-old-fill Filled" in problem
    assert "current day" in problem
    assert report.lines() == [f"problem: {problem}"]
    assert restarted.submit(make_order("DDD", Side.BUY, 10, ref="r-old-fill")) is record
    assert len(_requests(gateway, "3")) == 1


# ----------------------------------------------------------------- records IB knows nothing about
def test_reconcile_when_working_record_has_no_trace_at_ib_closes_it_with_the_reason(
    connect: Callable[..., IbBroker], gateway: FakeIbGateway
) -> None:
    """A record we hold as working that IB never heard of is closed: CANCELLED today, expired for a past
    session; a NEW record of today never reached IB and stays sendable."""
    today = _submitted(make_order("DDD", quantity=5, ref="r-lost-today"))
    yesterday = _submitted(make_order("DDD", quantity=5, ref="r-lost-old", session=PREVIOUS))
    unsent = make_order("AAA", quantity=5, ref="r-never-sent")
    broker = connect(known=[today, yesterday, unsent])
    report = _report(broker)
    assert report.unknown_refs == (today.ref, yesterday.ref)
    assert (today.status, today.events[-1].kind, today.events[-1].reason) == (
        OrderStatus.CANCELLED, E.CANCELLED, NO_TRACE,
    )  # fmt: skip
    assert (yesterday.status, yesterday.events[-1].kind) == (OrderStatus.CANCELLED, E.EXPIRE)
    assert "session 2024-02-29 has ended" in yesterday.events[-1].reason
    assert report.unsent == (unsent.ref,)
    assert unsent.status is OrderStatus.NEW
    assert set(report.orders) == {today, yesterday}
    assert any("unknown to IB" in line for line in report.lines())
    sent = broker.submit(unsent)  # free to send: IB never had it
    assert broker.wait_for_orders([sent.ref], WAIT)
    assert [f[26] for f in _requests(gateway, "3")] == ["r-never-sent"]


def _submitted(order: Order) -> Order:
    order.apply(_event(order, E.SUBMIT))
    order.apply(_event(order, E.ACCEPT))
    return order


def _event(order: Order, kind: OrderEventType) -> OrderEvent:
    return OrderEvent(order.ref, kind, NOW)


# ----------------------------------------------------------------- permId
def test_reconnect_when_ib_lost_the_order_ref_matches_the_order_by_perm_id(
    connect: Callable[..., IbBroker], gateway: FakeIbGateway
) -> None:
    """An order IB reports without its orderRef is still ours by permId: re-linked, its fill booked, not foreign."""
    broker = connect()
    order = broker.submit(make_order("DDD", Side.BUY, 10, ref="r-perm"))
    _accepted(broker, order)
    at_ib = gateway.order_by_ref("r-perm")
    _gone(broker, gateway)
    at_ib.order_ref = ""  # IB reports the order, and its executions, without the orderRef
    gateway.fill("", quantity=3, perm_id=at_ib.perm_id)
    broker.reconnect(attempts=3, backoff_s=0.05)
    report = _report(broker)
    assert report.foreign == ()
    assert report.adopted == (order.ref,)
    assert [(f.ref, f.quantity) for f in report.missed_fills] == [(order.ref, 3)]
    broker.cancel(order.ref)  # the re-link reaches IB's order
    assert broker.wait_for_orders([order.ref], WAIT)
    assert (order.status, at_ib.status) == (OrderStatus.CANCELLED, "Cancelled")


# ----------------------------------------------------------------- orders we did not send
def test_reconcile_when_foreign_orders_and_policy_alert_reports_them_and_touches_nothing(
    connect: Callable[..., IbBroker], gateway: FakeIbGateway, caplog: pytest.LogCaptureFixture
) -> None:
    """Under "alert" every foreign order (manual TWS, another client id, one IB completed) is logged and listed,
    and nothing is sent to IB about it."""
    manual = gateway.place_foreign("DDD", "BUY", 5, limit_price=39.0)
    other = gateway.place_foreign("AAA", "SELL", 3, limit_price=55.0, client_id=9, order_ref="their-ref")
    done = gateway.place_foreign("DDD", "SELL", 2, limit_price=40.0)
    gateway.fill("", perm_id=done.perm_id, price=40.0)  # filled by hand in TWS earlier today
    with caplog.at_level(logging.WARNING):
        broker = connect()
    report = _report(broker)
    found = {f.perm_id: f for f in report.foreign}
    assert set(found) == {manual.perm_id, other.perm_id, done.perm_id}
    assert report.foreign_action == dict.fromkeys(found, ForeignAction.ALERTED)
    by_hand, theirs, completed = found[manual.perm_id], found[other.perm_id], found[done.perm_id]
    assert (by_hand.client_id, by_hand.order_id, by_hand.order_ref, by_hand.working) == (0, 0, "", True)
    assert (by_hand.instrument, by_hand.action, by_hand.quantity, by_hand.limit_price) == ("DDD", "BUY", 5, 39.0)
    assert (theirs.client_id, theirs.order_ref, theirs.ib_status) == (9, "their-ref", "Submitted")
    # decoded from IB's completedOrder message
    assert (completed.working, completed.ib_status, completed.filled, completed.limit_price) == (
        False, "Filled", 2, 40.0,
    )  # fmt: skip
    assert sum("foreign order permId" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING) == 3
    assert sum(line.startswith("foreign order") for line in report.lines()) == 3
    assert _requests(gateway, "4") == []
    assert _requests(gateway, "3") == []
    assert (manual.status, other.status) == ("Submitted", "Submitted")
    assert broker.open_orders() == []
    again = broker.reconcile()  # still open: still reported; the completed one was reported already
    assert {f.perm_id for f in again.foreign} == {manual.perm_id, other.perm_id}


def test_reconcile_when_foreign_orders_and_policy_adopt_takes_open_ones_over(
    connect: Callable[..., IbBroker], gateway: FakeIbGateway
) -> None:
    """Under "adopt" an open foreign order becomes ours (its orderRef, or a ref from its permId), booked from IB's
    state with its fills so far; an order type we do not trade is only alerted."""
    other = gateway.place_foreign("DDD", "BUY", 6, limit_price=39.0, client_id=9, order_ref="their-ref")
    gateway.fill("", quantity=2, price=39.0, perm_id=other.perm_id)
    manual = gateway.place_foreign("AAA", "SELL", 3, limit_price=55.0)
    stop = gateway.place_foreign("AAA", "SELL", 1, order_type="STP")
    broker = connect(foreign_orders="adopt")
    report = _report(broker)
    assert report.foreign_action == {
        other.perm_id: ForeignAction.ADOPTED,
        manual.perm_id: ForeignAction.ADOPTED,
        stop.perm_id: ForeignAction.ALERTED,
    }
    synthetic = OrderRef(f"ib-perm-{manual.perm_id}")
    theirs, by_hand = broker.order(OrderRef("their-ref")), broker.order(synthetic)
    assert theirs is not None
    assert by_hand is not None
    assert (theirs.instrument, theirs.side, theirs.quantity, theirs.limit_price) == ("DDD", Side.BUY, 6, 39.0)
    assert [e.kind for e in theirs.events] == [E.SUBMIT, E.ACCEPT, E.PARTIAL_FILL]
    assert (theirs.status, theirs.filled_quantity) == (OrderStatus.PARTIALLY_FILLED, 2)
    assert (by_hand.side, by_hand.quantity, by_hand.status) == (Side.SELL, 3, OrderStatus.SUBMITTED)
    assert [(f.ref, f.quantity) for f in report.missed_fills] == [(theirs.ref, 2)]
    assert set(report.orders) == {theirs, by_hand}
    assert "STP" in next(f.note for f in report.foreign if f.perm_id == stop.perm_id)
    with pytest.raises(BrokerError, match="placed by client id 9"):
        broker.cancel(theirs.ref)  # its order id is client 9's: sending it would hit our own order id

    # IB pushes another client's fills only to that client: the next reconcile books them.
    gateway.fill("", quantity=4, price=39.0, perm_id=other.perm_id)
    later = broker.reconcile()
    assert {f.perm_id for f in later.foreign} == {stop.perm_id}
    assert [f.quantity for f in later.missed_fills] == [4]
    assert later.completed == (theirs.ref,)
    assert theirs.status is OrderStatus.FILLED


def test_reconcile_when_foreign_orders_and_policy_cancel_cancels_what_this_client_may(
    connect: Callable[..., IbBroker], gateway: FakeIbGateway
) -> None:
    """Under "cancel" a foreign order under our client id (an earlier tool without our refs) is cancelled at IB;
    a manual TWS order or another client's cannot be cancelled from here and is reported so, untouched."""
    stray = gateway.place_foreign("DDD", "BUY", 5, limit_price=39.0, client_id=CLIENT_ID, order_ref="old-tool")
    manual = gateway.place_foreign("DDD", "SELL", 5, limit_price=45.0)
    other = gateway.place_foreign("AAA", "SELL", 3, limit_price=55.0, client_id=9)
    broker = connect(foreign_orders="cancel")
    report = _report(broker)
    assert report.foreign_action == {
        stray.perm_id: ForeignAction.CANCEL_SENT,
        manual.perm_id: ForeignAction.NOT_CANCELLABLE,
        other.perm_id: ForeignAction.NOT_CANCELLABLE,
    }
    assert broker.wait_until(lambda: stray.status == "Cancelled", WAIT)
    assert [f[2] for f in _requests(gateway, "4")] == [str(stray.order_id)]
    assert (manual.status, other.status) == ("Submitted", "Submitted")
    assert broker.open_orders() == []
    assert "cancel it there" in next(f.note for f in report.foreign if f.perm_id == manual.perm_id)


def test_config_when_foreign_policy_unknown_is_refused() -> None:
    """Only alert, adopt and cancel are policies; a typo must not silently mean "alert"."""
    assert IbConfig().foreign_orders == "alert"
    with pytest.raises(ValidationError, match="foreign_orders"):
        IbConfig(foreign_orders="ignore")  # type: ignore[arg-type]


# ----------------------------------------------------------------- our finished orders of earlier processes
@pytest.mark.parametrize("with_records", [True, False])
def test_restart_when_ib_lists_our_finished_order_known_refs_keep_it_from_being_foreign(
    connect: Callable[..., IbBroker], gateway: FakeIbGateway, with_records: bool
) -> None:
    """A completed order an earlier process sent (finished in our records, so not among the working records) is
    ours when ``known_refs`` says so; without it, it can only be reported, never adopted or booked again."""
    first = connect()
    order = first.submit(make_order("AAA", Side.BUY, 10, ref="r-earlier"))
    assert first.wait_for_orders([order.ref], WAIT)
    first.disconnect()
    _disconnected(gateway)

    def ours(refs: Iterable[OrderRef]) -> set[OrderRef]:
        return {r for r in refs if r.value == "r-earlier"}

    restarted = connect(known_refs=ours if with_records else None, foreign_orders="adopt")
    report = _report(restarted)
    assert report.missed_fills == ()
    if with_records:
        assert report.lines() == ["nothing changed"]
    else:
        [seen] = report.foreign
        assert (seen.order_ref, seen.working, seen.handled) == ("r-earlier", False, ForeignAction.ALERTED)
    assert restarted.order(order.ref) is None
    with pytest.raises(BrokerError, match=r"already at IB \(Filled\)"):
        restarted.submit(make_order("AAA", Side.BUY, 10, ref="r-earlier"))
