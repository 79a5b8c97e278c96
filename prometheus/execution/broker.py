"""The contract every broker (backtest, paper, live) implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from prometheus.execution.state_machine import Order
from prometheus.execution.types import Fill, OrderEvent, OrderRef, Position


@runtime_checkable
class Broker(Protocol):
    """What the platform needs from a broker.

    Rules every implementation keeps:

    - ``submit`` is idempotent by :class:`OrderRef`: an order whose ref the broker already knows (a resend
      after a crash) is not sent again; the known order is returned instead.
    - Order status changes only through :meth:`Order.apply` with an event that is also returned by
      :meth:`order_events`, so the event log replays to the current state.
    - Quantities in fills and orders are positive share counts; positions are signed.
    """

    def submit(self, order: Order) -> Order:
        """Send ``order`` (or return the known order with the same ref)."""
        ...

    def modify(self, ref: OrderRef, *, quantity: float | None = None, limit_price: float | None = None) -> Order:
        """Change the total quantity and/or the limit price of a working order."""
        ...

    def cancel(self, ref: OrderRef) -> Order:
        """Ask to cancel a working order."""
        ...

    def open_orders(self) -> list[Order]:
        """Orders that are still working."""
        ...

    def order_events(self, since: int = 0) -> Sequence[OrderEvent]:
        """Every order event in arrival order, from position ``since``."""
        ...

    def fills(self, since: int = 0) -> Sequence[Fill]:
        """Every fill in arrival order, from position ``since``."""
        ...

    def positions(self) -> dict[str, Position]:
        """Non-zero positions by instrument."""
        ...

    def cash(self) -> float:
        """Cash balance in account currency."""
        ...
