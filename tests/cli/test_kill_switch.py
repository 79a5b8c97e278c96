"""``prometheus kill-switch`` commands against a SQLite runtime store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from prometheus.execution.kill_switch import KillSwitch
from prometheus.runtime import RuntimeStore
from prometheus_cli.kill_switch import app


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    db = f"sqlite:///{tmp_path / 'rt.sqlite'}"
    for key in [k for k in os.environ if k.startswith("PROMETHEUS_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("PROMETHEUS_RUNTIME_DB_URL", db)
    return db


@pytest.mark.parametrize(("command", "state"), [("halt", "HALTED"), ("reduce", "REDUCING"), ("resume", "ACTIVE")])
def test_command_when_run_sets_state_with_reason(url: str, command: str, state: str) -> None:
    result = CliRunner().invoke(app, [command, "--reason", "desk call"])
    assert result.exit_code == 0, result.output
    assert state in result.output
    store = RuntimeStore(url)
    change = KillSwitch(store).history(limit=1)[0]
    store.close()
    assert (change.state.value, change.reason) == (state, "desk call")


def test_status_when_halted_shows_state_and_history(url: str) -> None:
    runner = CliRunner()
    runner.invoke(app, ["halt", "--reason", "drill"])
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 0
    assert result.output.splitlines()[0] == "global: HALTED"
    assert "drill" in result.output


def test_help_when_asked_lists_every_command() -> None:
    out = CliRunner().invoke(app, ["--help"]).output
    assert all(c in out for c in ("halt", "reduce", "resume", "status"))
