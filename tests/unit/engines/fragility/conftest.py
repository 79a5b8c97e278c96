"""Fixtures of the fragility tests: synthetic markets ingested once per seed (builders in tests.support)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support.panel_market import History, ingest_history, poisoned


@pytest.fixture(scope="session")
def fragility_markets(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int], History]:
    """Seed -> its 200 names x 5 years market, ingested at most once per test session."""
    cache: dict[int, History] = {}

    def get(seed: int) -> History:
        if seed not in cache:
            cache[seed] = ingest_history(tmp_path_factory.mktemp(f"fragility_lake_{seed}"), seed, 200, 5)
        return cache[seed]

    return get


@pytest.fixture(scope="session")
def fragility_history(fragility_markets: Callable[[int], History]) -> History:
    """Seed 7, 200 names x 5 years (the generator plants min(40, eligible / 4) crowded names)."""
    return fragility_markets(7)


@pytest.fixture
def poison() -> object:
    """The poisoning function (see :func:`poisoned`)."""
    return poisoned
