"""IbBroker against the fake IB Gateway: the real ib_async client on a real socket, no mocks."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from prometheus.core.errors import BrokerError
from prometheus.core.types import Mode
from prometheus.execution import Broker, OrderEventType, OrderRef, OrderStatus, OrderType, Side
from prometheus.execution.brokers.ib import (
    IbAccountRefused,
    IbBroker,
    IbClientIdInUse,
    IbConfig,
    IbConnectionError,
)
from prometheus.execution.kill_switch import KillSwitch
from prometheus.execution.types import TradingState
from prometheus.runtime import RuntimeStore
from tests.support.execution_kit import make_order
from tests.support.fake_ib_gateway import Behaviour, FakeIbGateway, SymbolSpec
from tests.support.fixtures import sqlite_url  # noqa: F401  (fixture)

E = OrderEventType
PAPER_ACCOUNT = "DU1234567"
LIVE_ACCOUNT = "U7654321"
WAIT = 3.0


def _symbols() -> dict[str, SymbolSpec]:
    return {
        "AAA": SymbolSpec(1001, 50.0, Behaviour.FILL),
        "BBB": SymbolSpec(1002, 20.0, Behaviour.PARTIAL),
        "CCC": SymbolSpec(1003, 10.0, Behaviour.REJECT),
        "DDD": SymbolSpec(1004, 40.0, Behaviour.REST),
    }


@pytest.fixture
def gateway() -> Iterator[FakeIbGateway]:
    with FakeIbGateway(_symbols(), account=PAPER_ACCOUNT, cash=100_000.0, positions={"DDD": (30.0, 38.0)}) as gw:
        yield gw


@pytest.fixture
def connect(gateway: FakeIbGateway) -> Iterator[Callable[..., IbBroker]]:
    opened: list[IbBroker] = []

    def make(mode: Mode = Mode.PAPER, **overrides: object) -> IbBroker:
        values: dict[str, object] = {"mode": mode, "port": gateway.port, "client_id": 7, "connect_timeout_s": 2.0}
        broker = IbBroker(IbConfig.model_validate(values | overrides))
        opened.append(broker)
        broker.connect()
        return broker

    yield make
    for b in opened:
        b.disconnect()


@pytest.fixture
def broker(connect: Callable[..., IbBroker]) -> IbBroker:
    return connect()


def _placed(gateway: FakeIbGateway) -> list[list[str]]:
    return [f for _, f in gateway.requests if f[0] == "3"]


def _kinds(broker: IbBroker, ref: OrderRef) -> list[OrderEventType]:
    return [e.kind for e in broker.order_events() if e.ref == ref]


def _wait_terminal(broker: IbBroker, ref: OrderRef) -> None:
    assert broker.wait_for_orders([ref], WAIT), _kinds(broker, ref)


# ----------------------------------------------------------------- connection and the account guard
def test_connect_when_paper_login_is_paper_account_passes_guard(broker: IbBroker, gateway: FakeIbGateway) -> None:
    assert broker.connected
    assert isinstance(broker, Broker)
    assert broker.account == PAPER_ACCOUNT
    assert gateway.client_ids == {7}


def test_connect_when_paper_login_is_live_account_refuses_with_masked_id(
    gateway: FakeIbGateway, connect: Callable[..., IbBroker]
) -> None:
    gateway.account = LIVE_ACCOUNT
    with pytest.raises(IbAccountRefused, match=r"PAPER refuses account \*\*\*\*321") as info:
        connect()
    assert LIVE_ACCOUNT not in str(info.value)
    _assert_disconnected(gateway)


def test_connect_when_live_without_confirm_refuses(gateway: FakeIbGateway, connect: Callable[..., IbBroker]) -> None:
    gateway.account = LIVE_ACCOUNT
    with pytest.raises(IbAccountRefused, match="PROMETHEUS_LIVE_CONFIRM"):
        connect(Mode.LIVE)
    _assert_disconnected(gateway)


def test_connect_when_live_confirm_differs_refuses(gateway: FakeIbGateway, connect: Callable[..., IbBroker]) -> None:
    gateway.account = LIVE_ACCOUNT
    with pytest.raises(IbAccountRefused, match="PROMETHEUS_LIVE_CONFIRM"):
        connect(Mode.LIVE, live_confirm="U0000000")


def test_connect_when_live_confirmed_on_live_account_passes(
    gateway: FakeIbGateway, connect: Callable[..., IbBroker]
) -> None:
    gateway.account = LIVE_ACCOUNT
    broker = connect(Mode.LIVE, live_confirm=LIVE_ACCOUNT)
    assert broker.account == LIVE_ACCOUNT
    assert broker.connected


def test_connect_when_live_on_paper_account_refuses_even_if_confirmed(connect: Callable[..., IbBroker]) -> None:
    with pytest.raises(IbAccountRefused, match=r"LIVE refuses account \*\*\*\*567: it is a paper account"):
        connect(Mode.LIVE, live_confirm=PAPER_ACCOUNT)


def test_connect_when_configured_account_not_managed_refuses(connect: Callable[..., IbBroker]) -> None:
    with pytest.raises(IbAccountRefused, match="PROMETHEUS_IB_ACCOUNT"):
        connect(account="DU9999999")


def test_connect_when_client_id_in_use_raises_326_at_once(broker: IbBroker, connect: Callable[..., IbBroker]) -> None:
    start = time.monotonic()
    with pytest.raises(IbClientIdInUse, match=r"326.*client id 7.*PROMETHEUS_IB_CLIENT_ID"):
        connect()
    assert time.monotonic() - start < 1.5
    assert broker.connected  # the first client keeps its connection


def test_connect_when_nothing_listens_raises_connection_error(gateway: FakeIbGateway) -> None:
    port = gateway.port
    gateway.stop()
    broker = IbBroker(IbConfig(mode=Mode.PAPER, port=port, connect_timeout_s=1.0))
    with pytest.raises(IbConnectionError, match=f"127.0.0.1:{port}"):
        broker.connect()


def test_submit_when_not_connected_raises(gateway: FakeIbGateway) -> None:
    broker = IbBroker(IbConfig(mode=Mode.PAPER, port=gateway.port))
    with pytest.raises(Exception, match="not connected"):
        broker.submit(make_order("AAA"))


def _assert_disconnected(gateway: FakeIbGateway) -> None:
    deadline = time.monotonic() + WAIT
    while gateway.client_ids and time.monotonic() < deadline:
        time.sleep(0.01)
    assert gateway.client_ids == set()


# ----------------------------------------------------------------- orders
def test_submit_moo_when_filled_records_events_and_fill_with_commission(
    broker: IbBroker, gateway: FakeIbGateway
) -> None:
    order = broker.submit(make_order("AAA", Side.BUY, 100, ref="r-moo"))
    _wait_terminal(broker, order.ref)
    assert order.status is OrderStatus.FILLED
    assert _kinds(broker, order.ref) == [E.SUBMIT, E.ACCEPT, E.FILL]
    [fill] = broker.fills()
    assert (fill.ref, fill.instrument, fill.side, fill.quantity, fill.price) == (order.ref, "AAA", Side.BUY, 100, 50.0)
    assert fill.commission == pytest.approx(1.0)  # 100 x $0.005 is below the $1 minimum
    assert fill.session == order.session
    assert fill.ts.tzinfo is not None
    [wire] = _placed(gateway)
    assert (wire[18], wire[21], wire[26]) == ("MKT", "OPG", "r-moo")  # orderType, tif, orderRef
    assert wire[23] == PAPER_ACCOUNT


def test_submit_when_each_order_type_maps_to_ib_type_and_tif(broker: IbBroker, gateway: FakeIbGateway) -> None:
    kinds = [
        (OrderType.MOO, None, ("MKT", "OPG", "")),
        (OrderType.MOC, None, ("MOC", "DAY", "")),
        (OrderType.MARKET, None, ("MKT", "DAY", "")),
        (OrderType.LIMIT, 39.5, ("LMT", "DAY", "39.5")),
    ]
    for i, (kind, limit, _) in enumerate(kinds):
        broker.submit(make_order("DDD", quantity=10, ref=f"t{i}", order_type=kind, limit_price=limit))
    assert broker.wait_until(lambda: len(broker.open_orders()) == 4 and len(_placed(gateway)) == 4, WAIT)
    wire = {f[26]: (f[18], f[21], f[19]) for f in _placed(gateway)}
    assert wire == {f"t{i}": expected for i, (_, _, expected) in enumerate(kinds)}


def test_submit_when_partially_filled_keeps_working_until_the_rest_fills(
    broker: IbBroker, gateway: FakeIbGateway
) -> None:
    order = broker.submit(make_order("BBB", Side.BUY, 10, ref="r-part", order_type=OrderType.LIMIT, limit_price=21))
    assert broker.wait_until(lambda: len(broker.fills()) == 1, WAIT)
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert order.filled_quantity == 5
    assert broker.open_orders() == [order]
    gateway.fill("r-part")
    _wait_terminal(broker, order.ref)
    assert _kinds(broker, order.ref) == [E.SUBMIT, E.ACCEPT, E.PARTIAL_FILL, E.FILL]
    assert [f.quantity for f in broker.fills()] == [5, 5]
    assert all(f.commission == pytest.approx(1.0) for f in broker.fills())
    assert broker.open_orders() == []


def test_submit_when_gateway_rejects_records_reject_with_ib_reason(broker: IbBroker) -> None:
    order = broker.submit(make_order("CCC", Side.SELL, 5, ref="r-rej"))
    _wait_terminal(broker, order.ref)
    assert order.status is OrderStatus.REJECTED
    assert _kinds(broker, order.ref) == [E.SUBMIT, E.REJECT]
    assert "201" in broker.order_events()[-1].reason
    assert broker.fills() == []
    assert broker.open_orders() == []


def test_submit_when_symbol_unknown_rejects_without_sending(broker: IbBroker, gateway: FakeIbGateway) -> None:
    order = broker.submit(make_order("ZZZ", ref="r-unknown"))
    assert order.status is OrderStatus.REJECTED
    assert "ZZZ" in order.events[-1].reason
    assert _placed(gateway) == []


def test_submit_when_ref_already_known_sends_nothing_twice(broker: IbBroker, gateway: FakeIbGateway) -> None:
    first = broker.submit(make_order("DDD", quantity=10, ref="r-once"))
    again = broker.submit(make_order("DDD", quantity=10, ref="r-once"))
    assert again is first
    assert broker.wait_until(lambda: E.ACCEPT in _kinds(broker, first.ref), WAIT)
    assert len(_placed(gateway)) == 1


def test_submit_when_ref_is_working_at_ib_from_an_earlier_client_refuses(
    broker: IbBroker, gateway: FakeIbGateway, connect: Callable[..., IbBroker]
) -> None:
    earlier = broker.submit(make_order("DDD", quantity=10, ref="r-earlier"))
    assert broker.wait_until(lambda: E.ACCEPT in _kinds(broker, earlier.ref), WAIT)
    broker.disconnect()
    _assert_disconnected(gateway)
    restarted = connect()  # same client id: IB lists the order among its open orders
    with pytest.raises(Exception, match="already working at IB"):
        restarted.submit(make_order("DDD", quantity=10, ref="r-earlier"))
    assert len(_placed(gateway)) == 1


def test_cancel_when_order_rests_records_cancel_request_then_cancelled(
    broker: IbBroker, gateway: FakeIbGateway
) -> None:
    order = broker.submit(make_order("DDD", quantity=10, ref="r-cxl"))
    assert broker.wait_until(lambda: E.ACCEPT in _kinds(broker, order.ref), WAIT)
    broker.cancel(order.ref)
    _wait_terminal(broker, order.ref)
    assert _kinds(broker, order.ref) == [E.SUBMIT, E.ACCEPT, E.CANCEL_REQUEST, E.CANCELLED]
    assert gateway.order_by_ref("r-cxl").status == "Cancelled"
    assert broker.open_orders() == []


def test_modify_when_limit_order_rests_changes_quantity_and_price_at_ib(
    broker: IbBroker, gateway: FakeIbGateway
) -> None:
    order = broker.submit(make_order("DDD", quantity=10, ref="r-mod", order_type=OrderType.LIMIT, limit_price=39.0))
    assert broker.wait_until(lambda: E.ACCEPT in _kinds(broker, order.ref), WAIT)
    broker.modify(order.ref, quantity=20, limit_price=39.5)
    assert broker.wait_until(lambda: E.MODIFIED in _kinds(broker, order.ref), WAIT)
    assert (order.status, order.quantity, order.limit_price) == (OrderStatus.SUBMITTED, 20, 39.5)
    at_ib = gateway.order_by_ref("r-mod")
    assert (at_ib.quantity, at_ib.limit_price) == (20, 39.5)
    first, again = _placed(gateway)  # the modify is a placeOrder with the same order id
    assert first[1] == again[1] == str(at_ib.order_id)
    gateway.fill("r-mod")
    _wait_terminal(broker, order.ref)
    assert order.filled_quantity == 20
    assert _kinds(broker, order.ref)[-3:] == [E.MODIFY_REQUEST, E.MODIFIED, E.FILL]


def test_modify_when_limit_price_on_market_order_raises(broker: IbBroker) -> None:
    order = broker.submit(make_order("DDD", quantity=10, ref="r-mkt", order_type=OrderType.MARKET))
    with pytest.raises(Exception, match="only LIMIT"):
        broker.modify(order.ref, limit_price=1.0)


# ----------------------------------------------------------------- account
def test_positions_and_cash_when_order_fills_follow_the_gateway(broker: IbBroker, gateway: FakeIbGateway) -> None:
    assert broker.positions()["DDD"].quantity == 30
    assert broker.positions()["DDD"].average_price == 38.0
    assert broker.cash() == pytest.approx(100_000.0)
    order = broker.submit(make_order("AAA", Side.BUY, 400, ref="r-acct"))
    _wait_terminal(broker, order.ref)
    expected_cash = 100_000.0 - 400 * 50.0 - 2.0  # commission 400 x $0.005
    assert broker.wait_until(lambda: broker.cash() == pytest.approx(expected_cash), WAIT)
    held = broker.positions()
    assert set(held) == {"AAA", "DDD"}
    assert (held["AAA"].quantity, held["AAA"].cost_basis) == (400, pytest.approx(400 * 50.0))
    summary = broker.account_summary()
    assert summary["TotalCashValue"] == pytest.approx(expected_cash)
    assert summary["NetLiquidation"] == pytest.approx(expected_cash + 400 * 50.0 + 30 * 40.0)
    assert "AvailableFunds" in summary


def test_qualify_when_symbols_known_returns_contract_ids(broker: IbBroker) -> None:
    assert broker.qualify(["AAA", "DDD"]) == {"AAA": 1001, "DDD": 1004}
    with pytest.raises(Exception, match="ZZZ"):
        broker.qualify(["ZZZ"])


# ----------------------------------------------------------------- connectivity: 1100 / 1101 / 1102, drops
def test_submit_when_ib_reports_1100_refuses_new_orders_until_1102(broker: IbBroker, gateway: FakeIbGateway) -> None:
    gateway.broadcast_error(1100, "Connectivity between IB and Trader Workstation has been lost.")
    assert broker.wait_until(lambda: broker.connectivity.degraded, WAIT)
    with pytest.raises(BrokerError, match="degraded.*1100"):
        broker.submit(make_order("AAA", ref="r-blocked"))
    assert _placed(gateway) == []
    gateway.broadcast_error(1102, "Connectivity between IB and TWS has been restored - data maintained.")
    assert broker.wait_until(lambda: not broker.connectivity.degraded, WAIT)
    assert not broker.connectivity.resubscribe_needed
    order = broker.submit(make_order("AAA", ref="r-blocked"))
    _wait_terminal(broker, order.ref)
    assert order.status is OrderStatus.FILLED


def test_connectivity_when_lost_moves_kill_switch_to_reducing_and_back(
    gateway: FakeIbGateway,
    sqlite_url: str,  # noqa: F811
) -> None:
    store = RuntimeStore(sqlite_url)
    store.upgrade()
    switch = KillSwitch(store, "ib-test")
    broker = IbBroker(IbConfig(mode=Mode.PAPER, port=gateway.port, client_id=8), kill_switch=switch)
    try:
        broker.connect()
        gateway.broadcast_error(1100, "Connectivity between IB and Trader Workstation has been lost.")
        assert broker.wait_until(lambda: broker.connectivity.degraded, WAIT)
        assert switch.state() is TradingState.REDUCING
        gateway.broadcast_error(1101, "Connectivity between IB and TWS has been restored - data lost.")
        assert broker.wait_until(lambda: not broker.connectivity.degraded, WAIT)
        assert switch.state() is TradingState.ACTIVE
        assert broker.connectivity.resubscribe_needed
    finally:
        broker.disconnect()
        store.close()


def test_reconnect_when_rest_filled_while_away_records_the_missed_fill_once(
    broker: IbBroker, gateway: FakeIbGateway
) -> None:
    order = broker.submit(make_order("BBB", Side.BUY, 10, ref="r-away"))
    assert broker.wait_until(lambda: len(broker.fills()) == 1, WAIT)
    gateway.drop_connections()
    assert broker.wait_until(lambda: broker.connectivity.degraded, WAIT)
    assert not broker.connected
    gateway.fill("r-away")  # the rest fills while nobody listens
    events = broker.reconnect(attempts=3, backoff_s=0.05)
    assert [e.kind for e in events] == [E.FILL]
    assert order.status is OrderStatus.FILLED
    assert [(f.quantity, f.commission) for f in broker.fills()] == [(5, pytest.approx(1.0)), (5, pytest.approx(1.0))]
    assert not broker.connectivity.degraded
    assert broker.reconnect() == []  # already connected: nothing is booked twice
    assert len(broker.fills()) == 2


def test_reconnect_when_order_still_works_relinks_it_so_cancel_reaches_ib(
    broker: IbBroker, gateway: FakeIbGateway
) -> None:
    order = broker.submit(make_order("DDD", quantity=10, ref="r-relink"))
    assert broker.wait_until(lambda: E.ACCEPT in _kinds(broker, order.ref), WAIT)
    gateway.drop_connections()
    assert broker.wait_until(lambda: not broker.connected, WAIT)
    assert broker.reconnect(attempts=3, backoff_s=0.05) == []
    assert broker.open_orders() == [order]
    broker.cancel(order.ref)
    _wait_terminal(broker, order.ref)
    assert gateway.order_by_ref("r-relink").status == "Cancelled"
    assert len(_placed(gateway)) == 1


def test_reconnect_when_order_cancelled_at_ib_while_away_records_it_cancelled(
    broker: IbBroker, gateway: FakeIbGateway
) -> None:
    order = broker.submit(make_order("DDD", quantity=10, ref="r-gone"))
    assert broker.wait_until(lambda: E.ACCEPT in _kinds(broker, order.ref), WAIT)
    gateway.drop_connections()
    gateway.cancel_at_ib("r-gone")  # cancelled at IB while away (e.g. by the operator in TWS)
    events = broker.reconnect(attempts=3, backoff_s=0.05)
    assert [(e.kind, e.reason) for e in events] == [(E.CANCELLED, "IB status Cancelled (completed while away)")]
    assert broker.open_orders() == []
    assert broker.last_reconcile is not None
    assert broker.last_reconcile.completed == (order.ref,)


def test_reconnect_when_gateway_restarts_retries_with_backoff_until_it_is_back(
    broker: IbBroker, gateway: FakeIbGateway
) -> None:
    order = broker.submit(make_order("DDD", quantity=10, ref="r-restart"))
    assert broker.wait_until(lambda: E.ACCEPT in _kinds(broker, order.ref), WAIT)
    gateway.stop()
    back = threading.Timer(0.3, gateway.start)
    back.start()
    try:
        assert broker.reconnect(attempts=6, backoff_s=0.1) == []  # refused while down, then back
    finally:
        back.join()
    assert broker.connected
    assert broker.open_orders() == [order]
    gateway.fill("r-restart")
    _wait_terminal(broker, order.ref)
    assert order.status is OrderStatus.FILLED


def test_reconnect_when_gateway_stays_down_raises_after_the_last_attempt(
    broker: IbBroker, gateway: FakeIbGateway
) -> None:
    gateway.stop()
    with pytest.raises(IbConnectionError):
        broker.reconnect(attempts=2, backoff_s=0.01)
    assert broker.connectivity.degraded


def test_submit_when_ib_answers_duplicate_order_id_records_reject_with_103(
    broker: IbBroker, gateway: FakeIbGateway
) -> None:
    gateway.duplicate_id_next = True
    order = broker.submit(make_order("AAA", ref="r-dup"))
    _wait_terminal(broker, order.ref)
    assert order.status is OrderStatus.REJECTED
    assert "103" in order.events[-1].reason


def test_snapshot_quotes_when_symbols_known_give_last_price_and_time(broker: IbBroker) -> None:
    quotes = broker.snapshot_quotes(["AAA", "DDD", "ZZZ"])
    assert set(quotes) == {"AAA", "DDD"}
    assert quotes["AAA"].price == pytest.approx(50.0)
    assert quotes["DDD"].price == pytest.approx(40.0)
    assert quotes["AAA"].ts.tzinfo is not None


def test_logs_when_ib_async_prints_orders_mask_the_account(broker: IbBroker, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        order = broker.submit(make_order("AAA", ref="r-log"))
        _wait_terminal(broker, order.ref)
    assert "Trade(" in caplog.text  # ib_async logged the order with its account field
    assert PAPER_ACCOUNT not in caplog.text
    assert "****567" in caplog.text


def test_modify_when_quantity_not_above_filled_raises(broker: IbBroker) -> None:
    order = broker.submit(make_order("BBB", Side.BUY, 10, ref="r-below"))
    assert broker.wait_until(lambda: order.filled_quantity == 5, WAIT)
    with pytest.raises(BrokerError, match="already filled"):
        broker.modify(order.ref, quantity=5)


def test_submit_when_ref_is_working_under_another_client_id_refuses_and_lists_it(
    broker: IbBroker, gateway: FakeIbGateway, connect: Callable[..., IbBroker]
) -> None:
    first = broker.submit(make_order("DDD", quantity=10, ref="r-other-client"))
    assert broker.wait_until(lambda: E.ACCEPT in _kinds(broker, first.ref), WAIT)
    other = connect(client_id=9)
    with pytest.raises(BrokerError, match="already working at IB"):
        other.submit(make_order("DDD", quantity=10, ref="r-other-client"))
    [seen] = other.ib_open_orders()
    assert (seen.order_ref, seen.instrument, seen.quantity, seen.client_id, seen.ours) == (
        "r-other-client", "DDD", 10, 7, False,
    )  # fmt: skip
    assert [o.ours for o in broker.ib_open_orders()] == [True]
    assert len(_placed(gateway)) == 1


# ----------------------------------------------------------------- crash: a new process adopts what IB has
def test_adopt_when_process_died_between_submit_and_ack_sends_nothing_again(
    broker: IbBroker, gateway: FakeIbGateway, connect: Callable[..., IbBroker]
) -> None:
    broker.submit(make_order("DDD", quantity=10, ref="r-crash"))
    assert broker.wait_until(lambda: len(_placed(gateway)) == 1, WAIT)
    gateway.drop_connections()  # the process dies; its store only holds the planned order
    assert broker.wait_until(lambda: not broker.connected, WAIT)
    restarted = connect()
    planned = make_order("DDD", quantity=10, ref="r-crash")
    with pytest.raises(BrokerError, match="already working at IB"):
        restarted.submit(planned)
    assert restarted.adopt(planned) is planned
    assert [e.kind for e in planned.events] == [E.SUBMIT, E.ACCEPT]
    assert restarted.submit(make_order("DDD", quantity=10, ref="r-crash")) is planned
    gateway.fill("r-crash")
    _wait_terminal(restarted, planned.ref)
    assert [f.quantity for f in restarted.fills()] == [10]
    assert len(_placed(gateway)) == 1


def test_adopt_when_process_died_between_fills_books_each_fill_once(
    broker: IbBroker, gateway: FakeIbGateway, connect: Callable[..., IbBroker]
) -> None:
    order = broker.submit(make_order("BBB", Side.BUY, 10, ref="r-crash2"))
    assert broker.wait_until(lambda: len(broker.fills()) == 1, WAIT)
    stored = make_order("BBB", Side.BUY, 10, ref="r-crash2")  # what the store replays: the first fill is in
    for ev in order.events:
        stored.apply(ev)
    gateway.drop_connections()
    assert broker.wait_until(lambda: not broker.connected, WAIT)
    gateway.fill("r-crash2")  # the rest fills while no process runs
    restarted = connect()
    restarted.adopt(stored)
    assert stored.status is OrderStatus.FILLED
    assert stored.filled_quantity == 10
    assert [(f.quantity, f.commission) for f in restarted.fills()] == [(5, pytest.approx(1.0))]
    assert restarted.positions()["BBB"].quantity == gateway.holdings["BBB"][0] == 10


def test_adopt_when_ib_knows_no_such_ref_raises(broker: IbBroker) -> None:
    with pytest.raises(BrokerError, match="no open order or execution"):
        broker.adopt(make_order("AAA", ref="r-never-sent"))


@pytest.mark.parametrize("code", [104, 105])  # an order error, and a warning (ib_async: ValidationError)
def test_modify_when_ib_refuses_records_modify_reject_and_the_order_keeps_working(
    broker: IbBroker, gateway: FakeIbGateway, code: int
) -> None:
    order = broker.submit(make_order("DDD", quantity=10, ref="r-nomod", order_type=OrderType.LIMIT, limit_price=39.0))
    assert broker.wait_until(lambda: E.ACCEPT in _kinds(broker, order.ref), WAIT)
    gateway.refuse_modify_next = code
    broker.modify(order.ref, limit_price=39.5)
    assert broker.wait_until(lambda: E.MODIFY_REJECT in _kinds(broker, order.ref), WAIT)
    assert (order.status, order.limit_price) == (OrderStatus.SUBMITTED, 39.0)
    assert str(code) in order.events[-1].reason
    gateway.fill("r-nomod")
    _wait_terminal(broker, order.ref)
    assert order.status is OrderStatus.FILLED


def test_reconnect_when_socket_is_up_but_ib_reported_1100_stays_degraded(
    broker: IbBroker, gateway: FakeIbGateway
) -> None:
    gateway.broadcast_error(1100, "Connectivity between IB and Trader Workstation has been lost.")
    assert broker.wait_until(lambda: broker.connectivity.degraded, WAIT)
    assert broker.reconnect() == []
    assert broker.connectivity.degraded  # only IB's 1101 / 1102 says TWS is back in touch with IB


def test_order_when_ib_cancels_it_unasked_records_cancelled_with_the_fills_kept(
    broker: IbBroker, gateway: FakeIbGateway
) -> None:
    order = broker.submit(make_order("BBB", Side.BUY, 10, ref="r-expire", order_type=OrderType.LIMIT, limit_price=21))
    assert broker.wait_until(lambda: order.filled_quantity == 5, WAIT)
    gateway.expire("r-expire")
    _wait_terminal(broker, order.ref)
    assert order.status is OrderStatus.CANCELLED
    assert order.filled_quantity == 5
    assert _kinds(broker, order.ref) == [E.SUBMIT, E.ACCEPT, E.PARTIAL_FILL, E.CANCELLED]


def test_status_when_connected_shows_masked_account_positions_and_open_orders(
    broker: IbBroker, gateway: FakeIbGateway
) -> None:
    order = broker.submit(make_order("DDD", quantity=10, ref="r-status"))
    assert broker.wait_until(lambda: E.ACCEPT in _kinds(broker, order.ref), WAIT)
    status = broker.status()
    assert (status.mode, status.endpoint, status.client_id) == (Mode.PAPER, f"127.0.0.1:{gateway.port}", 7)
    assert (status.connected, status.account, status.degraded) == (True, "****567", "")
    assert status.positions["DDD"].quantity == 30
    assert [(o.order_ref, o.ours) for o in status.open_orders] == [("r-status", True)]
    broker.disconnect()
    assert (broker.status().connected, broker.status().open_orders) == (False, [])
