"""Builders of small, deterministic historical frames for the store tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from prometheus.data.store import HistoricalStore

PricesFactory = Callable[..., pl.DataFrame]


def make_prices(
    *, market: str = "US_EQ", start: date = date(2024, 1, 2), days: int = 5, symbols: int = 2, seed: int = 7
) -> pl.DataFrame:
    """``prices_daily`` rows: ``days`` weekdays from ``start`` x ``symbols`` names, known 21:05 UTC that day."""
    rng = np.random.default_rng(seed)
    sessions: list[date] = []
    d = start
    while len(sessions) < days:
        if d.weekday() < 5:
            sessions.append(d)
        d += timedelta(days=1)
    rows = [(s, f"S{i:03d}") for s in sessions for i in range(symbols)]
    close = 100.0 + rng.normal(0.0, 1.0, len(rows)).cumsum()
    return pl.DataFrame(
        {
            "market": [market] * len(rows),
            "date": [r[0] for r in rows],
            "symbol": [r[1] for r in rows],
            "open": close - 0.5,
            "high": close + 1.0,
            "low": close - 1.0,
            "close": close,
            "volume": rng.integers(1_000, 10_000, len(rows)).astype(np.float64),
            "known_at": [datetime.combine(r[0], time(21, 5), tzinfo=UTC) for r in rows],
        }
    )


@pytest.fixture
def store(tmp_path: Path) -> HistoricalStore:
    """An empty store in a temporary lake."""
    return HistoricalStore(tmp_path / "lake")


@pytest.fixture
def prices() -> PricesFactory:
    """The ``make_prices`` builder."""
    return make_prices
