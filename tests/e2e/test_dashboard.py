"""End to end: the operator dashboard served by uvicorn on a seeded PostgreSQL runtime store, driven by Debian's
headless ``chromium`` through Playwright (no browser download).

Each page is screenshotted (under ``$UI_SCREENSHOTS/dashboard`` when set, ``docs/ui/dashboard/`` holds a set
taken this way; else under the test's folder), the figures shown are compared with what the runtime store holds
(read here with plain SQL, not through the dashboard's own reads), and the halt is confirmed in the browser.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import matplotlib.image as mpimg
import pytest
import sqlalchemy as sa
import uvicorn
from playwright.sync_api import Page, sync_playwright

from prometheus.calendar import get_calendar
from prometheus.execution.kill_switch import KillSwitch
from prometheus.execution.types import OrderStatus, TradingState
from prometheus.runtime import RuntimeStore
from prometheus.runtime.tables import alerts, cash, orders, regime_states, risk_reports, target_portfolios
from prometheus_dashboard import CONFIRM_WORD, DashboardConfig, create_app
from tests.support import dashboard_kit as kit
from tests.support.dagster_ui import free_port
from tests.support.pg import fresh_pg_database


@dataclass(frozen=True)
class Served:
    """The dashboard listening on ``base`` over ``store``."""

    base: str
    store: RuntimeStore


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with fresh_pg_database() as url:
        store = RuntimeStore(url)
        kit.seed_dashboard_store(store)
        app = create_app(store, get_calendar(), DashboardConfig(operator="dashboard:e2e"), clock=lambda: kit.NOW)
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start within 30 s"
            time.sleep(0.05)
        try:
            yield Served(f"http://127.0.0.1:{port}", store)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            store.close()


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Debian's chromium is needed for the dashboard screenshots (apt-get install -y chromium)"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        yield browser.new_page(viewport={"width": 1400, "height": 900})
        browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = os.environ.get("UI_SCREENSHOTS")
    folder = Path(root) / "dashboard" if root else tmp_path_factory.mktemp("dashboard_screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _shot(page: Page, folder: Path, name: str) -> None:
    png = folder / f"{name}.png"
    page.screenshot(path=png, full_page=True)
    image = mpimg.imread(png)
    assert png.stat().st_size > 20_000, f"{png} is suspiciously small"
    assert float(image[..., :3].std()) > 0.05, f"{png} looks blank"


def _field(page: Page, name: str, within: str = "body") -> str:
    return page.locator(f"{within} [data-field='{name}']").first.inner_text().strip()


def _one(store: RuntimeStore, stmt: sa.Select) -> sa.Row:
    with store.read() as conn:
        return conn.execute(stmt).one()


def _latest_regime(store: RuntimeStore) -> sa.Row:
    # The live experiment's rows of the config version of its latest decision (the seeded v0 row is older).
    stmt = (
        sa.select(regime_states)
        .where(regime_states.c.market == "US_EQ", regime_states.c.experiment == "live")
        .where(regime_states.c.config_version == kit.VERSION)
        .order_by(regime_states.c.session.desc())
        .limit(1)
    )
    return _one(store, stmt)


def test_overview_when_opened_shows_the_store_figures(served: Served, page: Page, shots: Path) -> None:
    page.goto(f"{served.base}/", wait_until="networkidle")
    row = "tr[data-market='US_EQ']"
    last = _one(
        served.store,
        sa.select(cash.c.equity)
        .where(cash.c.experiment == "live", cash.c.market == "US_EQ")
        .order_by(cash.c.session.desc())
        .limit(1),
    )
    regime = _latest_regime(served.store)
    assert _field(page, "equity", row) == f"{last.equity:,.2f}"
    assert _field(page, "regime", row) == regime.label
    assert _field(page, "state", row) == get_calendar().state("US_EQ", kit.NOW).value
    assert _field(page, "kill-switch-state") == KillSwitch(served.store).state().value == "ACTIVE"
    assert page.locator("#overview tr[data-market]").evaluate_all("rows => rows.map(r => r.dataset.market)") == [
        "US_EQ", "EU_EQ"
    ]  # fmt: skip
    _shot(page, shots, "overview")


def test_market_page_when_opened_shows_the_store_figures(served: Served, page: Page, shots: Path) -> None:
    page.goto(f"{served.base}/market/US_EQ", wait_until="networkidle")
    live = "live"
    risk = _one(served.store, sa.select(risk_reports).where(risk_reports.c.experiment == live))
    assert _field(page, "ex-ante-vol", "#risk") == f"{risk.ex_ante_vol * 100:.2f}%"
    assert _field(page, "var-95", "#risk") == f"{risk.var_95 * 100:.2f}%"
    assert _field(page, "gross", "#risk") == f"{risk.report['gross'] * 100:.2f}%"
    regime = _latest_regime(served.store)
    assert _field(page, "regime", "#regime") == regime.label
    assert _field(page, "confidence", "#regime") == f"{regime.confidence * 100:.1f}%"
    with served.store.read() as conn:
        targets = conn.execute(sa.select(target_portfolios).where(target_portfolios.c.experiment == live)).all()
        open_refs = conn.execute(sa.select(orders.c.order_ref, orders.c.status).where(
            orders.c.experiment == live, orders.c.status.in_([s.value for s in OrderStatus if not s.is_terminal]),
        ).order_by(orders.c.order_ref)).all()  # fmt: skip
    for t in targets:
        assert _field(page, "target", f"#portfolio tr[data-instrument='{t.instrument}']") == f"{t.weight * 100:.2f}%"
    shown = page.locator("#orders tr[data-order]")
    assert [shown.nth(i).get_attribute("data-order") for i in range(shown.count())] == [r.order_ref for r in open_refs]
    for r in open_refs:
        assert _field(page, "status", f"#orders tr[data-order='{r.order_ref}']") == r.status
    assert page.locator("#regime-history svg").count() == 1
    assert page.locator("#pnl svg").count() == 1
    _shot(page, shots, "market_us_eq")


def test_alerts_page_when_opened_lists_every_alert_newest_first(served: Served, page: Page, shots: Path) -> None:
    page.goto(f"{served.base}/alerts", wait_until="networkidle")
    with served.store.read() as conn:
        messages = conn.execute(sa.select(alerts.c.message).order_by(alerts.c.ts.desc())).scalars().all()
    assert page.locator("#alerts [data-field='message']").all_inner_texts() == messages
    _shot(page, shots, "alerts")


def test_kill_switch_when_halted_in_the_browser_needs_the_confirmation(served: Served, page: Page, shots: Path) -> None:
    switch = KillSwitch(served.store)
    page.goto(f"{served.base}/kill-switch", wait_until="networkidle")
    assert _field(page, "state", "main") == switch.state().value == "ACTIVE"
    _shot(page, shots, "kill_switch")
    # Without the confirmation word: refused, nothing written.
    page.fill("#reason", "drill")
    page.click("#halt")
    page.wait_for_selector("#error")
    assert switch.state() is TradingState.ACTIVE
    _shot(page, shots, "kill_switch_refused")
    # With it: halted through the kill switch, and the page says so.
    page.fill("#reason", "operator drill")
    page.fill("#confirm", CONFIRM_WORD)
    page.click("#halt")
    page.wait_for_selector("#halted")
    change = switch.history(limit=1)[0]
    assert (change.state, change.reason, change.set_by) == (TradingState.HALTED, "operator drill", "dashboard:e2e")
    assert _field(page, "state", "main") == "HALTED"
    assert _field(page, "kill-switch-state") == "HALTED"
    _shot(page, shots, "kill_switch_halted")
