"""``prometheus alerts list|ack`` against a SQLite runtime store, through typer's CliRunner on the module's app."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from prometheus.core.types import Market
from prometheus.orchestration import Alerter, AlertSource, NewAlert, get_alert
from prometheus.runtime import RuntimeStore
from prometheus.runtime.enums import AlertSeverity
from prometheus_cli.alerts import LIST_COLUMNS, app


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RuntimeStore:
    url = f"sqlite:///{tmp_path / 'rt.sqlite'}"
    for key in [k for k in os.environ if k.startswith("PROMETHEUS_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("PROMETHEUS_RUNTIME_DB_URL", url)
    s = RuntimeStore(url)
    s.upgrade()
    return s


def _rows(output: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(output)))


def _raise(store: RuntimeStore) -> list[int]:
    alerter = Alerter(store)
    news = [NewAlert(AlertSeverity.CRITICAL, AlertSource.RUN_FAILURE, 'run of us_eq_daily_cycle_job failed: "x, y"',
                     Market.US_EQ),
            NewAlert(AlertSeverity.WARNING, AlertSource.KRONOS, "Kronos finds a degraded config", Market.EU_EQ),
            NewAlert(AlertSeverity.CRITICAL, AlertSource.KILL_SWITCH, "kill switch global: HALTED")]  # fmt: skip
    return [alerter.raise_alert(n).id for n in news]


def test_list_when_alerts_open_prints_csv_newest_first(store: RuntimeStore) -> None:
    ids = _raise(store)
    result = CliRunner().invoke(app, ["list"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == ",".join(LIST_COLUMNS)
    rows = _rows(result.output)
    assert [int(r["id"]) for r in rows] == ids[::-1]
    assert rows[2]["message"] == 'run of us_eq_daily_cycle_job failed: "x, y"'  # quoted, read back whole
    assert (rows[0]["severity"], rows[0]["source"], rows[0]["market"]) == ("CRITICAL", "kill_switch", "")


def test_ack_when_given_an_id_hides_it_from_list_and_all_shows_it(store: RuntimeStore) -> None:
    ids = _raise(store)
    runner = CliRunner()
    result = runner.invoke(app, ["ack", str(ids[1]), "--by", "alice"])
    assert result.exit_code == 0, result.output
    assert f"alert {ids[1]}: acknowledged by alice at " in result.output
    assert get_alert(store, ids[1]).acknowledged_by == "alice"
    assert [int(r["id"]) for r in _rows(runner.invoke(app, ["list"]).output)] == [ids[2], ids[0]]
    every = _rows(runner.invoke(app, ["list", "--all"]).output)
    assert [int(r["id"]) for r in every] == ids[::-1]
    assert every[1]["acknowledged_by"] == "alice"
    assert every[1]["acknowledged_at"]


def test_list_when_market_given_filters_and_unknown_market_is_an_error(store: RuntimeStore) -> None:
    ids = _raise(store)
    runner = CliRunner()
    assert [int(r["id"]) for r in _rows(runner.invoke(app, ["list", "--market", "eu_eq"]).output)] == [ids[1]]
    bad = runner.invoke(app, ["list", "--market", "MARS"])
    assert bad.exit_code == 2
    assert "unknown market 'MARS'" in bad.output


def test_ack_when_id_unknown_exits_2_and_default_by_names_the_user(store: RuntimeStore) -> None:
    ids = _raise(store)
    runner = CliRunner()
    missing = runner.invoke(app, ["ack", "999"])
    assert missing.exit_code == 2
    assert "no alert with id 999" in missing.output
    assert runner.invoke(app, ["ack", str(ids[0])]).exit_code == 0
    assert (get_alert(store, ids[0]).acknowledged_by or "").startswith("cli")


def test_list_when_store_is_fresh_prints_only_the_header(store: RuntimeStore) -> None:
    result = CliRunner().invoke(app, ["list", "--all"])
    assert result.exit_code == 0, result.output
    assert result.output == ",".join(LIST_COLUMNS) + "\n"
