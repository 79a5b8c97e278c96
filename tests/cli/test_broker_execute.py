"""``prometheus broker status|reconcile`` and ``prometheus execute`` through typer's CliRunner, against the fake IB
Gateway and a PostgreSQL runtime store."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from prometheus.runtime import RuntimeStore
from prometheus.runtime.tables.engine import target_portfolios
from prometheus.runtime.tables.meta import alerts
from prometheus_cli.broker import OPEN_ORDER_COLUMNS
from prometheus_cli.broker import app as broker_app
from prometheus_cli.execute import app as execute_app
from tests.support.fake_ib_gateway import FakeIbGateway
from tests.support.live_kit import (
    PAPER_ACCOUNT,
    gateway,
    gateway_positions,
    orders_per_ref,
    paper_env,
    write_limits,
    write_targets,
)

pytestmark = pytest.mark.postgres
SESSION = "2024-03-01"


@pytest.fixture
def gw(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeIbGateway]:
    for key in [k for k in os.environ if k.startswith("PROMETHEUS_")]:
        monkeypatch.delenv(key)
    with gateway() as fake:
        fake.holdings["DDD"] = [30.0, 38.0]
        for key, value in paper_env(fake.port, pg_url, write_limits(tmp_path / "l.yaml"), tmp_path).items():
            monkeypatch.setenv(key, value)
        yield fake


def _blocks(text: str) -> list[list[list[str]]]:
    return [list(csv.reader(io.StringIO(b))) for b in text.strip().split("\n\n")]


@pytest.mark.parametrize(
    ("app", "args", "command"),
    [(broker_app, ["status"], "broker status"), (broker_app, ["reconcile"], "broker reconcile"),
     (execute_app, ["--market", "US_EQ", "--session", SESSION], "execute")],
)  # fmt: skip
def test_commands_when_backtest_refuse_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, app: object, args: list[str], command: str
) -> None:
    for key in [k for k in os.environ if k.startswith("PROMETHEUS_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("PROMETHEUS_DATA_ROOT", str(tmp_path))
    result = CliRunner().invoke(app, args)  # type: ignore[arg-type]
    assert result.exit_code == 2
    assert f"prometheus {command} needs a broker account: PROMETHEUS_MODE is BACKTEST" in result.output


def test_broker_status_when_paper_prints_connection_positions_and_open_orders_as_csv(gw: FakeIbGateway) -> None:
    gw.place_foreign("AAA", "BUY", 10, limit_price=45.0)
    result = CliRunner().invoke(broker_app, ["status"])
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
    result = CliRunner().invoke(broker_app, ["reconcile"])
    assert result.exit_code == 0, result.output
    assert "foreign order" in result.output
    assert "someone-else" in result.output
    store = RuntimeStore(pg_url)
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(alerts.c.severity, alerts.c.source, alerts.c.details)).all()
    store.close()
    assert [(r.severity, r.source, r.details["order_ref"]) for r in rows] == [("WARNING", "broker", "someone-else")]


def test_execute_when_run_twice_sends_nothing_the_second_time(gw: FakeIbGateway, tmp_path: Path) -> None:
    targets = write_targets(tmp_path / "t.csv", {"AAA": 0.2, "DDD": 0.0})
    args = ["--market", "US_EQ", "--session", SESSION, "--targets", str(targets), "--wait", "3"]
    first = CliRunner().invoke(execute_app, args)
    assert first.exit_code == 0, first.output
    assert "planned 2, sent 2," in first.output  # buy AAA, sell the 30 DDD
    assert "fills recorded: 2; settled" in first.output
    second = CliRunner().invoke(execute_app, args)
    assert second.exit_code == 0, second.output
    assert "sent 0, already sent earlier" in second.output
    assert set(orders_per_ref(gw).values()) == {1}
    assert len(gw.orders) == 2
    assert gateway_positions(gw) == {"AAA": 404.0}  # 0.2 x (100 000 cash + 30 x 40 DDD) / 50


def test_execute_when_no_file_reads_the_session_target_portfolio(gw: FakeIbGateway, pg_url: str) -> None:
    store = RuntimeStore(pg_url)
    store.upgrade()
    row = {"market": "US_EQ", "session": datetime(2024, 3, 1).date(), "experiment": "live", "config_version": "v1",
           "decision_time": datetime(2024, 3, 1, 21, 5, tzinfo=UTC), "instrument": "BBB", "weight": 0.1}  # fmt: skip
    store.upsert(target_portfolios, [row])
    store.close()
    result = CliRunner().invoke(execute_app, ["--market", "US_EQ", "--session", SESSION, "--wait", "3"])
    assert result.exit_code == 0, result.output
    assert "targets from target_portfolios (config v1)" in result.output
    assert gateway_positions(gw) == {"BBB": 506.0}  # 0.1 x 101 200 / 20; DDD has no target: sold
    missing = CliRunner().invoke(execute_app, ["--market", "US_EQ", "--session", "2024-03-04"])
    assert missing.exit_code == 2
    assert "no target portfolio of US_EQ for 2024-03-04" in missing.output
