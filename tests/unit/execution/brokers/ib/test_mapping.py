"""The pure IB mapping: order types, the account guard, how an ended IB order maps to our events."""

from __future__ import annotations

import math

import pytest

from prometheus.core.errors import BrokerError
from prometheus.core.types import Mode
from prometheus.execution import OrderEventType, OrderStatus, OrderType, Side
from prometheus.execution.brokers.ib import IbAccountRefused, check_account, mask_account
from prometheus.execution.brokers.ib.mapping import (
    ORDER_TYPES,
    ended_event,
    ib_order_fields,
    order_refusal,
    order_type_from_ib,
    quote_price,
    side_from_action,
    side_from_execution,
    warning_event,
)
from tests.support.execution_kit import make_order

E = OrderEventType
S = OrderStatus


@pytest.mark.parametrize(
    ("kind", "expected"),
    [(OrderType.MOO, ("MKT", "OPG")), (OrderType.MOC, ("MOC", "DAY")), (OrderType.MARKET, ("MKT", "DAY")),
     (OrderType.LIMIT, ("LMT", "DAY"))],
)  # fmt: skip
def test_order_type_when_mapped_gives_ib_type_and_tif(kind: OrderType, expected: tuple[str, str]) -> None:
    assert ORDER_TYPES[kind] == expected


def test_order_types_when_listed_cover_every_member() -> None:
    assert set(ORDER_TYPES) == set(OrderType)


def test_ib_order_fields_when_limit_carry_price_and_ref() -> None:
    f = ib_order_fields(make_order("AAA", Side.SELL, 10, ref="x", order_type=OrderType.LIMIT, limit_price=9.5))
    assert (f.action, f.quantity, f.order_type, f.tif, f.limit_price, f.order_ref) == (
        "SELL",
        10,
        "LMT",
        "DAY",
        9.5,
        "x",
    )


def test_ib_order_fields_when_not_limit_drop_the_price() -> None:
    assert ib_order_fields(make_order(order_type=OrderType.MOO, limit_price=9.5)).limit_price is None


@pytest.mark.parametrize(
    ("quantity", "kind", "limit", "problem"),
    [(10.5, OrderType.MOO, None, "whole shares"), (0.0, OrderType.MOO, None, "bad quantity"),
     (10.0, OrderType.LIMIT, None, "limit price"), (10.0, OrderType.MOO, None, "")],
)  # fmt: skip
def test_order_refusal_when_order_is_checked_names_the_problem(
    quantity: float, kind: OrderType, limit: float | None, problem: str
) -> None:
    reason = order_refusal(make_order(quantity=quantity, order_type=kind, limit_price=limit))
    assert (problem in reason) if problem else reason == ""


def test_side_when_ib_execution_side_maps_both_ways() -> None:
    assert (side_from_execution("BOT"), side_from_execution("SLD")) == (Side.BUY, Side.SELL)


def test_mask_account_when_shown_keeps_last_three() -> None:
    assert mask_account("DU1234567") == "****567"
    assert mask_account(None) == "<none>"


@pytest.mark.parametrize(
    ("mode", "managed", "configured", "confirm", "expected"),
    [(Mode.PAPER, ["DU1"], None, None, "DU1"), (Mode.PAPER, ["DU1", "DU2"], "DU2", None, "DU2"),
     (Mode.LIVE, ["U123"], None, "U123", "U123")],
)  # fmt: skip
def test_check_account_when_allowed_returns_the_account(
    mode: Mode, managed: list[str], configured: str | None, confirm: str | None, expected: str
) -> None:
    assert check_account(mode, managed, configured, confirm) == expected


@pytest.mark.parametrize(
    ("mode", "managed", "configured", "confirm", "message"),
    [(Mode.PAPER, ["U1234567"], None, None, "not a paper account"),
     (Mode.LIVE, ["DU1234567"], None, "DU1234567", "is a paper account"),
     (Mode.LIVE, ["U1234567"], None, None, "PROMETHEUS_LIVE_CONFIRM"),
     (Mode.PAPER, ["DU1", "DU2"], None, None, "PROMETHEUS_IB_ACCOUNT"),
     (Mode.PAPER, ["DU1234567"], "DU7654321", None, "not managed"),
     (Mode.PAPER, [], None, None, "no managed account"),
     (Mode.BACKTEST, ["DU1"], None, None, "does not trade")],
)  # fmt: skip
def test_check_account_when_refused_says_why_with_masked_ids(
    mode: Mode, managed: list[str], configured: str | None, confirm: str | None, message: str
) -> None:
    with pytest.raises(IbAccountRefused, match=message) as info:
        check_account(mode, managed, configured, confirm)
    assert not any(a in str(info.value) for a in [*managed, configured or "-"] if len(a) > 3)


@pytest.mark.parametrize(
    ("status", "accepted", "ib_status", "code", "expected"),
    [(S.SUBMITTED, False, "Cancelled", 201, E.REJECT), (S.SUBMITTED, False, "Inactive", 0, E.REJECT),
     (S.SUBMITTED, False, "Cancelled", 103, E.REJECT), (S.SUBMITTED, True, "Cancelled", 0, E.CANCELLED),
     (S.PENDING_CANCEL, True, "Cancelled", 202, E.CANCELLED),
     (S.PENDING_CANCEL, True, "Cancelled", 10148, E.CANCEL_REJECT),
     (S.PENDING_MODIFY, True, "Cancelled", 104, E.MODIFY_REJECT),
     (S.PARTIALLY_FILLED, True, "Cancelled", 0, E.CANCELLED), (S.FILLED, True, "Cancelled", 0, None),
     (S.NEW, False, "Cancelled", 0, None)],
)  # fmt: skip
def test_ended_event_when_ib_ends_an_order_maps_by_our_state(
    status: OrderStatus, accepted: bool, ib_status: str, code: int, expected: OrderEventType | None
) -> None:
    assert ended_event(status, accepted, ib_status, code) is expected


@pytest.mark.parametrize(
    ("last", "bid", "ask", "close", "expected"),
    [(10.0, 9.0, 11.0, 8.0, 10.0), (math.nan, 9.0, 11.0, 8.0, 10.0), (math.nan, math.nan, 11.0, 8.0, 8.0),
     (-1.0, -1.0, -1.0, math.nan, None)],
)  # fmt: skip
def test_quote_price_when_fields_missing_falls_back_to_midpoint_then_close(
    last: float, bid: float, ask: float, close: float, expected: float | None
) -> None:
    assert quote_price(last, bid, ask, close) == expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [(S.PENDING_MODIFY, E.MODIFY_REJECT), (S.PENDING_CANCEL, E.CANCEL_REJECT), (S.SUBMITTED, None)],
)
def test_warning_event_when_a_request_is_pending_rejects_it(
    status: OrderStatus, expected: OrderEventType | None
) -> None:
    assert warning_event(status) is expected


@pytest.mark.parametrize("kind", list(OrderType))
def test_order_type_from_ib_when_mapped_back_gives_our_type(kind: OrderType) -> None:
    assert order_type_from_ib(*ORDER_TYPES[kind]) is kind


@pytest.mark.parametrize(("ib_type", "tif"), [("STP", "DAY"), ("LMT", "GTC"), ("MKT", "IOC"), ("", "")])
def test_order_type_from_ib_when_no_counterpart_gives_none(ib_type: str, tif: str) -> None:
    """An adopted foreign order must be one we can manage: anything else stays an alert."""
    assert order_type_from_ib(ib_type, tif) is None


def test_side_from_action_when_buy_or_sell_maps_and_else_raises() -> None:
    assert (side_from_action("BUY"), side_from_action("SELL")) == (Side.BUY, Side.SELL)
    with pytest.raises(BrokerError, match="SSHORT"):
        side_from_action("SSHORT")
