"""The order lifecycle as a transition table ``(status, event) -> status`` and the :class:`Order` it drives."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Final

from prometheus.core.errors import BrokerError, IllegalTransition
from prometheus.execution.types import (
    OrderEvent,
    OrderEventType,
    OrderIntent,
    OrderRef,
    OrderStatus,
    OrderType,
    Side,
)

S = OrderStatus
E = OrderEventType

#: Placeholder target: back to the working status, SUBMITTED if nothing is filled yet, else PARTIALLY_FILLED.
WORKING: Final = "WORKING"

#: Every legal transition. Anything absent raises :class:`IllegalTransition`.
TRANSITIONS: Final[dict[tuple[OrderStatus, OrderEventType], OrderStatus | str]] = {
    (S.NEW, E.SUBMIT): S.SUBMITTED,
    (S.NEW, E.REJECT): S.REJECTED,  # refused before it left us (RiskGate)
    (S.NEW, E.CANCELLED): S.CANCELLED,  # withdrawn before sending
    (S.SUBMITTED, E.ACCEPT): S.SUBMITTED,  # acknowledgement only: the order keeps working
    (S.SUBMITTED, E.REJECT): S.REJECTED,
    (S.SUBMITTED, E.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.SUBMITTED, E.FILL): S.FILLED,
    (S.SUBMITTED, E.MODIFY_REQUEST): S.PENDING_MODIFY,
    (S.SUBMITTED, E.CANCEL_REQUEST): S.PENDING_CANCEL,
    (S.SUBMITTED, E.CANCELLED): S.CANCELLED,  # unsolicited: the venue or the broker cancelled it
    (S.SUBMITTED, E.EXPIRE): S.CANCELLED,
    (S.PARTIALLY_FILLED, E.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, E.FILL): S.FILLED,
    (S.PARTIALLY_FILLED, E.MODIFY_REQUEST): S.PENDING_MODIFY,
    (S.PARTIALLY_FILLED, E.CANCEL_REQUEST): S.PENDING_CANCEL,
    (S.PARTIALLY_FILLED, E.CANCELLED): S.CANCELLED,  # remainder cancelled (participation policy CANCEL)
    (S.PARTIALLY_FILLED, E.EXPIRE): S.CANCELLED,
    (S.PENDING_MODIFY, E.MODIFIED): WORKING,
    (S.PENDING_MODIFY, E.MODIFY_REJECT): WORKING,
    # A fill can race the modify request: the order stays pending until the broker answers.
    (S.PENDING_MODIFY, E.PARTIAL_FILL): S.PENDING_MODIFY,
    (S.PENDING_MODIFY, E.FILL): S.FILLED,
    (S.PENDING_MODIFY, E.CANCEL_REQUEST): S.PENDING_CANCEL,
    (S.PENDING_MODIFY, E.CANCELLED): S.CANCELLED,
    (S.PENDING_MODIFY, E.EXPIRE): S.CANCELLED,
    (S.PENDING_CANCEL, E.CANCELLED): S.CANCELLED,
    (S.PENDING_CANCEL, E.CANCEL_REJECT): WORKING,  # too late to cancel: it keeps working
    (S.PENDING_CANCEL, E.PARTIAL_FILL): S.PENDING_CANCEL,  # fill racing the cancel
    (S.PENDING_CANCEL, E.FILL): S.FILLED,  # filled before the cancel arrived
    (S.PENDING_CANCEL, E.EXPIRE): S.CANCELLED,
    # Real-world oddity: an execution report can arrive after the cancel confirmation (IB sends executions
    # and order status on separate streams). The fill is booked; a complete fill makes the order FILLED.
    (S.CANCELLED, E.PARTIAL_FILL): S.CANCELLED,
    (S.CANCELLED, E.FILL): S.FILLED,
}

_FILL_EVENTS: Final = frozenset({E.PARTIAL_FILL, E.FILL})
_QTY_TOL: Final = 1e-9


def next_status(status: OrderStatus, kind: OrderEventType, filled_quantity: float = 0.0) -> OrderStatus:
    """Look up the status after ``kind`` in ``status``.

    Raises
    ------
    IllegalTransition
        The pair is not in :data:`TRANSITIONS`.
    """
    target = TRANSITIONS.get((status, kind))
    if target is None:
        raise IllegalTransition(f"order event {kind} is not allowed in status {status}")
    if target == WORKING:
        return S.PARTIALLY_FILLED if filled_quantity > 0 else S.SUBMITTED
    return OrderStatus(target)


@dataclass(slots=True, eq=False)
class Order:
    """An order: its request fields plus lifecycle state changed only by :meth:`apply`.

    ``quantity`` is the total number of shares wanted (positive); ``session`` is the session it trades in.
    """

    ref: OrderRef
    instrument: str
    side: Side
    quantity: float
    order_type: OrderType
    session: date
    limit_price: float | None = None
    intent: OrderIntent = OrderIntent.REBALANCE
    status: OrderStatus = S.NEW
    filled_quantity: float = 0.0
    average_fill_price: float = 0.0
    events: list[OrderEvent] = field(default_factory=list)

    @property
    def remaining(self) -> float:
        """Shares still to fill (0 once the order is no longer working)."""
        return 0.0 if self.status.is_terminal else max(self.quantity - self.filled_quantity, 0.0)

    @property
    def signed_quantity(self) -> float:
        """Total shares with the sign of the side."""
        return self.quantity * self.side.sign

    def apply(self, event: OrderEvent) -> OrderStatus:
        """Apply one event, append it to :attr:`events` and return the new status.

        Raises
        ------
        IllegalTransition
            The event is not allowed in the current status (the order is unchanged).
        BrokerError
            The event belongs to another order, or a fill exceeds the order quantity.
        """
        if event.ref != self.ref:
            raise BrokerError(f"event for {event.ref} applied to order {self.ref}")
        new_status = next_status(self.status, event.kind, self.filled_quantity)
        if event.kind in _FILL_EVENTS:
            self._book_fill(event)
        elif event.kind is E.MODIFIED:
            self._book_modify(event)
        self.status = new_status
        self.events.append(event)
        return new_status

    def _book_fill(self, event: OrderEvent) -> None:
        filled = self.filled_quantity + event.quantity
        if event.quantity <= 0 or filled > self.quantity * (1 + _QTY_TOL) + _QTY_TOL:
            raise BrokerError(
                f"order {self.ref}: fill of {event.quantity} with {self.filled_quantity} of "
                f"{self.quantity} already filled"
            )
        complete = filled >= self.quantity * (1 - _QTY_TOL) - _QTY_TOL
        if (event.kind is E.FILL) != complete:
            raise BrokerError(
                f"order {self.ref}: {event.kind} of {event.quantity} leaves "
                f"{self.quantity - filled} of {self.quantity} open"
            )
        price = event.price if event.price is not None else 0.0
        self.average_fill_price = (self.average_fill_price * self.filled_quantity + price * event.quantity) / filled
        self.filled_quantity = filled

    def _book_modify(self, event: OrderEvent) -> None:
        if event.quantity:
            if event.quantity < self.filled_quantity:
                raise BrokerError(
                    f"order {self.ref}: new quantity {event.quantity} is below filled {self.filled_quantity}"
                )
            self.quantity = event.quantity
        if event.price is not None:
            self.limit_price = event.price
