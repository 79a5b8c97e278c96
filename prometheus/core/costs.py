"""The one trading-cost model: IBKR commissions, regulatory fees, half spread and square-root impact.

The MarketSimulator (execution) charges these as realised costs; the portfolio optimiser (engines) prices trades
with the same parameters as an expectation (:meth:`CostModel.expected_cost`, and its convex form in
``prometheus.engines.portfolio.optimiser``). It lives in ``core`` because both layers need it and engines may not
import execution. Every function is vectorised over orders (NumPy arrays).
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import ClassVar

import numpy as np
from pydantic import Field, field_validator

from prometheus.core.config import VersionedConfig


class CommissionSchedule(StrEnum):
    """IBKR pricing plan for US stocks."""

    FIXED = "FIXED"
    TIERED = "TIERED"


#: IBKR tiered bands: (monthly shares up to and including, USD per share). METHODS "IBKR facts".
IBKR_TIERS: tuple[tuple[float, float], ...] = (
    (300_000, 0.0035),
    (3_000_000, 0.0020),
    (20_000_000, 0.0015),
    (100_000_000, 0.0010),
    (math.inf, 0.0005),
)


class CostConfig(VersionedConfig):
    """Parameters of the cost model (defaults: IBKR US stocks, METHODS "IBKR facts" and "Costs")."""

    kind: ClassVar[str] = "costs"

    schedule: CommissionSchedule = CommissionSchedule.TIERED
    fixed_per_share: float = Field(0.005, ge=0)
    fixed_min: float = Field(1.00, ge=0)
    tiers: tuple[tuple[float, float], ...] = IBKR_TIERS
    tiered_min: float = Field(0.35, ge=0)
    max_pct_of_value: float = Field(0.01, ge=0, description="Commission cap as a fraction of trade value.")
    clearing_per_share: float = Field(0.00020, ge=0, description="Tiered only (fixed includes it).")
    exchange_per_share: float = Field(0.0, ge=0, description="Tiered only; venue fees vary, 0 by default.")
    sec_fee_rate: float = Field(0.0000278, ge=0, description="x sale value, on sales only.")
    finra_taf_per_share: float = Field(0.000166, ge=0, description="x shares sold, on sales only.")
    finra_taf_max: float | None = Field(8.30, gt=0, description="TAF cap per trade.")
    half_spread_bps: float = Field(5.0, ge=0, description="Half the bid-ask spread, basis points of price.")
    impact_coefficient: float = Field(0.7, ge=0, description="Y in Y * sigma_daily * sqrt(Q / ADV).")
    borrow_rate_annual: float = Field(0.0025, ge=0, description="Short borrow fee, accrued daily on value.")
    borrow_day_count: int = Field(360, gt=0, description="Days per year of the borrow fee (USD: 360).")

    # A field validator (not a model validator) so the error names ``tiers`` (``costs.tiers`` when nested).
    @field_validator("tiers")
    @classmethod
    def _tiers_ascending(cls, tiers: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
        bounds = [b for b, _ in tiers]
        if not bounds or bounds != sorted(bounds) or not math.isinf(bounds[-1]):
            raise ValueError("upper bounds must ascend and the last must be infinite (.inf)")
        return tiers


class CostModel:
    """Costs of trading ``shares`` (positive) at ``price``, vectorised over orders."""

    def __init__(self, config: CostConfig) -> None:
        self.config = config
        self._bounds = np.array([b for b, _ in config.tiers], dtype=float)
        self._rates = np.array([r for _, r in config.tiers], dtype=float)

    def tier_rate(self, month_volume_before: np.ndarray) -> np.ndarray:
        """Tiered per-share rate for orders placed after ``month_volume_before`` shares this month.

        The whole order is charged at the band the month-to-date volume is in when it is placed.
        """
        band = np.searchsorted(self._bounds, np.asarray(month_volume_before, dtype=float), side="right")
        return self._rates[np.minimum(band, len(self._rates) - 1)]

    def commission(
        self, shares: np.ndarray, price: np.ndarray, month_volume_before: np.ndarray | float = 0.0
    ) -> np.ndarray:
        """Broker commission per order: rate x shares, at least the minimum, at most 1 % of value.

        Zero-share entries cost nothing. Tiered adds clearing and exchange fees per share (outside the cap).
        """
        cfg = self.config
        shares = np.abs(np.asarray(shares, dtype=float))
        value = shares * np.asarray(price, dtype=float)
        if cfg.schedule is CommissionSchedule.FIXED:
            base = np.maximum(shares * cfg.fixed_per_share, cfg.fixed_min)
            extra = 0.0
        else:
            mtd = np.broadcast_to(np.asarray(month_volume_before, dtype=float), shares.shape)
            base = np.maximum(shares * self.tier_rate(mtd), cfg.tiered_min)
            extra = shares * (cfg.clearing_per_share + cfg.exchange_per_share)
        out = np.minimum(base, value * cfg.max_pct_of_value) + extra
        return np.where(shares > 0, out, 0.0)

    def regulatory_fees(self, shares: np.ndarray, price: np.ndarray, is_sale: np.ndarray) -> np.ndarray:
        """SEC fee on sale value plus FINRA TAF on shares sold (capped per trade); buys pay none."""
        cfg = self.config
        shares = np.abs(np.asarray(shares, dtype=float))
        sec = shares * np.asarray(price, dtype=float) * cfg.sec_fee_rate
        taf = shares * cfg.finra_taf_per_share
        if cfg.finra_taf_max is not None:
            taf = np.minimum(taf, cfg.finra_taf_max)
        return np.where(np.asarray(is_sale, dtype=bool), sec + taf, 0.0)

    def impact_fraction(self, shares: np.ndarray, adv: np.ndarray, sigma_daily: np.ndarray) -> np.ndarray:
        """Square-root impact as a fraction of price: Y * sigma_daily * sqrt(Q / ADV) (0 where ADV is unknown)."""
        adv = np.asarray(adv, dtype=float)
        ok = np.isfinite(adv) & (adv > 0)
        ratio = np.where(ok, np.abs(shares) / np.where(ok, adv, 1.0), 0.0)
        sigma = np.nan_to_num(np.asarray(sigma_daily, dtype=float), nan=0.0)
        return self.config.impact_coefficient * sigma * np.sqrt(ratio)

    def slippage_fraction(self, shares: np.ndarray, adv: np.ndarray, sigma_daily: np.ndarray) -> np.ndarray:
        """Half spread plus impact, as a fraction of price (what a market order pays over the mid)."""
        return self.config.half_spread_bps / 1e4 + self.impact_fraction(shares, adv, sigma_daily)

    def expected_cost(
        self,
        trade_shares: np.ndarray,
        price: np.ndarray,
        adv: np.ndarray,
        sigma_daily: np.ndarray,
        month_volume_before: np.ndarray | float = 0.0,
    ) -> np.ndarray:
        """Expected total cost in currency of signed trades: spread + impact + commission + fees (for optimisers)."""
        trade = np.asarray(trade_shares, dtype=float)
        price = np.asarray(price, dtype=float)
        shares = np.abs(trade)
        slip = shares * price * self.slippage_fraction(shares, adv, sigma_daily)
        return (
            slip + self.commission(shares, price, month_volume_before) + self.regulatory_fees(shares, price, trade < 0)
        )

    def borrow_fee(self, short_value: np.ndarray | float, days: np.ndarray | float) -> np.ndarray:
        """Borrow fee on the absolute value of short positions over ``days`` calendar days."""
        cfg = self.config
        return np.abs(np.asarray(short_value, dtype=float)) * cfg.borrow_rate_annual * days / cfg.borrow_day_count
