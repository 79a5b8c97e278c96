"""End to end: ``dagster dev -w workspace.yaml`` serves the asset graph over GraphQL and runs a materialisation."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

from prometheus.core.types import Market, Mode
from prometheus.data.store import HistoricalStore
from prometheus_assets.partitions import partitions_for
from tests.support.dagster_ui import free_port, start_dagster_dev, stop, wait_for_assets

ROOT = Path(__file__).resolve().parents[2]
ASSETS_QUERY = """
{ assetNodes { assetKey { path } partitionKeysByDimension { name partitionKeys } } }
"""


@pytest.mark.slow
def test_dagster_dev_when_started_serves_graph_and_runs_materialisation(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMETHEUS_")}
    env |= {"DAGSTER_HOME": str(tmp_path / "dagster_home"), "PROMETHEUS_DATA_ROOT": str(tmp_path / "data")}
    (tmp_path / "dagster_home").mkdir()
    log = tmp_path / "dagster.log"
    proc = start_dagster_dev(ROOT, port, env, log)
    try:
        nodes = wait_for_assets(port, ASSETS_QUERY, proc, log)
        by_key = {"/".join(n["assetKey"]["path"]): n for n in nodes}
        # The default code location holds the embedded market only (markets without a data source are left out).
        assert {k.split("/")[0] for k in by_key} == {"us_eq"}
        keys = by_key["us_eq/trading_sessions"]["partitionKeysByDimension"][0]["partitionKeys"]
        assert keys == partitions_for(Market.US_EQ, Mode.BACKTEST).get_partition_keys()

        client = DagsterGraphQLClient("127.0.0.1", port_number=port)
        run_id = client.submit_job_execution("us_eq_trading_sessions_job", tags={"dagster/partition": "2024-11-01"})
        status = None
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            try:
                status = client.get_run_status(run_id).value
            except DagsterGraphQLClientError:
                status = None
            if status in {"SUCCESS", "FAILURE", "CANCELED"}:
                break
            time.sleep(2)
        assert status == "SUCCESS", log.read_text()[-4000:]
        frame = HistoricalStore(tmp_path / "data" / "lake").read("trading_sessions", market="US_EQ")
        assert len(frame) == 20
    finally:
        stop(proc)
