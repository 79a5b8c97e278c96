"""BacktestConfig: how target portfolios become simulated trades (planner, simulator and costs, risk limits)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, field_validator

from prometheus.core.config import VersionedConfig
from prometheus.engines.portfolio.config import PortfolioConfig
from prometheus.execution.planner import PlannerConfig
from prometheus.execution.risk_limits import RiskLimits
from prometheus.execution.simulator import SimulatorConfig
from prometheus.execution.types import OrderType, RemainderPolicy


def default_planner() -> PlannerConfig:
    """Market-on-open orders for the session after the decision; orders under 100 (currency) are not worth sending."""
    return PlannerConfig(order_type=OrderType.MOO, min_notional=100.0)


def default_simulator() -> SimulatorConfig:
    """Default fills and costs, with unfilled remainders cancelled at the session's end (see BacktestConfig)."""
    return SimulatorConfig(remainder=RemainderPolicy.CANCEL)


def default_limits() -> RiskLimits:
    """The RiskGate limits of the example risk-limits file (docs/risk_limits.example.yaml) for a 1M account, with
    two differences that only make sense in a simulation: no order-rate limit (a simulated batch has no message
    rate; live pacing belongs to the submitter) and the portfolio section of the default portfolio config."""
    return RiskLimits(
        max_order_notional=250_000.0,
        max_position_notional=1_000_000.0,
        max_position_pct_equity=0.10,
        max_gross_exposure=1.5,
        max_net_exposure=1.0,
        price_collar_pct=0.05,
        max_orders_per_second=None,
        max_quote_age_seconds=93_600.0,
        enforce_universe=True,
        max_drawdown=0.20,
        max_daily_loss=0.05,
        portfolio=PortfolioConfig().limits,
    )


class BacktestConfig(VersionedConfig):
    """Everything between a target portfolio and the daily results; any change is a new ``config_version``.

    The state carried from one session to the next is the account's positions and cash alone: remainders above the
    participation cap are cancelled at the session's end (``simulator.remainder = CANCEL``, enforced), and the next
    rebalance plans from what is held. So a partition of one session and a partition of a month give the same
    results, which is what lets PAPER/LIVE and BACKTEST share the asset.
    """

    kind: ClassVar[str] = "backtest"

    initial_capital: float = Field(1_000_000.0, gt=0, description="Cash at the start (account currency).")
    planner: PlannerConfig = Field(default_factory=default_planner, description="Orders from target weights.")
    simulator: SimulatorConfig = Field(default_factory=default_simulator, description="Fills and costs.")
    limits: RiskLimits = Field(default_factory=default_limits, description="RiskGate limits of every order.")
    baseline: bool = Field(True, description="Run the 1/N baseline over the same universe beside the strategy.")
    kill_switch: bool = Field(
        False,
        description="Apply the drawdown and daily-loss trips as live would: once tripped the breach state holds to "
        "the end (no human resumes a backtest). Off by default so research runs show the whole path.",
    )
    adv_window: int = Field(20, ge=2, description="Sessions of trailing volume behind ADV and impact volatility.")

    @field_validator("simulator")
    @classmethod
    def _remainders_cancel(cls, value: SimulatorConfig) -> SimulatorConfig:
        if value.remainder is not RemainderPolicy.CANCEL:
            raise ValueError("backtests cancel unfilled remainders (remainder: CANCEL); see BacktestConfig")
        return value
