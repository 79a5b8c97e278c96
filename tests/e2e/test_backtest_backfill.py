"""End to end: ``prometheus backtest`` records one finished backfill in the local instance, and the same backfill
launched through GraphQL (``launchPartitionBackfill``, what the UI's Materialize dialog sends) on ``dagster dev``
gives the same results bit for bit."""

from __future__ import annotations

import os
import time
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from prometheus.engines.assessment import ASSESSMENT_SPEC
from prometheus.engines.fragility import FRAGILITY_SPEC
from prometheus.engines.portfolio import PORTFOLIO_SPEC
from prometheus.engines.regime import REGIME_SPEC
from prometheus.engines.scenarios import SCENARIOS_SPEC
from prometheus.engines.stability import STABILITY_SPEC
from prometheus.engines.universe import UNIVERSE_SPEC
from prometheus.runtime import RuntimeStore
from prometheus.runtime.tables import backtest_daily
from prometheus_cli import app
from tests.support.dagster_ui import (
    free_port,
    launch_asset_backfill,
    start_dagster_dev,
    stop,
    wait_for_assets,
    wait_for_backfill,
)

ROOT = Path(__file__).resolve().parents[2]
ASSETS_QUERY = "{ assetNodes { assetKey { path } } }"
#: Two months: three years of history is the least the regime model trains on (400 rows), and a one-month range
#: would leave the assessment model of its only period without upstream outputs before the period.
RANGE = ["--start", "2016-11-01", "--end", "2016-12-30"]
MONTHS = ["2016-11-01", "2016-12-01"]
#: The daily assets of the chain (monthly partitions, one single-run policy, so one run): the engines reuse the
#: CLI experiment's outputs by config version and the models trained for it (found by lineage version).
BACKFILLED = [
    *(f"us_eq/{s.output_table}" for s in (REGIME_SPEC, STABILITY_SPEC, FRAGILITY_SPEC, UNIVERSE_SPEC)),
    *(f"us_eq/{s.output_table}" for s in (ASSESSMENT_SPEC, PORTFOLIO_SPEC, SCENARIOS_SPEC)),
    "us_eq/backtest_daily",
]
EXPERIMENT_TAG = "prometheus/experiment"


def _daily(root: Path, experiment: str) -> pl.DataFrame:
    store = RuntimeStore(f"sqlite:///{root / 'runtime.sqlite'}")
    table = backtest_daily
    query = sa.select(table).where(table.c.experiment == experiment).order_by(table.c.session)
    with store.read() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    return pl.DataFrame(rows, infer_schema_length=None)


@pytest.mark.slow
def test_backtest_when_run_by_cli_and_by_ui_backfill_records_backfills_with_equal_results(tmp_path: Path) -> None:
    t0 = time.perf_counter()
    root = tmp_path / "data"
    env = {"PROMETHEUS_DATA_ROOT": str(root)}
    runner = CliRunner()
    ingested = runner.invoke(app, ["ingest", "synthetic", "--names", "20", "--years", "3"], env=env)
    assert ingested.exit_code == 0, ingested.output
    ran = runner.invoke(app, ["backtest", *RANGE, "--experiment", "cli"], env=env)
    assert ran.exit_code == 0, ran.output

    # The CLI's runs form one finished backfill of the local instance, tagged with the experiment.
    instance = dg.DagsterInstance.from_config(str(root / "dagster_home"))
    (recorded,) = instance.get_backfills()
    cli_runs = instance.get_runs(filters=dg.RunsFilter.for_backfill(recorded.backfill_id))
    assert recorded.status.value == "COMPLETED_SUCCESS"
    assert recorded.tags[EXPERIMENT_TAG] == "cli"
    assert len(cli_runs) == 7
    assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in cli_runs)
    assert {r.tags[EXPERIMENT_TAG] for r in cli_runs} == {"cli"}

    port = free_port()
    ui_env = {k: v for k, v in os.environ.items() if not k.startswith("PROMETHEUS_")}
    ui_env |= {"DAGSTER_HOME": str(root / "dagster_home"), "PROMETHEUS_DATA_ROOT": str(root)}
    log = tmp_path / "dagster.log"
    proc = start_dagster_dev(ROOT, port, ui_env, log)
    try:
        wait_for_assets(port, ASSETS_QUERY, proc, log)
        # The UI reads the CLI's backfill as it is: finished, with the experiment tag and the seven runs.
        shown = wait_for_backfill(port, recorded.backfill_id, proc, log, timeout=30)
        assert shown["status"] == "COMPLETED_SUCCESS"
        assert {"key": EXPERIMENT_TAG, "value": "cli"} in shown["tags"]
        assert {r["runId"] for r in shown["runs"]} == {r.run_id for r in cli_runs}

        backfill_id = launch_asset_backfill(port, BACKFILLED, MONTHS, {EXPERIMENT_TAG: "ui"})
        done = wait_for_backfill(port, backfill_id, proc, log, timeout=240)
        assert done["status"] == "COMPLETED_SUCCESS", (done, log.read_text()[-4000:])
        assert done["runs"], done
        assert all(r["status"] == "SUCCESS" for r in done["runs"]), done["runs"]
        print(f"\nUI backfill {backfill_id}: {len(done['runs'])} run(s) {[r['jobName'] for r in done['runs']]}")
        # A running daemon never picked up the CLI's backfill: it still has its own seven runs only.
        assert len(instance.get_runs(filters=dg.RunsFilter.for_backfill(recorded.backfill_id))) == 7
    finally:
        stop(proc)

    cli, ui = _daily(root, "cli"), _daily(root, "ui")
    assert cli.height == ui.height > 0
    assert cli["session"].to_list() == ui["session"].to_list()
    assert cli["equity"].to_list() == ui["equity"].to_list()  # bit for bit
    bookkeeping = ["id", "experiment", "created_at"]  # row id, the experiment itself, when the row was written
    assert cli.drop(bookkeeping).equals(ui.drop(bookkeeping))
    print(f"\nbacktest backfill e2e: {time.perf_counter() - t0:.0f}s")
