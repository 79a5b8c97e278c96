"""``prometheus execute`` through typer's CliRunner, against the fake IB Gateway and a PostgreSQL runtime store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from prometheus.runtime import RuntimeStore
from prometheus.runtime.tables.engine import target_portfolios
from prometheus.runtime.tables.meta import alerts
from prometheus_cli.execute import app
from tests.support.fake_ib_gateway import FakeIbGateway
from tests.support.live_kit import clear_prometheus_env, cli_gateway, gateway_positions, orders_per_ref, write_targets

pytestmark = pytest.mark.postgres


@pytest.fixture
def gw(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeIbGateway]:
    with cli_gateway(pg_url, tmp_path, monkeypatch) as fake:
        yield fake


SESSION = "2024-03-01"


def test_execute_when_backtest_refuses_with_a_clear_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clear_prometheus_env(monkeypatch)
    monkeypatch.setenv("PROMETHEUS_DATA_ROOT", str(tmp_path))
    result = CliRunner().invoke(app, ["--market", "US_EQ", "--session", SESSION])
    assert result.exit_code == 2
    assert "prometheus execute needs a broker account: PROMETHEUS_MODE is BACKTEST" in result.output


def test_execute_when_run_twice_sends_nothing_the_second_time(gw: FakeIbGateway, tmp_path: Path, pg_url: str) -> None:
    gw.place_foreign("CCC", "BUY", 5, limit_price=9.0)  # typed in TWS: alerted, left alone
    targets = write_targets(tmp_path / "t.csv", {"AAA": 0.2, "DDD": 0.0})
    args = ["--market", "US_EQ", "--session", SESSION, "--targets", str(targets), "--wait", "3"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "reconciliation: foreign order" in first.output
    store = RuntimeStore(pg_url)
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(alerts.c.source, alerts.c.market)).all() == [("broker", "US_EQ")]
    store.close()
    assert "planned 2, sent 2," in first.output  # buy AAA, sell the 30 DDD
    assert "fills recorded: 2; settled" in first.output
    second = CliRunner().invoke(app, args)
    assert second.exit_code == 0, second.output
    assert "sent 0, already sent earlier" in second.output
    assert set(orders_per_ref(gw).values()) == {1}
    assert len(gw.orders) == 3  # ours (AAA, DDD) and the foreign CCC
    assert gateway_positions(gw) == {"AAA": 404.0}  # 0.2 x (100 000 cash + 30 x 40 DDD) / 50


def test_execute_when_no_file_reads_the_session_target_portfolio(gw: FakeIbGateway, pg_url: str) -> None:
    store = RuntimeStore(pg_url)
    store.upgrade()
    row = {"market": "US_EQ", "session": date(2024, 3, 1), "experiment": "live", "config_version": "v1",
           "decision_time": datetime(2024, 3, 1, 21, 5, tzinfo=UTC), "instrument": "BBB", "weight": 0.1}  # fmt: skip
    store.upsert(target_portfolios, [row])
    store.close()
    result = CliRunner().invoke(app, ["--market", "US_EQ", "--session", SESSION, "--wait", "3"])
    assert result.exit_code == 0, result.output
    assert "targets from target_portfolios (config v1)" in result.output
    assert gateway_positions(gw) == {"BBB": 506.0}  # 0.1 x 101 200 / 20; DDD has no target: sold
    missing = CliRunner().invoke(app, ["--market", "US_EQ", "--session", "2024-03-04"])
    assert missing.exit_code == 2
    assert "no target portfolio of US_EQ for 2024-03-04" in missing.output


def test_execute_when_targets_file_is_bad_exits_before_connecting(gw: FakeIbGateway, tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("symbol,weight\nAAA,half\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["--market", "US_EQ", "--session", SESSION, "--targets", str(tmp_path / "bad.csv")]
    )
    assert result.exit_code == 2
    assert "row 2, field 'weight': not a number" in result.output
    assert gw.requests == []
