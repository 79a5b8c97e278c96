"""OrderPlanner: target weights + positions + prices + ADV -> orders with deterministic references."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import ClassVar

import numpy as np
from pydantic import Field, ValidationInfo, field_validator

from prometheus.core.config import VersionedConfig
from prometheus.core.errors import DataError
from prometheus.execution.state_machine import Order
from prometheus.execution.types import OrderIntent, OrderRef, OrderType, Side


class PlannerConfig(VersionedConfig):
    """How target weights become orders."""

    kind: ClassVar[str] = "planner"

    order_type: OrderType = Field(OrderType.MOO, description="MOO, MOC, LIMIT (with collar) or MARKET.")
    limit_collar_bps: float = Field(
        50.0, ge=0, description="LIMIT orders: limit = price x (1 +/- collar), buys above, sells below."
    )
    fractional_shares: bool = Field(False, description="Allow fractional shares (backtests, cross-checks).")
    lot_size: int = Field(1, ge=1, description="Whole-share lots when fractional_shares is off.")
    min_notional: float = Field(0.0, ge=0, description="Drop orders below this value (account currency).")
    max_participation: float | None = Field(
        None, gt=0, le=1, description="Cap |order| at this fraction of ADV (shares); None = no cap."
    )

    # A field validator (not a model validator) so a bad collar is reported under its own key.
    @field_validator("limit_collar_bps")
    @classmethod
    def _limit_needs_collar(cls, value: float, info: ValidationInfo) -> float:
        if info.data.get("order_type") is OrderType.LIMIT and value <= 0:
            raise ValueError("LIMIT orders need a positive collar")
        return value


@dataclass(frozen=True, slots=True)
class PlanningInput:
    """One session's inputs, aligned by position with ``instruments``.

    ``positions`` are signed shares, ``prices`` the last trusted prices, ``adv`` average daily volume in
    shares (may be None when no participation cap is configured), ``equity`` the account value the weights
    refer to, ``account`` the experiment id (backtest) or account id (paper/live).
    """

    account: str
    session: date
    instruments: Sequence[str]
    target_weights: np.ndarray
    positions: np.ndarray
    prices: np.ndarray
    equity: float
    adv: np.ndarray | None = None
    intent: OrderIntent = OrderIntent.REBALANCE

    @classmethod
    def from_mappings(
        cls,
        account: str,
        session: date,
        *,
        target_weights: Mapping[str, float],
        positions: Mapping[str, float],
        prices: Mapping[str, float],
        equity: float,
        adv: Mapping[str, float] | None = None,
    ) -> PlanningInput:
        """Align dictionaries by instrument (held names without a target are sold down to zero)."""
        names = sorted(set(target_weights) | {k for k, v in positions.items() if v})
        missing = [n for n in names if n not in prices]
        if missing:
            raise DataError(f"no price for {missing}", field="prices")
        return cls(
            account=account,
            session=session,
            instruments=names,
            target_weights=np.array([target_weights.get(n, 0.0) for n in names], dtype=float),
            positions=np.array([positions.get(n, 0.0) for n in names], dtype=float),
            prices=np.array([prices[n] for n in names], dtype=float),
            equity=float(equity),
            adv=None if adv is None else np.array([adv.get(n, 0.0) for n in names], dtype=float),
        )


def order_ref(account: str, session: date, instrument: str, intent: OrderIntent) -> OrderRef:
    """Deterministic reference of the order for (account, session, instrument, intent)."""
    key = f"{account}|{session.isoformat()}|{instrument}|{intent.value}"
    return OrderRef(hashlib.sha256(key.encode()).hexdigest()[:24])


class OrderPlanner:
    """Turns target weights into orders; pure (no I/O, no clock)."""

    def __init__(self, config: PlannerConfig) -> None:
        self.config = config

    def trade_quantities(self, plan: PlanningInput) -> np.ndarray:
        """Signed shares to trade per instrument after rounding, participation cap and minimum notional.

        Raises
        ------
        DataError
            A non-finite or non-positive price where a trade is needed.
        """
        cfg = self.config
        prices = np.asarray(plan.prices, dtype=float)
        weights = np.asarray(plan.target_weights, dtype=float)
        current = np.asarray(plan.positions, dtype=float)
        valid = np.isfinite(prices) & (prices > 0)
        needs = (weights != 0) | (current != 0)
        bad = needs & ~valid & (weights != 0)
        if bad.any():
            name = plan.instruments[int(np.flatnonzero(bad)[0])]
            raise DataError(f"no usable price for {name} (target weight set)", field="prices")
        safe = np.where(valid, prices, 1.0)
        target = np.where(valid, weights * plan.equity / safe, current)
        trade = _round_to_lots(target, cfg) - current if not cfg.fractional_shares else target - current
        if cfg.max_participation is not None:
            if plan.adv is None:
                raise DataError("max_participation is set but no ADV was given", field="adv")
            adv = np.nan_to_num(np.asarray(plan.adv, dtype=float), nan=0.0)
            cap = _round_to_lots(np.maximum(adv, 0.0) * cfg.max_participation, cfg)
            trade = np.clip(trade, -cap, cap)
        trade[np.abs(trade) * safe < max(cfg.min_notional, 1e-12)] = 0.0
        trade[~valid] = 0.0
        return trade

    def plan(self, plan: PlanningInput) -> list[Order]:
        """Orders for one session, in instrument order; planning the same input twice gives equal refs."""
        trade = self.trade_quantities(plan)
        cfg = self.config
        collar = cfg.limit_collar_bps / 1e4
        orders: list[Order] = []
        for i in np.flatnonzero(trade):
            qty = float(trade[i])
            side = Side.BUY if qty > 0 else Side.SELL
            limit = None
            if cfg.order_type is OrderType.LIMIT:
                limit = float(plan.prices[i]) * (1 + collar if qty > 0 else 1 - collar)
            name = plan.instruments[i]
            orders.append(
                Order(
                    ref=order_ref(plan.account, plan.session, name, plan.intent),
                    instrument=name,
                    side=side,
                    quantity=abs(qty),
                    order_type=cfg.order_type,
                    session=plan.session,
                    limit_price=limit,
                    intent=plan.intent,
                )
            )
        return orders


def _round_to_lots(shares: np.ndarray, cfg: PlannerConfig) -> np.ndarray:
    # Toward zero, so a rounded target never holds more than its weight asks for.
    if cfg.fractional_shares:
        return shares
    return np.trunc(shares / cfg.lot_size) * cfg.lot_size
