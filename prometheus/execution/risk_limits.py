"""Risk limits of the RiskGate and the kill switch, read from a YAML file (unknown keys are errors)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from prometheus.core.errors import ConfigError
from prometheus.core.settings import Settings
from prometheus.execution.types import TradingState


class RiskLimits(BaseModel):
    """Every limit must be written in the file; ``null`` switches a rule off explicitly.

    Requiring every key means a forgotten line cannot silently disable a check. Exposures and the position
    share are fractions of equity (1.0 = 100 %); notionals are in account currency.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

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
    breach_state: TradingState = Field(
        TradingState.HALTED, description="Kill-switch state set when a drawdown or daily-loss limit trips."
    )

    @property
    def limits_id(self) -> str:
        """SHA-256 of the canonical JSON of the limits (recorded with rejections)."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def load_risk_limits(path: Path) -> RiskLimits:
    """Read and validate a risk-limits YAML file.

    Raises
    ------
    ConfigError
        The file is missing, not a YAML mapping, has an unknown or missing key, or a bad value; the message
        names the file and the key.
    """
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read risk limits: {exc}", setting="risk_limits_file") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: risk limits must be a YAML mapping", setting="risk_limits_file")
    try:
        return RiskLimits.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "?"
        raise ConfigError(
            f"{path}: key {key!r}: {first['msg']} ({len(exc.errors())} error(s))", setting="risk_limits_file"
        ) from exc


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
    return load_risk_limits(settings.risk_limits_file)
