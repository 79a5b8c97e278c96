"""``prometheus db``: upgrade, current and history through the typer sub-app."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from prometheus.runtime import RuntimeStore, head_revision
from prometheus_cli.db import app
from tests.support.fixtures import pg_url, runtime_db_url  # noqa: F401  (fixtures)


def test_db_upgrade_when_store_empty_prints_url_and_head(runtime_db_url: str) -> None:  # noqa: F811
    result = CliRunner().invoke(app, ["upgrade"], env={"PROMETHEUS_RUNTIME_DB_URL": runtime_db_url})
    assert result.exit_code == 0, result.output
    assert f"runtime store: {runtime_db_url}" in result.output
    assert f"revision: {head_revision()} (head {head_revision()})" in result.output
    with RuntimeStore(runtime_db_url) as store:
        assert store.current_revision() == head_revision()


@pytest.mark.postgres
def test_db_upgrade_when_url_has_password_masks_it(pg_url: str) -> None:  # noqa: F811
    # Trust auth ignores the password, so the upgrade succeeds and only the display is under test.
    with_password = make_url(pg_url).set(password="s3cret").render_as_string(hide_password=False)
    result = CliRunner().invoke(app, ["upgrade"], env={"PROMETHEUS_RUNTIME_DB_URL": with_password})
    assert result.exit_code == 0, result.output
    assert "s3cret" not in result.output
    assert ":****@127.0.0.1" in result.output


def test_db_current_when_never_migrated_prints_none(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runtime.sqlite'}"
    result = CliRunner().invoke(app, ["current"], env={"PROMETHEUS_RUNTIME_DB_URL": url})
    assert result.exit_code == 0, result.output
    assert f"revision: none (head {head_revision()})" in result.output


def test_db_upgrade_when_backend_unsupported_exits_with_message() -> None:
    result = CliRunner().invoke(app, ["upgrade"], env={"PROMETHEUS_RUNTIME_DB_URL": "mysql://u@h/db"})
    assert result.exit_code == 2
    assert "unsupported runtime store backend 'mysql'" in result.output


def test_db_history_when_listed_shows_initial_revision() -> None:
    result = CliRunner().invoke(app, ["history"])
    assert result.exit_code == 0, result.output
    assert "base -> 0001" in result.output
    assert "(head)" in result.output
