"""``prometheus dashboard`` through typer's CliRunner: options, the non-loopback warning, and the app it serves
on the runtime store of the settings (the blocking uvicorn loop is replaced by a TestClient that requests the
pages; tests/e2e/test_dashboard.py serves the same app through uvicorn for real)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import typer
from starlette.applications import Starlette
from starlette.testclient import TestClient
from typer.testing import CliRunner

import prometheus_cli.dashboard as cli
from prometheus.runtime import RuntimeStore
from tests.support import dashboard_kit as kit

runner = CliRunner()


def _app() -> typer.Typer:
    # Registered the way prometheus_cli's LazyCommand registers a command function: its module's HELP as help.
    host = typer.Typer(add_completion=False)
    host.command("dashboard", help=cli.HELP)(cli.dashboard)
    return host


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for key in [k for k in os.environ if k.startswith("PROMETHEUS_")]:
        monkeypatch.delenv(key)
    url = f"sqlite:///{tmp_path / 'runtime.sqlite'}"
    store = RuntimeStore(url)
    kit.seed_dashboard_store(store)
    store.close()
    return {"PROMETHEUS_RUNTIME_DB_URL": url, "PROMETHEUS_DATA_ROOT": str(tmp_path / "data")}


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """Replaces the uvicorn loop: records where it would listen and requests the pages of the app it was given."""
    seen: dict[str, object] = {}

    def serve(app: Starlette, host: str, port: int) -> None:
        client = TestClient(app)
        seen.update(host=host, port=port, pages={p: client.get(p) for p in ("/", "/market/US_EQ", "/kill-switch")})

    monkeypatch.setattr(cli, "serve", serve)
    return seen


def test_help_when_asked_shows_host_and_port_with_defaults() -> None:
    result = runner.invoke(_app(), ["--help"])
    assert result.exit_code == 0
    for text in ("--host", "127.0.0.1", "--port", "8050", "--experiment", "--scope"):
        assert text in result.output


def test_dashboard_when_run_serves_the_store_of_the_settings_on_loopback(
    env: dict[str, str], served: dict[str, object]
) -> None:
    result = runner.invoke(_app(), [], env=env)
    assert result.exit_code == 0, result.output
    assert "dashboard on http://127.0.0.1:8050" in result.output
    assert "warning" not in result.stderr
    assert (served["host"], served["port"]) == ("127.0.0.1", 8050)
    pages = served["pages"]
    assert isinstance(pages, dict)
    assert all(r.status_code == 200 for r in pages.values())
    assert "1,012,500.00" in pages["/"].text
    assert "live-US_EQ-AAA-1" in pages["/market/US_EQ"].text
    assert "dashboard:" not in pages["/kill-switch"].text  # nobody halted yet: the seeded ACTIVE row only


def test_dashboard_when_host_is_not_loopback_warns_and_still_serves(
    env: dict[str, str], served: dict[str, object]
) -> None:
    result = runner.invoke(_app(), ["--host", "0.0.0.0", "--port", "9123", "--experiment", kit.BACKTEST], env=env)  # noqa: S104
    assert result.exit_code == 0, result.output
    assert "warning: listening on 0.0.0.0, not loopback" in result.stderr
    assert (served["host"], served["port"]) == ("0.0.0.0", 9123)  # noqa: S104
    pages = served["pages"]
    assert isinstance(pages, dict)
    assert 'data-field="experiment">bt1' in pages["/"].text


def test_dashboard_when_port_out_of_range_is_a_usage_error(env: dict[str, str], served: dict[str, object]) -> None:
    result = runner.invoke(_app(), ["--port", "70000"], env=env)
    assert result.exit_code == 2
    assert not served


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("localhost", True), ("LOCALHOST", True),
     ("0.0.0.0", False), ("192.168.1.5", False), ("::", False), ("dash.example.com", False)],
)  # fmt: skip
def test_is_loopback_when_given_a_host_tells_loopback_apart(host: str, loopback: bool) -> None:
    assert cli.is_loopback(host) is loopback
