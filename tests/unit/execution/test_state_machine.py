"""The order lifecycle: every (status, event) pair, fills, modifies."""

from __future__ import annotations

import itertools

import pytest

from prometheus.core.errors import BrokerError, IllegalTransition
from prometheus.execution import TRANSITIONS, OrderEvent, OrderEventType, OrderStatus, next_status
from prometheus.execution.state_machine import WORKING
from tests.support.execution_kit import T0, make_order

E, S = OrderEventType, OrderStatus
ALL_PAIRS = list(itertools.product(S, E))
LEGAL = [p for p in ALL_PAIRS if p in TRANSITIONS]
ILLEGAL = [p for p in ALL_PAIRS if p not in TRANSITIONS]


@pytest.mark.parametrize(("status", "kind"), LEGAL, ids=[f"{s}-{k}" for s, k in LEGAL])
def test_next_status_when_pair_is_legal_returns_table_target(status: S, kind: E) -> None:
    target = TRANSITIONS[(status, kind)]
    got = next_status(status, kind, filled_quantity=0.0)
    assert got == (S.SUBMITTED if target == WORKING else target)


@pytest.mark.parametrize(("status", "kind"), ILLEGAL, ids=[f"{s}-{k}" for s, k in ILLEGAL])
def test_next_status_when_pair_is_illegal_raises(status: S, kind: E) -> None:
    with pytest.raises(IllegalTransition, match=f"{kind}.*{status}"):
        next_status(status, kind)


def test_next_status_when_working_after_partial_fill_returns_partially_filled() -> None:
    assert next_status(S.PENDING_CANCEL, E.CANCEL_REJECT, filled_quantity=5.0) is S.PARTIALLY_FILLED
    assert next_status(S.PENDING_MODIFY, E.MODIFIED, filled_quantity=0.0) is S.SUBMITTED


def test_table_when_terminal_filled_or_rejected_has_no_exit() -> None:
    assert not [p for p in TRANSITIONS if p[0] in (S.FILLED, S.REJECTED)]


def test_apply_when_partial_then_fill_tracks_quantity_and_average_price() -> None:
    order = make_order(quantity=100)
    order.apply(OrderEvent(order.ref, E.SUBMIT, T0))
    order.apply(OrderEvent(order.ref, E.PARTIAL_FILL, T0, quantity=40, price=10.0))
    assert order.status is S.PARTIALLY_FILLED
    assert order.remaining == 60
    order.apply(OrderEvent(order.ref, E.FILL, T0, quantity=60, price=11.0))
    assert order.status is S.FILLED
    assert order.average_fill_price == pytest.approx(10.6)
    assert order.remaining == 0
    assert [e.kind for e in order.events] == [E.SUBMIT, E.PARTIAL_FILL, E.FILL]


def test_apply_when_fill_exceeds_quantity_raises_and_keeps_state() -> None:
    order = make_order(quantity=10)
    order.apply(OrderEvent(order.ref, E.SUBMIT, T0))
    with pytest.raises(BrokerError, match="fill of 11"):
        order.apply(OrderEvent(order.ref, E.FILL, T0, quantity=11, price=1.0))
    assert order.status is S.SUBMITTED
    assert order.filled_quantity == 0


def test_apply_when_fill_event_leaves_remainder_raises() -> None:
    order = make_order(quantity=10)
    order.apply(OrderEvent(order.ref, E.SUBMIT, T0))
    with pytest.raises(BrokerError, match="open"):
        order.apply(OrderEvent(order.ref, E.FILL, T0, quantity=4, price=1.0))


def test_apply_when_illegal_event_raises_and_keeps_events() -> None:
    order = make_order()
    with pytest.raises(IllegalTransition):
        order.apply(OrderEvent(order.ref, E.FILL, T0, quantity=100, price=1.0))
    assert order.status is S.NEW
    assert order.events == []


def test_apply_when_event_of_other_order_raises() -> None:
    order = make_order(ref="a")
    other = make_order(ref="b")
    with pytest.raises(BrokerError, match="applied to order"):
        order.apply(OrderEvent(other.ref, E.SUBMIT, T0))


def test_apply_when_modified_changes_quantity_and_limit() -> None:
    order = make_order(quantity=100, limit_price=10.0)
    for kind in (E.SUBMIT, E.MODIFY_REQUEST):
        order.apply(OrderEvent(order.ref, kind, T0))
    assert order.status is S.PENDING_MODIFY
    order.apply(OrderEvent(order.ref, E.MODIFIED, T0, quantity=50, price=9.5))
    assert (order.status, order.quantity, order.limit_price) == (S.SUBMITTED, 50, 9.5)


def test_apply_when_modify_below_filled_raises() -> None:
    order = make_order(quantity=100)
    order.apply(OrderEvent(order.ref, E.SUBMIT, T0))
    order.apply(OrderEvent(order.ref, E.PARTIAL_FILL, T0, quantity=60, price=1.0))
    order.apply(OrderEvent(order.ref, E.MODIFY_REQUEST, T0))
    with pytest.raises(BrokerError, match="below filled"):
        order.apply(OrderEvent(order.ref, E.MODIFIED, T0, quantity=50))


def test_apply_when_fill_arrives_after_cancel_books_fill() -> None:
    order = make_order(quantity=10)
    for kind in (E.SUBMIT, E.CANCEL_REQUEST, E.CANCELLED):
        order.apply(OrderEvent(order.ref, kind, T0))
    order.apply(OrderEvent(order.ref, E.FILL, T0, quantity=10, price=2.0))
    assert order.status is S.FILLED
    assert order.filled_quantity == 10
