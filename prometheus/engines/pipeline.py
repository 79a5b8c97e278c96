"""The engine chain in order: Regime -> Stability -> Fragility -> Universe, each run by the engine kit's runner."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import ClassVar

from pydantic import Field

from prometheus.calendar import TradingCalendar
from prometheus.core.config import VersionedConfig
from prometheus.core.types import Market, Mode
from prometheus.data.store import HistoricalStore
from prometheus.engines.base import Engine, EngineSpec
from prometheus.engines.fragility import FRAGILITY_SPEC, FragilityConfig, FragilityEngine
from prometheus.engines.regime import REGIME_SPEC, RegimeConfig, RegimeEngine
from prometheus.engines.runner import EngineOutput, EngineRunSummary, history_view, run_sessions
from prometheus.engines.stability import STABILITY_SPEC, StabilityConfig, StabilityEngine
from prometheus.engines.universe import UNIVERSE_SPEC, UniverseConfig, UniverseEngine
from prometheus.runtime.decision_log import DecisionLog

#: Every engine's declaration by name, upstream first: how an engine's declared upstream names are resolved.
ENGINE_SPECS: dict[str, EngineSpec] = {s.name: s for s in (REGIME_SPEC, STABILITY_SPEC, FRAGILITY_SPEC, UNIVERSE_SPEC)}


class EngineChainConfig(VersionedConfig):
    """Configs of every engine of the chain; a section left out takes the engine's defaults."""

    kind: ClassVar[str] = "engine_chain"

    regime: RegimeConfig = Field(default_factory=RegimeConfig)
    stability: StabilityConfig = Field(default_factory=StabilityConfig)
    fragility: FragilityConfig = Field(default_factory=FragilityConfig)
    universe: UniverseConfig = Field(default_factory=UniverseConfig)


def chain_engines(
    config: EngineChainConfig, calendar: TradingCalendar, bar_delay: timedelta
) -> list[Engine[VersionedConfig]]:
    """The engines of the chain, upstream first."""
    return [
        RegimeEngine(config.regime, calendar, bar_delay),
        StabilityEngine(config.stability, calendar),
        FragilityEngine(config.fragility, calendar),
        UniverseEngine(config.universe, calendar),
    ]


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
    mode: Mode = Mode.BACKTEST,
) -> list[tuple[EngineOutput, EngineRunSummary]]:
    """Run every engine of the chain over ``sessions``; each reads history only through its TimeMachine view.

    One snapshot serves the whole chain (the union of the declared inputs over the longest lookback); each engine
    gets the outputs of the upstream engines it declares.
    """
    engines = chain_engines(config, calendar, bar_delay)
    view = history_view(store, calendar, market, sessions, engines, bar_delay)
    done: dict[str, EngineOutput] = {}
    results = []
    for engine in engines:
        upstream = {name: done[name] for name in engine.spec.upstream}
        out, summary = run_sessions(engine, view, calendar, market, sessions, experiment, bar_delay=bar_delay,
                                    upstream=upstream, log=log, mode=mode)  # fmt: skip
        done[engine.spec.name] = out
        results.append((out, summary))
    return results
