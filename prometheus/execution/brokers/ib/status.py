"""What ``broker status`` shows: the connection, the account, positions and the orders open at IB."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus.core.types import Mode
from prometheus.execution.types import Position

if TYPE_CHECKING:
    import ib_async


@dataclass(frozen=True, slots=True)
class IbOpenOrder:
    """One order open at IB as IB reports it; ``ours``: one of this broker's orders (sent, adopted or re-linked)."""

    order_ref: str
    instrument: str
    action: str
    quantity: float
    filled: float
    order_type: str
    status: str
    client_id: int
    order_id: int
    perm_id: int
    ours: bool


@dataclass(frozen=True, slots=True)
class IbStatus:
    """What ``broker status`` shows: the connection, the (masked) account, positions and IB's open orders."""

    mode: Mode
    endpoint: str  # host:port
    client_id: int
    connected: bool
    account: str  # masked
    degraded: str  # why new orders are held back ("" when healthy)
    positions: dict[str, Position]
    open_orders: list[IbOpenOrder]


def open_order_view(trade: ib_async.Trade, ours: bool) -> IbOpenOrder:
    """An IB open order as :class:`IbOpenOrder`."""
    o, st = trade.order, trade.orderStatus
    return IbOpenOrder(
        o.orderRef, trade.contract.symbol, o.action, float(o.totalQuantity), float(st.filled), o.orderType,
        st.status, o.clientId, o.orderId, o.permId or st.permId, ours,
    )  # fmt: skip
