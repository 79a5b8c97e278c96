"""Pure mapping between our execution types and IB's: order types, statuses, sides, the account guard.

Nothing here imports ``ib_async`` or talks to a socket, so every rule is testable on plain values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from prometheus.core.errors import BrokerError
from prometheus.core.types import Mode
from prometheus.execution.state_machine import Order
from prometheus.execution.types import OrderEventType, OrderStatus, OrderType, Side

E = OrderEventType

#: IB order statuses of a working order.
IB_WORKING: Final = frozenset({"PreSubmitted", "Submitted"})
#: IB order statuses that end an order without (further) fills.
IB_ENDED: Final = frozenset({"Cancelled", "ApiCancelled", "Inactive"})
#: ib_async's status for an order after an IB warning (the order stays live at IB).
IB_VALIDATION_ERROR: Final = "ValidationError"
#: IB error code "Order Canceled - reason:": the confirmation of a cancel, not a failure.
IB_ORDER_CANCELLED: Final = 202

#: The settings named in error messages (environment variables of :class:`prometheus.core.settings.Settings`).
ACCOUNT_SETTING: Final = "PROMETHEUS_IB_ACCOUNT"
CONFIRM_SETTING: Final = "PROMETHEUS_LIVE_CONFIRM"
CLIENT_ID_SETTING: Final = "PROMETHEUS_IB_CLIENT_ID"
_QTY_TOL: Final = 1e-9


class IbAccountRefused(BrokerError):
    """The connected IB login is not an account this mode may trade (the account guard)."""


class IbClientIdInUse(BrokerError):
    """IB error 326: another API client is connected with the same client id."""


class IbConnectionError(BrokerError):
    """IB Gateway / TWS could not be reached or did not complete the API handshake."""


@dataclass(frozen=True, slots=True)
class IbOrderFields:
    """The IB order fields one of our orders maps to (``limit_price`` only for LMT)."""

    action: str
    quantity: int
    order_type: str
    tif: str
    limit_price: float | None
    order_ref: str


# Our order type → (IB orderType, time in force). MOO is a market order valid for the opening auction only
# (tif OPG); MOC is IB's own order type for the closing auction.
ORDER_TYPES: Final[dict[OrderType, tuple[str, str]]] = {
    OrderType.MARKET: ("MKT", "DAY"),
    OrderType.MOO: ("MKT", "OPG"),
    OrderType.MOC: ("MOC", "DAY"),
    OrderType.LIMIT: ("LMT", "DAY"),
}


def mask_account(account: str | None) -> str:
    """An account id for logs and messages: only its last 3 characters are shown."""
    if not account:
        return "<none>"
    return "****" + account[-3:]


def is_paper_account(account: str) -> bool:
    """IB paper-trading account ids start with "D" (DU..., DF...)."""
    return account.upper().startswith("D")


def order_refusal(order: Order) -> str:
    """Why ``order`` cannot be sent to IB as it is ("" when it can)."""
    q = order.quantity
    if not (math.isfinite(q) and q > 0):
        return f"bad quantity {q}"
    if abs(q - round(q)) > _QTY_TOL:
        return f"IB stock orders take whole shares; got {q}"
    if order.order_type is OrderType.LIMIT and (order.limit_price is None or not order.limit_price > 0):
        return "a LIMIT order needs a positive limit price"
    return ""


def ib_order_fields(order: Order) -> IbOrderFields:
    """The IB order for ``order`` (call :func:`order_refusal` first)."""
    ib_type, tif = ORDER_TYPES[order.order_type]
    limit = order.limit_price if order.order_type is OrderType.LIMIT else None
    return IbOrderFields(order.side.value, round(order.quantity), ib_type, tif, limit, order.ref.value)


def order_type_from_ib(ib_type: str, tif: str) -> OrderType | None:
    """Our order type for an IB ``orderType`` and ``tif`` (None: no counterpart, e.g. STP or a GTC order)."""
    for ours, (t, f) in ORDER_TYPES.items():
        if (t, f) == (ib_type, tif):
            return ours
    return None


def side_from_action(action: str) -> Side:
    """IB order action ("BUY" / "SELL") as our :class:`Side`."""
    if action in ("BUY", "SELL"):
        return Side(action)
    raise BrokerError(f"unknown IB order action {action!r} (expected BUY or SELL)")


def side_from_execution(ib_side: str) -> Side:
    """IB execution side ("BOT" / "SLD") as our :class:`Side`."""
    if ib_side == "BOT":
        return Side.BUY
    if ib_side == "SLD":
        return Side.SELL
    raise BrokerError(f"unknown IB execution side {ib_side!r}")


def ended_event(status: OrderStatus, accepted: bool, ib_status: str, error_code: int) -> OrderEventType | None:
    """The event for an IB status in :data:`IB_ENDED` given our order's ``status``.

    ``accepted``: IB acknowledged the order (or filled part of it) before; ``error_code``: the IB error that
    ended it (0 when IB just reported the status). ib_async marks an order Cancelled on any order error,
    including a refused modify or cancel, so the pending state decides what the error meant.
    """
    if status.is_terminal or status is OrderStatus.NEW:
        return None
    failed = error_code not in (0, IB_ORDER_CANCELLED)
    if status is OrderStatus.PENDING_MODIFY and failed:
        return E.MODIFY_REJECT
    if status is OrderStatus.PENDING_CANCEL and failed:
        return E.CANCEL_REJECT
    if status is OrderStatus.SUBMITTED and not accepted and (failed or ib_status == "Inactive"):
        return E.REJECT
    return E.CANCELLED


def warning_event(status: OrderStatus) -> OrderEventType | None:
    """The event for an IB warning on an order (ib_async status ValidationError): a pending request failed."""
    if status is OrderStatus.PENDING_MODIFY:
        return E.MODIFY_REJECT
    if status is OrderStatus.PENDING_CANCEL:
        return E.CANCEL_REJECT
    return None


def check_account(mode: Mode, managed: Sequence[str], configured: str | None, live_confirm: str | None) -> str:
    """The account to trade, after the account guard.

    PAPER trades only paper accounts (ids starting with "D"); LIVE refuses paper accounts and needs
    ``PROMETHEUS_LIVE_CONFIRM`` equal to the account id. The port is not the guard: a login's account is.

    Raises
    ------
    IbAccountRefused
        No account, an account not managed by this login, several accounts without a choice, or the guard
        refuses the account for ``mode``.
    """
    if mode not in (Mode.PAPER, Mode.LIVE):
        raise IbAccountRefused(f"mode {mode.value} does not trade at IB")
    accounts = [a for a in managed if a]
    if not accounts:
        raise IbAccountRefused("IB reported no managed account for this login")
    shown = ", ".join(mask_account(a) for a in accounts)
    if configured:
        if configured not in accounts:
            raise IbAccountRefused(
                f"account {mask_account(configured)} ({ACCOUNT_SETTING}) is not managed by this IB login "
                f"(managed: {shown})"
            )
        account = configured
    elif len(accounts) == 1:
        account = accounts[0]
    else:
        raise IbAccountRefused(f"this IB login manages several accounts ({shown}); choose one with {ACCOUNT_SETTING}")
    masked = mask_account(account)
    if mode is Mode.PAPER and not is_paper_account(account):
        raise IbAccountRefused(
            f"PAPER refuses account {masked}: it is not a paper account (paper ids start with 'D'); log IB "
            "Gateway / TWS in to the paper account, or run with PROMETHEUS_MODE=LIVE"
        )
    if mode is Mode.LIVE:
        if is_paper_account(account):
            raise IbAccountRefused(
                f"LIVE refuses account {masked}: it is a paper account; run with PROMETHEUS_MODE=PAPER or log in "
                "to the live account"
            )
        if live_confirm != account:
            raise IbAccountRefused(
                f"LIVE refuses account {masked}: {CONFIRM_SETTING} must equal the account id to trade live"
            )
    return account


def quote_price(last: float, bid: float, ask: float, close: float) -> float | None:
    """The price a snapshot quote stands for: the last trade, else the bid/ask midpoint, else the close."""

    def ok(x: float) -> bool:
        return math.isfinite(x) and x > 0

    if ok(last):
        return last
    if ok(bid) and ok(ask):
        return (bid + ask) / 2
    return close if ok(close) else None
