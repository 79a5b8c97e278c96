"""The dashboard's Starlette app through starlette's TestClient on a seeded SQLite runtime store: every page
renders the seeded figures, and a halt needs the confirmation word and changes the kill-switch state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from prometheus.calendar import get_calendar
from prometheus.execution.kill_switch import KillSwitch
from prometheus.execution.types import TradingState
from prometheus.runtime import RuntimeStore
from prometheus_dashboard import CONFIRM_WORD, DashboardConfig, create_app
from tests.support import dashboard_kit as kit


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RuntimeStore]:
    s = RuntimeStore(f"sqlite:///{tmp_path / 'runtime.sqlite'}")
    kit.seed_dashboard_store(s)
    yield s
    s.close()


@pytest.fixture
def client(store: RuntimeStore) -> TestClient:
    app = create_app(store, get_calendar(), DashboardConfig(operator="dashboard:test"), clock=lambda: kit.NOW)
    return TestClient(app)


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("/", ["US_EQ", "OPEN", "crisis", "1,012,500.00", "+12,500.00"]),
        ("/?experiment=bt1", ["US_EQ", "calm", "99.50", "-1.50"]),
        ("/market/US_EQ", ["POST_CLOSE at 2026-11-30 21:00 UTC", "crisis", "70.0%", "Technology", "12.00%",
                           "live-US_EQ-AAA-1", "PARTIALLY_FILLED", "us_eq daily cycle failed", "25.00%", "<svg"]),
        ("/market/us_eq?experiment=bt1", ["calm", "90.0%", "backtest_daily", "99.50"]),
        ("/market/JP_EQ", ["No regime rows", "No open orders"]),
        ("/alerts", ["us_eq daily cycle failed", "IB gateway reconnected", "eu_eq quarantine 2 rows", "ops at"]),
        ("/kill-switch", ["ACTIVE", "seeded", "Type <b>HALT</b> to confirm"]),
    ],
)  # fmt: skip
def test_page_when_requested_renders_the_seeded_figures(client: TestClient, path: str, shown: list[str]) -> None:
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    for text in shown:
        assert text in response.text, text


def test_market_page_when_rendered_inlines_svg_without_xml_prolog(client: TestClient) -> None:
    html = client.get("/market/US_EQ").text
    assert html.count("<svg") == 2  # regime probabilities and equity
    assert "<?xml" not in html
    assert "<!DOCTYPE svg" not in html


@pytest.mark.parametrize("path", ["/market/NOWHERE", "/?experiment=missing", "/alerts?experiment=missing"])
def test_page_when_market_or_experiment_unknown_is_404(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("confirm", ["", "halt", "yes", "HALT!"])
def test_halt_when_not_confirmed_is_refused_and_changes_nothing(
    client: TestClient, store: RuntimeStore, confirm: str
) -> None:
    response = client.post("/kill-switch/halt", data={"confirm": confirm, "reason": "drill"})
    assert response.status_code == 400
    assert f"type {CONFIRM_WORD} in the confirmation field" in response.text
    assert 'value="drill"' in response.text  # the reason is kept for the second try
    assert KillSwitch(store).state() is TradingState.ACTIVE
    assert len(KillSwitch(store).history()) == 1  # the seeded row only


def test_halt_when_confirmed_halts_through_the_kill_switch(client: TestClient, store: RuntimeStore) -> None:
    response = client.post("/kill-switch/halt", data={"confirm": CONFIRM_WORD, "reason": "desk call"},
                           follow_redirects=False)  # fmt: skip
    assert response.status_code == 303
    assert response.headers["location"] == "/kill-switch?halted=1"
    change = KillSwitch(store).history(limit=1)[0]
    assert (change.state, change.reason, change.set_by, change.set_at) == (
        TradingState.HALTED, "desk call", "dashboard:test", kit.NOW
    )  # fmt: skip
    page = client.get(response.headers["location"]).text
    assert 'data-field="state">HALTED' in page
    assert "Trading is halted" in page


def test_halt_when_sent_from_another_origin_is_refused(client: TestClient, store: RuntimeStore) -> None:
    response = client.post("/kill-switch/halt", data={"confirm": CONFIRM_WORD},
                           headers={"origin": "http://evil.example"})  # fmt: skip
    assert response.status_code == 403
    assert KillSwitch(store).state() is TradingState.ACTIVE


def test_halt_when_not_a_form_is_refused(client: TestClient, store: RuntimeStore) -> None:
    response = client.post("/kill-switch/halt", json={"confirm": CONFIRM_WORD})
    assert response.status_code == 415
    assert KillSwitch(store).state() is TradingState.ACTIVE


def test_halt_when_get_is_not_allowed(client: TestClient, store: RuntimeStore) -> None:
    assert client.get(f"/kill-switch/halt?confirm={CONFIRM_WORD}").status_code == 405
    assert KillSwitch(store).state() is TradingState.ACTIVE


@pytest.mark.parametrize(("path", "refreshes"), [("/", True), ("/market/US_EQ", True), ("/alerts", True),
                                                 ("/kill-switch", False)])  # fmt: skip
def test_page_when_served_refreshes_itself_except_the_halt_form(client: TestClient, path: str, refreshes: bool) -> None:
    # A refresh would wipe a half-typed confirmation: the kill-switch page never reloads itself.
    assert ('http-equiv="refresh"' in client.get(path).text) is refreshes


def test_halt_when_confirmed_without_reason_records_a_default_one(client: TestClient, store: RuntimeStore) -> None:
    assert client.post("/kill-switch/halt", data={"confirm": CONFIRM_WORD}).status_code == 200  # after the redirect
    assert KillSwitch(store).history(limit=1)[0].reason == "halted from the dashboard"
