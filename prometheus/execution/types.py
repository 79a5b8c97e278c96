"""Closed sets and small value types of the execution layer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from prometheus.runtime.enums import TradingState

__all__ = [
    "FillPrice",
    "Fill",
    "OrderEvent",
    "OrderEventType",
    "OrderIntent",
    "OrderRef",
    "OrderStatus",
    "OrderType",
    "Position",
    "RejectReason",
    "RemainderPolicy",
    "Side",
    "TradingState",  # stored in risk_state; defined with the runtime schema
]


class Side(StrEnum):
    """Direction of an order or fill."""

    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        """+1 for a buy, -1 for a sell."""
        return 1 if self is Side.BUY else -1


class OrderType(StrEnum):
    """How an order is priced."""

    MARKET = "MARKET"
    MOO = "MOO"  # market-on-open: the opening auction of its session
    MOC = "MOC"  # market-on-close: the closing auction of its session
    LIMIT = "LIMIT"


class OrderIntent(StrEnum):
    """Why an order exists; part of the deterministic order reference."""

    REBALANCE = "REBALANCE"
    REDUCE = "REDUCE"
    LIQUIDATE = "LIQUIDATE"


class OrderStatus(StrEnum):
    """Lifecycle states of an order (see :mod:`prometheus.execution.state_machine`)."""

    NEW = "NEW"
    SUBMITTED = "SUBMITTED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    PENDING_MODIFY = "PENDING_MODIFY"
    PENDING_CANCEL = "PENDING_CANCEL"
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"

    @property
    def is_terminal(self) -> bool:
        """True when no further event can change the order."""
        return self in _TERMINAL


_TERMINAL = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED})


class OrderEventType(StrEnum):
    """Immutable facts that move an order through its lifecycle."""

    SUBMIT = "SUBMIT"  # sent to the broker
    ACCEPT = "ACCEPT"  # acknowledged by the broker (working)
    REJECT = "REJECT"
    PARTIAL_FILL = "PARTIAL_FILL"
    FILL = "FILL"  # the last fill: nothing remains
    MODIFY_REQUEST = "MODIFY_REQUEST"
    MODIFIED = "MODIFIED"
    MODIFY_REJECT = "MODIFY_REJECT"
    CANCEL_REQUEST = "CANCEL_REQUEST"
    CANCELLED = "CANCELLED"
    CANCEL_REJECT = "CANCEL_REJECT"
    EXPIRE = "EXPIRE"  # end of the order's validity (a DAY order at the close)


class RejectReason(StrEnum):
    """Coded reason of a RiskGate rejection (one per rule)."""

    KILL_SWITCH_HALTED = "KILL_SWITCH_HALTED"
    KILL_SWITCH_REDUCING = "KILL_SWITCH_REDUCING"
    MAX_ORDER_NOTIONAL = "MAX_ORDER_NOTIONAL"
    MAX_POSITION_NOTIONAL = "MAX_POSITION_NOTIONAL"
    MAX_POSITION_PCT_EQUITY = "MAX_POSITION_PCT_EQUITY"
    MAX_GROSS_EXPOSURE = "MAX_GROSS_EXPOSURE"
    MAX_NET_EXPOSURE = "MAX_NET_EXPOSURE"
    PRICE_COLLAR = "PRICE_COLLAR"
    ORDER_RATE = "ORDER_RATE"
    STALE_MARKET_DATA = "STALE_MARKET_DATA"
    NOT_IN_UNIVERSE = "NOT_IN_UNIVERSE"
    NO_TRUSTED_PRICE = "NO_TRUSTED_PRICE"


class FillPrice(StrEnum):
    """Reference price a simulated MARKET or LIMIT order fills at (MOO/MOC use open/close)."""

    OPEN = "OPEN"
    CLOSE = "CLOSE"
    VWAP_PROXY = "VWAP_PROXY"  # (high + low + close) / 3


class RemainderPolicy(StrEnum):
    """What happens to the part of an order above the session's participation cap."""

    CARRY_OVER = "CARRY_OVER"
    CANCEL = "CANCEL"


@dataclass(frozen=True, slots=True)
class OrderRef:
    """Deterministic client reference of an order (the de-duplication key, sent as IB ``orderRef``)."""

    value: str

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """One immutable fact about an order.

    ``quantity`` and ``price`` are set for fills (shares, always positive) and for MODIFIED (new total
    quantity and new limit price).
    """

    ref: OrderRef
    kind: OrderEventType
    ts: datetime
    quantity: float = 0.0
    price: float | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution. ``quantity`` is positive; ``side`` gives the direction. Costs are in account currency."""

    ref: OrderRef
    instrument: str
    side: Side
    quantity: float
    price: float
    session: date
    ts: datetime
    commission: float = 0.0
    fees: float = 0.0
    spread_cost: float = 0.0
    impact_cost: float = 0.0

    @property
    def signed_quantity(self) -> float:
        """Shares with the sign of the side."""
        return self.quantity * self.side.sign

    @property
    def total_cost(self) -> float:
        """Commission + fees (spread and impact are already inside ``price``)."""
        return self.commission + self.fees


@dataclass(frozen=True, slots=True)
class Position:
    """Holding of one instrument: signed shares and the cost basis of those shares."""

    instrument: str
    quantity: float
    cost_basis: float

    @property
    def average_price(self) -> float:
        """Cost basis per share (0 when flat)."""
        return self.cost_basis / self.quantity if self.quantity else 0.0
