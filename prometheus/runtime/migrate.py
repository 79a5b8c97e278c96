"""Alembic wiring of the runtime store, configured in code (no ini file at the repository root)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

#: The migration scripts ship inside the package.
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


@dataclass(frozen=True)
class Revision:
    """One migration script: its id, parent and first docstring line."""

    revision: str
    down_revision: str | None
    message: str
    is_head: bool


def alembic_config(*, connection: sa.Connection | None = None, url: str | None = None) -> Config:
    """An Alembic ``Config`` pointing at the packaged migrations.

    Parameters
    ----------
    connection
        Open connection the migration runs on (its transaction is the caller's).
    url
        Database URL, used only when no connection is given (e.g. offline SQL generation).
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # ConfigParser interpolation treats '%' specially (URL-encoded passwords).
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def script_directory() -> ScriptDirectory:
    """The packaged migration scripts."""
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The newest revision id the package knows."""
    head = script_directory().get_current_head()
    if head is None:  # pragma: no cover - the package always ships 0001
        raise RuntimeError(f"no migration scripts under {MIGRATIONS_DIR}")
    return head


def current_revision(connection: sa.Connection) -> str | None:
    """The revision a database is at (``None``: never migrated)."""
    return MigrationContext.configure(connection).get_current_revision()


def history() -> list[Revision]:
    """All revisions, newest first."""
    scripts = script_directory()
    heads = set(scripts.get_heads())
    out = []
    for rev in scripts.walk_revisions():
        down = rev.down_revision
        out.append(
            Revision(
                revision=rev.revision,
                down_revision=down if isinstance(down, str) or down is None else ",".join(down),
                message=(rev.doc or "").strip().splitlines()[0] if rev.doc else "",
                is_head=rev.revision in heads,
            )
        )
    return out
