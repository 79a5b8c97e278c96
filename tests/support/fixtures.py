"""pytest fixtures for database-backed tests.

Import the ones a module needs (``from tests.support.fixtures import runtime_db_url``) or list this module in
the root conftest's ``pytest_plugins``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.pg import fresh_pg_database

#: Backends every runtime-store test runs against; the PostgreSQL case carries the ``postgres`` marker.
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture
def pg_url() -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database, dropped after the test."""
    with fresh_pg_database() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a SQLite file (not yet created) in a nested folder under the test's tmp_path."""
    return f"sqlite:///{tmp_path / 'store' / 'runtime.sqlite'}"


@pytest.fixture(params=BACKENDS)
def runtime_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh runtime database URL, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store' / 'runtime.sqlite'}"
        return
    with fresh_pg_database() as url:
        yield url
