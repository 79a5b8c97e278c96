"""Shared fixtures: a small synthetic market (100 names x 5 years) as a point-in-time price panel."""

from __future__ import annotations

import pytest

from prometheus.data.synthetic import SyntheticConfig, SyntheticMarket, generate_market
from prometheus.encoders.numeric import WalkForward, run_walk_forward
from tests.support.encoder_kit import VALIDATION_CONFIG, synthetic_panel


@pytest.fixture(scope="session")
def synthetic() -> SyntheticMarket:
    return generate_market(SyntheticConfig(n_names=100, years=5, seed=3))


@pytest.fixture(scope="session")
def walk_forward(synthetic: SyntheticMarket) -> WalkForward:
    return run_walk_forward(synthetic_panel(synthetic), VALIDATION_CONFIG)
