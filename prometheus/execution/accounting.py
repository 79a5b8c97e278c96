"""Ledger: vectorised positions, cost basis, cash, realised P&L and cost totals of one account."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Cost categories kept by the ledger. Spread and impact are inside fill prices (already in cash);
#: commission, fees and borrow are charged to cash separately.
COST_KINDS: tuple[str, ...] = ("commission", "fees", "spread", "impact", "borrow")


@dataclass
class Ledger:
    """Account state over ``n`` instruments. Quantities are signed shares; ``cost_basis`` is signed currency
    (quantity x average entry price), so ``unrealised = quantity x price - cost_basis``."""

    n: int
    cash: float
    quantity: np.ndarray = field(init=False)
    cost_basis: np.ndarray = field(init=False)
    realised: np.ndarray = field(init=False)
    costs: dict[str, float] = field(init=False)
    dividends: float = 0.0

    def __post_init__(self) -> None:
        self.quantity = np.zeros(self.n)
        self.cost_basis = np.zeros(self.n)
        self.realised = np.zeros(self.n)
        self.costs = dict.fromkeys(COST_KINDS, 0.0)

    def book_fills(self, col: np.ndarray, signed_qty: np.ndarray, price: np.ndarray) -> None:
        """Apply fills in order: cash pays the trade value (commission and fees go through :meth:`charge`).

        Several fills of one instrument are applied in sequence (average cost, realised on reductions).
        """
        self.cash -= float(np.dot(signed_qty, price))
        col, signed_qty, price = np.asarray(col), np.asarray(signed_qty), np.asarray(price)
        while col.size:
            _, first = np.unique(col, return_index=True)
            self._book_unique(col[first], signed_qty[first], price[first])
            rest = np.ones(col.size, dtype=bool)
            rest[first] = False
            col, signed_qty, price = col[rest], signed_qty[rest], price[rest]

    def _book_unique(self, col: np.ndarray, d: np.ndarray, p: np.ndarray) -> None:
        pos0, cb0 = self.quantity[col], self.cost_basis[col]
        pos1 = pos0 + d
        adding = (pos0 == 0) | (np.sign(pos0) == np.sign(d))
        safe0 = np.where(pos0 == 0, 1.0, pos0)
        closed = np.where(adding, 0.0, np.minimum(np.abs(d), np.abs(pos0)))
        self.realised[col] += closed * (p - cb0 / safe0) * np.sign(pos0)
        flipped = ~adding & (np.abs(d) > np.abs(pos0))
        self.cost_basis[col] = np.where(adding, cb0 + d * p, np.where(flipped, pos1 * p, cb0 * pos1 / safe0))
        self.quantity[col] = pos1

    def split(self, col: np.ndarray, ratio: np.ndarray) -> None:
        """``ratio`` new shares per old share; the cost basis (total) is unchanged, per share it divides."""
        self.quantity[col] *= ratio

    def dividend(self, col: np.ndarray, amount: np.ndarray) -> float:
        """Cash dividend per share at the ex-date: longs credited, shorts debited; returns the cash flow."""
        flow = float(np.dot(self.quantity[col], amount))
        self.cash += flow
        self.dividends += flow
        return flow

    def charge(self, kind: str, amount: float) -> None:
        """Debit a cost from cash (commission, fees, borrow)."""
        self.cash -= amount
        self.costs[kind] += amount

    def note(self, kind: str, amount: float) -> None:
        """Record a cost already paid inside a fill price (spread, impact)."""
        self.costs[kind] += amount

    def market_value(self, prices: np.ndarray) -> float:
        """Sum of quantity x price (NaN prices count as 0 only where the quantity is 0)."""
        held = self.quantity != 0
        return float(np.dot(self.quantity[held], prices[held]))

    def equity(self, prices: np.ndarray) -> float:
        """Cash + sum of quantity x price."""
        return self.cash + self.market_value(prices)

    def unrealised(self, prices: np.ndarray) -> float:
        """Sum of quantity x price - cost basis over held names."""
        held = self.quantity != 0
        return float(np.dot(self.quantity[held], prices[held]) - self.cost_basis[held].sum())
