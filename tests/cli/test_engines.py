"""``prometheus run-engines`` on a small ingested synthetic market: summary, decision log and reuse."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from prometheus.runtime import RuntimeStore
from prometheus.runtime.tables import (
    assessments,
    engine_configs,
    engine_decisions,
    regime_states,
    risk_reports,
    scenario_sets,
    target_portfolios,
)
from prometheus_cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def data_root(cli_market_root: Path) -> Path:
    """The shared 20 x 5 market (tests.support.markets.cli_market_root)."""
    return cli_market_root


def _count(root: Path, table: sa.Table, **where: str) -> int:
    store = RuntimeStore(f"sqlite:///{root / 'runtime.sqlite'}")
    q = sa.select(sa.func.count()).select_from(table)
    for k, v in where.items():
        q = q.where(table.c[k] == v)
    with store.read() as conn:
        return conn.execute(q).scalar_one()


def _run(root: Path, *extra: str) -> str:
    args = ["run-engines", "--market", "US_EQ", "--start", "2018-10-01", "--end", "2018-12-31", *extra]
    result = runner.invoke(app, args, env={"PROMETHEUS_DATA_ROOT": str(root)})
    assert result.exit_code == 0, result.output
    return result.output


def test_run_engines_when_repeated_and_new_experiment_logs_once_and_reuses(data_root: Path) -> None:
    first = _run(data_root, "--experiment", "a")
    assert "regime" in first
    assert "computed" in first
    assert "sessions by label" in first
    sessions = _count(data_root, regime_states, experiment="a")
    assert sessions == 63  # Q4 2018 sessions of XNYS
    _run(data_root, "--experiment", "a")
    assert _count(data_root, regime_states, experiment="a") == sessions  # replaced, not duplicated
    second = _run(data_root, "--experiment", "b")
    assert "reused" in second
    assert _count(data_root, regime_states, experiment="b") == sessions
    assert _count(data_root, engine_decisions, engine="regime", experiment="b") == sessions
    store = RuntimeStore(f"sqlite:///{data_root / 'runtime.sqlite'}")
    with store.read() as conn:  # the seven engines (the shared root may hold other experiments' configs too)
        assert conn.execute(sa.select(sa.func.count(sa.distinct(engine_configs.c.engine)))).scalar_one() == 7
    # The target book and its risk report per session; scenarios on the rebalance sessions.
    assert "portfolio" in first
    assert _count(data_root, risk_reports, experiment="a") == sessions
    assert _count(data_root, target_portfolios, experiment="a") > 0
    assert _count(data_root, scenario_sets, experiment="a") > 0
    # Every name with a bar is scored each session, by the model of its month trained before it (the model asset).
    assert "assessment" in first
    assert _count(data_root, assessments, experiment="a") >= 63 * 15
    assert _count(data_root, assessments, experiment="b") == _count(data_root, assessments, experiment="a")
    assert len(list((data_root / "models" / "assessment" / "us_eq").glob("*/2018-1[0-2]-01_*.json"))) == 3


def test_run_engines_when_config_changes_writes_a_new_version(data_root: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "exp.yaml"
    cfg.write_text("regime:\n  method: hmm\n")
    out = _run(data_root, "--experiment", "hmm", "--config", str(cfg))
    assert "computed" in out
    assert _count(data_root, engine_configs) >= 4


def test_run_engines_when_config_has_unknown_key_fails_naming_it(data_root: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("regime:\n  methd: hmm\n")
    args = ["run-engines", "--market", "US_EQ", "--start", "2018-10-01", "--end", "2018-12-31", "--config", str(cfg)]
    result = runner.invoke(app, args, env={"PROMETHEUS_DATA_ROOT": str(data_root)})
    assert result.exit_code == 2
    assert "methd" in result.output


def test_run_engines_when_range_lies_past_the_data_refuses_naming_the_stale_session(data_root: Path) -> None:
    # The market of the fixture ends with 2018: sessions of March 2019 would be labelled from 2018 data.
    args = ["run-engines", "--market", "US_EQ", "--start", "2019-03-01", "--end", "2019-03-29", "--experiment", "late"]
    result = runner.invoke(app, args, env={"PROMETHEUS_DATA_ROOT": str(data_root)})
    assert result.exit_code != 0
    assert "PROMETHEUS_MAX_DATA_LAG_SESSIONS" in result.output
    assert "2019-03-01" in result.output
    assert _count(data_root, regime_states, experiment="late") == 0
