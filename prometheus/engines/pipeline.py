"""The engine chain in order: Regime -> Stability -> Fragility, each under the engine contract."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from prometheus.calendar import TradingCalendar
from prometheus.core.config import VersionedConfig
from prometheus.core.errors import ConfigError
from prometheus.core.types import Market
from prometheus.data.store import HistoricalStore
from prometheus.engines.fragility import FragilityConfig, FragilityEngine, run_fragility
from prometheus.engines.regime import RegimeConfig, load_history, run_regime
from prometheus.engines.runner import EngineOutput, EngineRunSummary
from prometheus.engines.stability import StabilityConfig, StabilityEngine, load_panel_history, run_stability
from prometheus.runtime.decision_log import DecisionLog


class EngineChainConfig(BaseModel):
    """Configs of every engine of the chain; a section left out takes the engine's defaults."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    regime: RegimeConfig = Field(default_factory=RegimeConfig)
    stability: StabilityConfig = Field(default_factory=StabilityConfig)
    fragility: FragilityConfig = Field(default_factory=FragilityConfig)

    @classmethod
    def from_yaml(cls, path: Path) -> EngineChainConfig:
        """Load the sections present in ``path`` (unknown sections or keys are errors)."""
        return cls(**_sections(path, cls))


def _sections(path: Path, cls: type[EngineChainConfig]) -> dict[str, VersionedConfig]:
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}", setting=str(path)) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected sections such as 'regime:'", setting=str(path))
    unknown = sorted(set(data) - set(cls.model_fields))
    if unknown:
        raise ConfigError(f"{path}: unknown sections {unknown}; known: {sorted(cls.model_fields)}", setting=unknown[0])
    return {name: cls.model_fields[name].annotation.from_mapping(data[name] or {}, source=f"{path} [{name}]")
            for name in data}  # fmt: skip


def run_chain(
    store: HistoricalStore,
    calendar: TradingCalendar,
    market: Market,
    sessions: Sequence[date],
    experiment: str,
    config: EngineChainConfig,
    *,
    bar_delay: timedelta,
    log: DecisionLog | None = None,
    mode: str = "BACKTEST",
) -> list[tuple[EngineOutput, EngineRunSummary]]:
    """Run every engine of the chain over ``sessions``; each reads history only through its TimeMachine view."""
    common = {"bar_delay": bar_delay, "log": log, "mode": mode}
    view = load_history(store, calendar, market, sessions, config.regime, bar_delay)
    regime = run_regime(view, calendar, market, sessions, experiment, config.regime, **common)
    # Stability and Fragility read the same panel; one snapshot with the longer lookback serves both.
    lookback = max(
        StabilityEngine(config.stability).lookback_sessions, FragilityEngine(config.fragility).lookback_sessions
    )
    panel = load_panel_history(store, calendar, market, sessions, lookback, bar_delay)
    stability = run_stability(panel, calendar, market, sessions, experiment, config.stability, **common)
    fragility = run_fragility(panel, calendar, market, sessions, experiment, config.fragility, **common)
    return [regime, stability, fragility]
