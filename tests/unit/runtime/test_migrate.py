"""Migrations of the runtime store produce exactly the schema of the metadata, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from prometheus.runtime import RuntimeStore, alembic_config, head_revision, history, metadata
from tests.support.fixtures import runtime_db_url  # noqa: F401  (fixture)


def test_upgrade_when_database_empty_schema_matches_metadata(runtime_db_url: str) -> None:  # noqa: F811
    with RuntimeStore(runtime_db_url) as store:
        assert store.upgrade() == head_revision()
        with store.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
            diff = compare_metadata(ctx, metadata)
    assert diff == []


def test_upgrade_when_run_twice_is_noop(runtime_db_url: str) -> None:  # noqa: F811
    with RuntimeStore(runtime_db_url) as store:
        first = store.upgrade()
        tables_before = set(sa.inspect(store.engine).get_table_names())
        second = store.upgrade()
        tables_after = set(sa.inspect(store.engine).get_table_names())
    assert first == second == head_revision()
    assert tables_before == tables_after == set(metadata.tables) | {"alembic_version"}


def test_downgrade_when_to_base_drops_every_table(runtime_db_url: str) -> None:  # noqa: F811
    with RuntimeStore(runtime_db_url) as store:
        store.upgrade()
        with store.begin() as conn:
            command.downgrade(alembic_config(connection=conn), "base")
        left = set(sa.inspect(store.engine).get_table_names())
        revision = store.current_revision()
    assert left == {"alembic_version"}
    assert revision is None


def test_current_revision_when_never_migrated_is_none(runtime_db_url: str) -> None:  # noqa: F811
    with RuntimeStore(runtime_db_url) as store:
        assert store.current_revision() is None


def test_history_when_listed_ends_at_initial_revision() -> None:
    revisions = history()
    assert revisions[0].is_head
    assert revisions[0].revision == head_revision()
    assert revisions[-1].revision == "0001"
    assert revisions[-1].down_revision is None
