"""Typed config of the Portfolio & Risk engine (frozen, unknown keys rejected, content-hashed)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from prometheus.core.config import VersionedConfig
from prometheus.engines.portfolio.limits import PortfolioLimits
from prometheus.engines.portfolio.optimiser import OptimiserConfig
from prometheus.engines.portfolio.risk_model import RiskModelConfig


def default_limits() -> PortfolioLimits:
    """Limits of a long-only equity book: fully invested at most, 5 % a name, 30 % a sector, 20 % one-way a session."""
    return PortfolioLimits(
        max_gross=1.0,
        max_net=1.0,
        min_net=0.0,
        max_weight=0.05,
        max_sector=0.3,
        beta_band=None,
        max_turnover=0.2,
        long_only=True,
    )


class PortfolioConfig(VersionedConfig):
    """Risk model, optimiser and limits of the engine; any change is a new ``config_version``.

    Targets depend on the previous session's weights (turnover cap, costs), so a run walks ``warmup_sessions``
    sessions before its first decided session from cash (or from ``previous`` handed to the engine), each decided
    from the data known at its own decision time, and returns only the sessions asked for. In a backtest the
    limits are the engine's own; a PAPER/LIVE run reads them from the ``portfolio:`` section of the risk-limits file
    and its starting book from the broker's holdings (issues 20/22).
    """

    kind: ClassVar[str] = "portfolio_engine"

    risk: RiskModelConfig = Field(default_factory=RiskModelConfig)
    optimiser: OptimiserConfig = Field(default_factory=OptimiserConfig)
    limits: PortfolioLimits = Field(default_factory=default_limits)
    equity: float = Field(1e7, gt=0, description="Notional equity the trading costs are scaled to.")
    rebalance_every: int = Field(1, ge=1, description="Sessions between risk-model re-estimates and rebalances.")
    warmup_sessions: int = Field(20, ge=0, description="Sessions walked before the first decision (from cash).")
    adv_window: int = Field(20, ge=1, description="Sessions of the median dollar volume behind ADV.")

    @property
    def data_window(self) -> int:
        """Rows of returns behind one session's risk model (and ADV)."""
        return max(self.risk.window, self.adv_window)

    @property
    def lookback_sessions(self) -> int:
        """Sessions of history needed before the first decision."""
        return self.warmup_sessions + self.data_window
