"""A throw-away PostgreSQL database per test on the local server (127.0.0.1:5432, trust auth).

The server keeps its state between sessions, so every test gets a database with a unique name and drops it
afterwards. A server that cannot be reached is an error, never a skip: the suite promises PostgreSQL coverage.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

#: Environment variable overriding the admin URL (not PROMETHEUS_*: the settings loader rejects unknown ones).
ADMIN_URL_ENV = "PG_TEST_ADMIN_URL"
DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def admin_url() -> str:
    """URL of the maintenance database used to create and drop test databases."""
    return os.environ.get(ADMIN_URL_ENV, DEFAULT_ADMIN_URL)


@contextmanager
def fresh_pg_database(prefix: str = "prometheus_test") -> Iterator[str]:
    """Create a uniquely named database, yield its URL, drop it (``WITH (FORCE)``) afterwards.

    Raises
    ------
    RuntimeError
        The PostgreSQL server cannot be reached; the message says where it was expected.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(admin_url(), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        raise RuntimeError(
            f"PostgreSQL test server not reachable at {make_url(admin_url())!r} "
            f"(set {ADMIN_URL_ENV} to override): {exc.orig}"
        ) from exc
    try:
        yield make_url(admin_url()).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
