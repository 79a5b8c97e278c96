"""MarketSimulator: fills a session's working orders against its bars, vectorised over orders.

Fill price = reference price (open, close or (H+L+C)/3) moved against the order by half the spread and by
square-root impact Y * sigma_daily * sqrt(Q / ADV). Per order and session at most ``max_participation`` of the
session's volume fills; the rest carries over or is cancelled by policy. Nothing fills on a session without
volume, without a price, or when the name is halted or delisted. A limit order fills only when the session's
range trades through its limit, never at a worse price than the limit. Deterministic: no randomness.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from pydantic import Field

from prometheus.core.config import VersionedConfig
from prometheus.core.costs import CostConfig, CostModel
from prometheus.execution.market_data import MarketPanel
from prometheus.execution.types import FillPrice, OrderType, RemainderPolicy

#: Reference-price codes of :class:`OrderBatch.kind`.
AT_OPEN, AT_CLOSE, AT_CONFIGURED = 0, 1, 2


class SimulatorConfig(VersionedConfig):
    """How the simulator fills; ``costs=None`` turns every cost off (commission, fees, spread, impact, borrow).

    The cost config is nested, so the simulator's version changes with any cost parameter.
    """

    kind: ClassVar[str] = "simulator"

    fill_price: FillPrice = Field(FillPrice.OPEN, description="Reference price of MARKET and LIMIT orders.")
    max_participation: float | None = Field(0.1, gt=0, le=1, description="Of the session's volume, per order.")
    remainder: RemainderPolicy = RemainderPolicy.CARRY_OVER
    whole_shares: bool = Field(True, description="Round participation-capped quantities down to whole shares.")
    costs: CostConfig | None = Field(default_factory=CostConfig)


def price_code(order_type: OrderType) -> int:
    """Reference-price code of an order type: MOO at the open, MOC at the close, others as configured."""
    if order_type is OrderType.MOO:
        return AT_OPEN
    if order_type is OrderType.MOC:
        return AT_CLOSE
    return AT_CONFIGURED


@dataclass(frozen=True, slots=True)
class OrderBatch:
    """Working orders of one session as arrays: instrument column, side sign (+1/-1), remaining shares,
    reference-price code and limit price (NaN for none)."""

    col: np.ndarray
    sign: np.ndarray
    remaining: np.ndarray
    kind: np.ndarray
    limit: np.ndarray


@dataclass(frozen=True, slots=True)
class MatchResult:
    """Per order of the batch: filled shares (0 = no fill), fill price and its costs in currency."""

    quantity: np.ndarray
    price: np.ndarray
    commission: np.ndarray
    fees: np.ndarray
    spread_cost: np.ndarray
    impact_cost: np.ndarray


class MarketSimulator:
    """Matches :class:`OrderBatch` es against the bars of a :class:`MarketPanel`."""

    def __init__(self, config: SimulatorConfig, panel: MarketPanel) -> None:
        self.config = config
        self.panel = panel
        self.costs = CostModel(config.costs) if config.costs is not None else None

    def reference_prices(self, s: int, batch: OrderBatch) -> np.ndarray:
        """The price each order trades at before spread and impact."""
        p = self.panel
        c = batch.col
        configured = {
            FillPrice.OPEN: p.open[s, c],
            FillPrice.CLOSE: p.close[s, c],
            FillPrice.VWAP_PROXY: (p.high[s, c] + p.low[s, c] + p.close[s, c]) / 3.0,
        }[self.config.fill_price]
        return np.select([batch.kind == AT_OPEN, batch.kind == AT_CLOSE], [p.open[s, c], p.close[s, c]], configured)

    def fillable_quantity(self, s: int, batch: OrderBatch) -> np.ndarray:
        """Shares each order can fill this session before price checks (volume, halts, participation)."""
        p = self.panel
        volume = np.nan_to_num(p.volume[s, batch.col], nan=0.0)
        qty = np.where(p.tradable[s, batch.col] & (volume > 0), batch.remaining, 0.0)
        cap = self.config.max_participation
        if cap is not None:
            limit = volume * cap
            if self.config.whole_shares:
                limit = np.floor(limit)
            qty = np.minimum(qty, limit)
        return qty

    def match(self, s: int, batch: OrderBatch, month_volume_before: float = 0.0) -> MatchResult:
        """Fill ``batch`` on session index ``s``; ``month_volume_before`` feeds the tiered commission bands."""
        p = self.panel
        ref = self.reference_prices(s, batch)
        qty = self.fillable_quantity(s, batch)
        has_limit = np.isfinite(batch.limit)
        buy = batch.sign > 0
        low, high = p.low[s, batch.col], p.high[s, batch.col]
        through = np.where(buy, low < batch.limit, high > batch.limit)
        base = np.where(has_limit, np.where(buy, np.minimum(ref, batch.limit), np.maximum(ref, batch.limit)), ref)
        qty = np.where((~has_limit | through) & np.isfinite(base) & (base > 0), qty, 0.0)
        zeros = np.zeros_like(qty)
        if self.costs is None:
            return MatchResult(qty, np.where(qty > 0, base, np.nan), zeros, zeros, zeros, zeros)
        half = self.costs.config.half_spread_bps / 1e4
        impact = self.costs.impact_fraction(qty, p.adv[s, batch.col], p.sigma[s, batch.col])
        price = base * (1.0 + batch.sign * (half + impact))
        # A limit is never breached: what the cap removes comes off impact first, then spread.
        price = np.where(
            has_limit, np.where(buy, np.minimum(price, batch.limit), np.maximum(price, batch.limit)), price
        )
        # Unfilled orders cost nothing: without a price (a name without a bar that session) base is NaN, and
        # NaN x 0 shares would be a NaN cost that turns the account's cumulative spread and impact NaN for good.
        filled = qty > 0
        slip = np.where(filled, np.abs(price - base) * qty, 0.0)
        spread_cost = np.where(filled, np.minimum(qty * base * half, slip), 0.0)
        mtd = month_volume_before + np.concatenate(([0.0], np.cumsum(qty)[:-1]))
        commission = self.costs.commission(qty, price, mtd)
        fees = self.costs.regulatory_fees(qty, price, ~buy & (qty > 0))
        return MatchResult(qty, np.where(qty > 0, price, np.nan), commission, fees, spread_cost, slip - spread_cost)
