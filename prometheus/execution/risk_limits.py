"""Risk limits of the RiskGate, the kill switch and the portfolio optimiser, read from one YAML file (unknown keys
are errors)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import ConfigDict, Field, field_validator

from prometheus.core.config import VersionedConfig
from prometheus.core.errors import ConfigError
from prometheus.core.settings import Settings
from prometheus.core.types import Mode
from prometheus.engines.portfolio.limits import PortfolioLimits
from prometheus.execution.types import TradingState

#: States a tripped drawdown or daily-loss limit may set: both stop new risk.
BREACH_STATES = (TradingState.HALTED, TradingState.REDUCING)


class RiskLimits(VersionedConfig):
    """Every limit must be written in the file; ``null`` switches a rule off explicitly.

    Requiring every key means a forgotten line cannot silently disable a check. Exposures and the position
    share are fractions of equity (1.0 = 100 %); notionals are in account currency. Load a file with
    ``RiskLimits.from_yaml(path)``; ``config_version`` identifies the limits in force. The required ``portfolio``
    section holds the optimiser's limits on target weights (:class:`PortfolioLimits`), so the limits the targets are
    built under and the limits their orders are checked against live in one file with one version.
    """

    kind: ClassVar[str] = "risk_limits"
    # ``.inf`` passes every ``gt=0`` bound and would switch a rule off without saying so (``null`` is the way
    # to switch one off); NaN fails every comparison a rule makes. Both are errors.
    model_config = ConfigDict(allow_inf_nan=False)

    max_order_notional: float | None = Field(..., gt=0, description="|quantity| x price of one order.")
    max_position_notional: float | None = Field(..., gt=0, description="|position after the order| x price.")
    max_position_pct_equity: float | None = Field(..., gt=0, description="Position value / equity.")
    max_gross_exposure: float | None = Field(..., gt=0, description="Sum |position value| / equity.")
    max_net_exposure: float | None = Field(..., gt=0, description="|Sum position value| / equity.")
    price_collar_pct: float | None = Field(..., gt=0, description="|limit / last trusted price - 1|.")
    max_orders_per_second: int | None = Field(..., gt=0, description="Orders passed in any 1 s window.")
    max_quote_age_seconds: float | None = Field(..., gt=0, description="Age of the last trusted price.")
    enforce_universe: bool = Field(..., description="Reject orders that grow a position outside the universe.")
    max_drawdown: float | None = Field(..., gt=0, lt=1, description="Equity below peak, fraction; trips.")
    max_daily_loss: float | None = Field(..., gt=0, lt=1, description="Loss since the session start; trips.")
    portfolio: PortfolioLimits = Field(..., description="Limits of the portfolio optimiser's target weights.")
    breach_state: TradingState = Field(
        TradingState.HALTED, description="Kill-switch state set when a drawdown or daily-loss limit trips."
    )

    @field_validator("breach_state")
    @classmethod
    def _breach_state_stops_trading(cls, value: TradingState) -> TradingState:
        # ACTIVE here would make the drawdown and daily-loss trips do nothing while looking configured.
        if value not in BREACH_STATES:
            allowed = " or ".join(s.value for s in BREACH_STATES)
            raise ValueError(f"{value.value} would leave trading on when a limit trips; use {allowed}")
        return value


def risk_limits_from_settings(settings: Settings) -> RiskLimits:
    """The limits named by ``settings.risk_limits_file``.

    Raises
    ------
    ConfigError
        No file is configured (``PROMETHEUS_RISK_LIMITS_FILE``) or the file is invalid.
    """
    if settings.risk_limits_file is None:
        raise ConfigError(
            "no risk limits: set PROMETHEUS_RISK_LIMITS_FILE (see docs/risk_limits.example.yaml)",
            setting="PROMETHEUS_RISK_LIMITS_FILE",
        )
    return RiskLimits.from_yaml(settings.risk_limits_file)


def risk_limits_problems(settings: Settings) -> list[ConfigError]:
    """Every problem of the risk limits ``settings`` name (empty: valid, or none needed).

    The file is parsed and validated as :func:`risk_limits_from_settings` would load it, listing each bad key.
    PAPER and LIVE trade through the RiskGate, so there a missing ``PROMETHEUS_RISK_LIMITS_FILE`` is a problem;
    a backtest may run without one.
    """
    if settings.risk_limits_file is not None:
        return RiskLimits.yaml_problems(settings.risk_limits_file)
    if settings.mode in (Mode.PAPER, Mode.LIVE):
        return [
            ConfigError(
                f"PROMETHEUS_RISK_LIMITS_FILE: {settings.mode.value} trades through the RiskGate and needs risk "
                "limits; set it (see docs/risk_limits.example.yaml)",
                setting="PROMETHEUS_RISK_LIMITS_FILE",
            )
        ]
    return []
