"""End to end: ``prometheus demo`` on a small universe, from an empty data root."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from prometheus.data.schema import Table
from prometheus.data.store import HistoricalStore

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_demo_when_data_root_empty_builds_every_layer_as_dagster_runs(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMETHEUS_") and k != "DAGSTER_HOME"}
    env["PROMETHEUS_DATA_ROOT"] = str(tmp_path / "data")
    prometheus = str(Path(sys.executable).with_name("prometheus"))
    args = [prometheus, "demo", "--names", "30", "--years", "3", "--news-months", "2"]
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "  US_EQ " in out
    assert "runtime store:" in out
    assert "check us_eq/prices_daily qc_quarantine: passed" in out
    assert "materialised us_eq/profiles" in out
    store = HistoricalStore(tmp_path / "data" / "lake")
    prices = store.read(Table.PRICES_ADJUSTED, market="US_EQ")
    assert prices["symbol"].n_unique() >= 30
    assert len(store.read(Table.PROFILES, market="US_EQ")) > 0
    assert len(store.read(Table.NEWS_EMBEDDINGS, market="US_EQ")) > 0
    # The runs are in the instance under the data root: every partition built is a materialisation the UI shows.
    home = tmp_path / "data" / "dagster_home"
    assert (home / "dagster.yaml").exists()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        months = {f"{y}-{m:02d}-01" for y in (2014, 2015, 2016) for m in range(1, 13)} | {"2017-01-01"}
        for asset in ("prices_adjusted", "trading_sessions", "instrument_embeddings", "profiles"):
            assert instance.get_materialized_partitions(dg.AssetKey(["us_eq", asset])) == months, asset
        assert instance.get_materialized_partitions(dg.AssetKey(["us_eq", "encoder_model"])) == {
            "2014", "2015", "2016", "2017"
        }  # fmt: skip
        runs = instance.get_runs(filters=dg.RunsFilter(tags={"prometheus/command": "demo"}))
        assert len(runs) == 6
        assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
