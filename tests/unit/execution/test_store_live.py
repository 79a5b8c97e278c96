"""ExecutionStore for PAPER / LIVE: orders, events and fills recorded once however often a (new) process records
them; working orders come back for reconciliation (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from prometheus.core.types import Market
from prometheus.execution import Fill, Order, OrderEvent, OrderEventType, OrderStatus, Position
from prometheus.execution.store import ExecutionContext, ExecutionStore
from prometheus.runtime import RuntimeStore
from tests.support.execution_kit import SESSION, T0, make_order
from tests.support.fixtures import runtime_db_url  # noqa: F401  (fixture)

E = OrderEventType


@pytest.fixture
def xstore(runtime_db_url: str) -> Iterator[ExecutionStore]:  # noqa: F811
    store = RuntimeStore(runtime_db_url)
    store.upgrade()
    yield ExecutionStore(store, ExecutionContext(Market.US_EQ, "live", "c" * 64))
    store.close()


def _fill(order: Order, qty: float, price: float, seconds: int, last: bool = False) -> Fill:
    ts = T0 + timedelta(seconds=seconds)
    order.apply(OrderEvent(order.ref, E.FILL if last else E.PARTIAL_FILL, ts, qty, price))
    return Fill(order.ref, order.instrument, order.side, qty, price, order.session, ts, commission=qty * 0.005)


def test_record_execution_when_a_new_process_records_again_keeps_each_fill_once(xstore: ExecutionStore) -> None:
    order = make_order("AAA", quantity=300.0)
    order.apply(OrderEvent(order.ref, E.SUBMIT, T0))
    first = _fill(order, 100.0, 10.0, 1)
    assert xstore.record_execution([order], [first], T0) == 1
    # The next process rebuilds the order from its events and books only what happened since.
    again = xstore.load_order(order.ref)
    assert again is not None
    second = _fill(again, 200.0, 10.5, 2, last=True)
    assert xstore.record_execution([again], [second], T0) == 2
    assert xstore.record_execution([again], [second], T0) == 2  # a repeat changes nothing
    rows = xstore.fill_rows(SESSION)
    assert [(r["seq"], r["quantity"], r["price"], r["commission"]) for r in rows] == [
        (0, 100.0, 10.0, 0.5),  # the first process's commission is kept, not overwritten with zero
        (1, 200.0, 10.5, 1.0),
    ]
    assert xstore.order_statuses([order.ref]) == {order.ref: OrderStatus.FILLED}


def test_record_execution_when_commission_arrives_later_completes_the_row(xstore: ExecutionStore) -> None:
    order = make_order("BBB", quantity=100.0)
    order.apply(OrderEvent(order.ref, E.SUBMIT, T0))
    fill = _fill(order, 100.0, 20.0, 1, last=True)
    xstore.record_execution([order], [], T0)  # the execution is in, its commission report is not
    assert [r["commission"] for r in xstore.fill_rows()] == [0.0]
    xstore.record_execution([order], [fill], T0)
    assert [r["commission"] for r in xstore.fill_rows()] == [0.5]


def test_working_orders_when_some_are_done_returns_the_open_ones_rebuilt(xstore: ExecutionStore) -> None:
    new, sent, done = make_order("AAA"), make_order("BBB"), make_order("CCC")
    sent.apply(OrderEvent(sent.ref, E.SUBMIT, T0))
    done.apply(OrderEvent(done.ref, E.SUBMIT, T0))
    _fill(done, 100.0, 5.0, 1, last=True)
    xstore.record_execution([new, sent, done], [], T0)
    working = xstore.working_orders()
    assert [(o.ref, o.status) for o in working] == [(new.ref, OrderStatus.NEW), (sent.ref, OrderStatus.SUBMITTED)]
    assert [e.kind for e in working[1].events] == [E.SUBMIT]
    other = ExecutionStore(xstore.store, ExecutionContext(Market.EU_EQ, "live", "c" * 64))
    assert other.working_orders() == []  # scoped to the market its rows are written for


def test_account_when_saved_reads_back_positions_and_cash(xstore: ExecutionStore) -> None:
    xstore.save_account(SESSION, {"AAA": Position("AAA", 10.0, 500.0)}, 1234.5, T0, equity=1734.5)
    account = xstore.account(SESSION)
    assert account is not None
    assert (account.positions, account.cash, account.equity) == ({"AAA": Position("AAA", 10.0, 500.0)}, 1234.5, 1734.5)
    assert xstore.account(SESSION + timedelta(days=1)) is None
