"""Migrated runtime stores shared by the orchestration tests (alerts, market states, alert sources)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from prometheus.runtime import RuntimeStore
from tests.support.fixtures import runtime_db_url, sqlite_url  # noqa: F401  (fixtures)


@pytest.fixture
def store(runtime_db_url: str) -> Iterator[RuntimeStore]:  # noqa: F811
    """A migrated runtime store on each backend (SQLite and PostgreSQL)."""
    s = RuntimeStore(runtime_db_url)
    s.upgrade()
    yield s
    s.close()


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[RuntimeStore]:  # noqa: F811
    """SQLite only: for tests of the webhook and the log, where the SQL is the same as on PostgreSQL."""
    s = RuntimeStore(sqlite_url)
    s.upgrade()
    yield s
    s.close()
