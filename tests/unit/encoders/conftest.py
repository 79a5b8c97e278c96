"""Shared fixtures: a small synthetic market (100 names x 5 years) as a point-in-time price panel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from prometheus.core.types import Market
from prometheus.data.panel import PricePanel
from prometheus.data.synthetic import SyntheticConfig, SyntheticMarket, generate_market
from prometheus.encoders import NumericEncoderConfig
from prometheus.encoders.numeric import WalkForward, run_walk_forward

#: Small but real training budget: yearly retrains keep the validation under a minute on 2 cores.
VALIDATION_CONFIG = NumericEncoderConfig(
    retrain="year", steps_initial=300, steps_retrain=30, max_train_names=None, seed=7
)


def synthetic_panel(market: SyntheticMarket, stop: int | None = None) -> PricePanel:
    """The generator's panel as the encoder sees it (decision time: 21:05 UTC of each session)."""
    p = market.panel
    sessions = tuple(market.sessions[:stop])
    dts = tuple(datetime.combine(d, datetime.min.time(), tzinfo=UTC) + timedelta(hours=21, minutes=5) for d in sessions)
    n = len(sessions)
    return PricePanel(
        Market.US_EQ,
        sessions,
        dts,
        tuple(str(s) for s in p.universe.symbols),
        np.array(p.returns.total[:n], dtype=np.float64),
        np.array(p.bars.close[:n] * p.bars.volume[:n], dtype=np.float64),
    )


@pytest.fixture(scope="session")
def synthetic() -> SyntheticMarket:
    return generate_market(SyntheticConfig(n_names=100, years=5, seed=3))


@pytest.fixture(scope="session")
def walk_forward(synthetic: SyntheticMarket) -> WalkForward:
    return run_walk_forward(synthetic_panel(synthetic), VALIDATION_CONFIG)
