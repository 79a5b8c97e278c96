"""Session-scoped synthetic markets shared by the engine and panel tests: each seed is ingested once per run.

Registered for every test by the root conftest; the builders live in :mod:`tests.support.panel_market`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.panel_market import History, ingest_history, poisoned


@pytest.fixture(scope="session")
def stability_markets(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int], History]:
    """Seed -> its 100 names x 5 years market, ingested at most once per test session."""
    cache: dict[int, History] = {}

    def get(seed: int) -> History:
        if seed not in cache:
            cache[seed] = ingest_history(tmp_path_factory.mktemp(f"stability_lake_{seed}"), seed, 100, 5)
        return cache[seed]

    return get


@pytest.fixture(scope="session")
def stability_history(stability_markets: Callable[[int], History]) -> History:
    """Seed 21 (one ingested market shared by the engines' poisoning and degradation tests)."""
    return stability_markets(21)


@pytest.fixture
def poison() -> object:
    """The poisoning function (see :func:`poisoned`)."""
    return poisoned


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


@pytest.fixture(scope="session")
def cli_market_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root with the synthetic market of 20 names x 5 years (2014-2018) ingested through the CLI, shared by
    the run-engines and backtest tests (experiments keep their rows apart; engine outputs are reused across them)."""
    from typer.testing import CliRunner

    from prometheus_cli import app

    root = tmp_path_factory.mktemp("cli_market")
    result = CliRunner().invoke(
        app, ["ingest", "synthetic", "--names", "20", "--years", "5"], env={"PROMETHEUS_DATA_ROOT": str(root)}
    )
    assert result.exit_code == 0, result.output
    return root
