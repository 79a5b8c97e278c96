"""End to end: ``prometheus demo`` on a small universe, from an empty data root."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from prometheus.data.schema import Table
from prometheus.data.store import HistoricalStore

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_demo_when_data_root_empty_builds_every_layer(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMETHEUS_")}
    env["PROMETHEUS_DATA_ROOT"] = str(tmp_path / "data")
    prometheus = str(Path(sys.executable).with_name("prometheus"))
    args = [prometheus, "demo", "--names", "30", "--years", "3", "--max-headlines", "40"]
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for market in ("US_EQ", "US_FUT", "EU_EQ", "JP_EQ", "FX_GLOB"):
        assert f"  {market} " in out
    assert "runtime store:" in out
    assert "quarantined 0 row(s)" in out
    assert "encoders US_EQ:" in out
    store = HistoricalStore(tmp_path / "data" / "lake")
    prices = store.read(Table.PRICES_ADJUSTED, market="US_EQ")
    assert prices["symbol"].n_unique() >= 30
    assert len(store.read(Table.PROFILES, market="US_EQ")) > 0
    assert len(store.read(Table.TRADING_SESSIONS, market="JP_EQ")) > 0
