"""The engine chain in order: Regime -> Stability -> Fragility -> Assessment -> Universe -> Portfolio & Risk ->
Scenarios, each run by the engine kit's runner."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from prometheus.core.config import VersionedConfig
from prometheus.engines.assessment import ASSESSMENT_SPEC, AssessmentConfig
from prometheus.engines.base import EngineSpec
from prometheus.engines.fragility import FRAGILITY_SPEC, FragilityConfig
from prometheus.engines.portfolio import PORTFOLIO_SPEC, PortfolioConfig
from prometheus.engines.regime import REGIME_SPEC, RegimeConfig
from prometheus.engines.scenarios import SCENARIOS_SPEC, ScenarioConfig
from prometheus.engines.stability import STABILITY_SPEC, StabilityConfig
from prometheus.engines.universe import UNIVERSE_SPEC, UniverseConfig

#: Every engine's declaration by name, upstream first: how an engine's declared upstream names are resolved.
ENGINE_SPECS: dict[str, EngineSpec] = {
    s.name: s
    for s in (
        REGIME_SPEC,
        STABILITY_SPEC,
        FRAGILITY_SPEC,
        ASSESSMENT_SPEC,
        UNIVERSE_SPEC,
        PORTFOLIO_SPEC,
        SCENARIOS_SPEC,
    )
}


class EngineChainConfig(VersionedConfig):
    """Configs of every engine of the chain; a section left out takes the engine's defaults."""

    kind: ClassVar[str] = "engine_chain"

    regime: RegimeConfig = Field(default_factory=RegimeConfig)
    stability: StabilityConfig = Field(default_factory=StabilityConfig)
    fragility: FragilityConfig = Field(default_factory=FragilityConfig)
    assessment: AssessmentConfig = Field(default_factory=AssessmentConfig)
    universe: UniverseConfig = Field(default_factory=UniverseConfig)
    portfolio: PortfolioConfig = Field(default_factory=PortfolioConfig)
    scenarios: ScenarioConfig = Field(default_factory=ScenarioConfig)
