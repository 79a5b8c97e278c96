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

#: When ``make_revised_adjusted`` re-adjusts S000's bars dated before 2024-01-04 (a split became known).
REVISED_AT = datetime(2024, 1, 4, 12, 0, tzinfo=UTC)
#: When S001's 2024-01-03 bar, missing until then, first arrived.
LATE_AT = datetime(2024, 1, 5, 9, 0, tzinfo=UTC)
#: When S000's 2024-01-02 bar was corrected a second time.
CORRECTED_AT = datetime(2024, 1, 6, 15, 30, tzinfo=UTC)


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


def make_revised_adjusted() -> pl.DataFrame:
    """``prices_adjusted`` rows with revisions and a late row: 4 sessions from 2024-01-02 x S000, S001.

    First versions are known 21:05 UTC on their date, except S001 2024-01-03 (only known at ``LATE_AT``).
    S000's rows before 2024-01-04 have a halved second version at ``REVISED_AT``, and S000 2024-01-02 a
    third at ``CORRECTED_AT``.
    """
    first = make_prices(days=4).with_columns(total_return=pl.lit(0.01))
    late = (pl.col("symbol") == "S001") & (pl.col("date") == date(2024, 1, 3))
    first = first.with_columns(known_at=pl.when(late).then(pl.lit(LATE_AT)).otherwise(pl.col("known_at")))
    halved = [pl.col(c) / 2 for c in ("open", "high", "low", "close")]
    early = first.filter((pl.col("symbol") == "S000") & (pl.col("date") < date(2024, 1, 4)))
    revised = early.with_columns(*halved, known_at=pl.lit(REVISED_AT))
    corrected = revised.filter(pl.col("date") == date(2024, 1, 2)).with_columns(
        close=pl.col("close") + 0.25, total_return=pl.lit(None, pl.Float64), known_at=pl.lit(CORRECTED_AT)
    )
    return pl.concat([first, revised, corrected])


@pytest.fixture
def store(tmp_path: Path) -> HistoricalStore:
    """An empty store in a temporary lake."""
    return HistoricalStore(tmp_path / "lake")


@pytest.fixture
def prices() -> PricesFactory:
    """The ``make_prices`` builder."""
    return make_prices


@pytest.fixture
def revised_store(store: HistoricalStore) -> HistoricalStore:
    """``store`` holding ``make_revised_adjusted()`` in ``prices_adjusted``."""
    store.write_frame("prices_adjusted", make_revised_adjusted())
    return store
