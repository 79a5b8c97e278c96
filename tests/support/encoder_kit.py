"""Builders of the encoder tests: the generator's panel as the encoder sees it and a small real training budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from prometheus.core.types import Market
from prometheus.data.panel import PricePanel
from prometheus.data.synthetic import SyntheticMarket
from prometheus.encoders import NumericEncoderConfig

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
