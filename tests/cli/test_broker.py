"""``prometheus broker status|reconcile`` through typer's CliRunner, against the fake IB Gateway and a PostgreSQL
runtime store."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from prometheus.runtime import RuntimeStore
from prometheus.runtime.tables.meta import alerts
from prometheus_cli.broker import OPEN_ORDER_COLUMNS, app
from tests.support.fake_ib_gateway import FakeIbGateway
from tests.support.live_kit import PAPER_ACCOUNT, clear_prometheus_env, cli_gateway

pytestmark = pytest.mark.postgres


@pytest.fixture
def gw(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeIbGateway]:
    with cli_gateway(pg_url, tmp_path, monkeypatch) as fake:
        yield fake


def _blocks(text: str) -> list[list[list[str]]]:
    return [list(csv.reader(io.StringIO(b))) for b in text.strip().split("\n\n")]


@pytest.mark.parametrize("command", ["status", "reconcile"])
def test_broker_when_backtest_refuses_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: str
) -> None:
    clear_prometheus_env(monkeypatch)
    monkeypatch.setenv("PROMETHEUS_DATA_ROOT", str(tmp_path))
    result = CliRunner().invoke(app, [command])
    assert result.exit_code == 2
    assert f"prometheus broker {command} needs a broker account: PROMETHEUS_MODE is BACKTEST" in result.output


def test_broker_status_when_paper_prints_connection_positions_and_open_orders_as_csv(gw: FakeIbGateway) -> None:
    gw.place_foreign("AAA", "BUY", 10, limit_price=45.0)
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    connection, held, open_orders = _blocks(result.output)
    assert connection[0] == ["mode", "endpoint", "client_id", "connected", "account", "degraded"]
    assert connection[1][0] == "PAPER"
    assert connection[1][3] == "true"
    assert PAPER_ACCOUNT not in result.output  # masked
    assert held == [["instrument", "quantity", "average_cost"], ["DDD", "30", "38.0000"]]
    assert open_orders[0] == list(OPEN_ORDER_COLUMNS)
    assert [(r[1], r[2], r[3], r[10]) for r in open_orders[1:]] == [("AAA", "BUY", "10", "false")]


def test_broker_reconcile_when_foreign_order_prints_and_alerts(gw: FakeIbGateway, pg_url: str) -> None:
    gw.place_foreign("BBB", "SELL", 5, limit_price=21.0, client_id=42, order_ref="someone-else")
    result = CliRunner().invoke(app, ["reconcile"])
    assert result.exit_code == 0, result.output
    assert "foreign order" in result.output
    assert "someone-else" in result.output
    store = RuntimeStore(pg_url)
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(alerts.c.severity, alerts.c.source, alerts.c.details)).all()
    store.close()
    assert [(r.severity, r.source, r.details["order_ref"]) for r in rows] == [("WARNING", "broker", "someone-else")]
