"""Portfolio limits of the optimiser: the ``portfolio:`` section of the one risk-limits file.

Every key is required and ``null`` switches a rule off, as in the RiskGate's limits: a forgotten line cannot
silently drop a constraint. Weights are fractions of equity (1.0 = 100 %). The RiskGate's ``RiskLimits`` nests this
section, so one file carries the limits of both the optimiser (targets) and the gate (orders).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from prometheus.core.config import VersionedConfig


class PortfolioLimits(VersionedConfig):
    """Constraints on target weights; ``null`` switches a rule off (except ``long_only``, a plain switch)."""

    kind: ClassVar[str] = "portfolio_limits"
    # As in RiskLimits: ``.inf`` would switch a rule off without saying so, NaN would fail every comparison.
    model_config = ConfigDict(allow_inf_nan=False)

    max_gross: float | None = Field(..., gt=0, description="Sum |w| (before regime and stability scaling).")
    max_net: float | None = Field(..., ge=0, description="|Sum w|.")
    min_net: float | None = Field(..., description="Sum w at least this (may be negative: a net-short floor).")
    max_weight: float | None = Field(..., gt=0, description="|w_i| per name.")
    max_sector: float | None = Field(..., gt=0, description="|Sum of w over a sector| (net, per sector).")
    beta_band: tuple[float, float] | None = Field(..., description="(lo, hi) of the portfolio beta sum b_i w_i.")
    max_turnover: float | None = Field(
        ..., gt=0, description="One-way turnover per rebalance: sum |w_new - w_old| / 2."
    )
    long_only: bool = Field(..., description="No short weights.")

    # Field validators (not a model validator) so an error names its key, ``portfolio.<key>`` when nested in
    # RiskLimits. Limits no portfolio can meet are configuration errors, not solver failures.
    @field_validator("min_net")
    @classmethod
    def _min_net_reachable(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is None:
            return value
        for cap in ("max_net", "max_gross"):  # net <= |net| <= gross
            bound = info.data.get(cap)
            if bound is not None and value > bound:
                raise ValueError(f"min_net {value} exceeds {cap} {bound}: no portfolio meets both")
        return value

    @field_validator("beta_band")
    @classmethod
    def _band_ordered(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and value[0] > value[1]:
            raise ValueError(f"lo {value[0]} exceeds hi {value[1]}")
        return value
