"""Materialising ``trading_sessions`` writes the sessions to the lake, idempotently, over partition ranges."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg

from prometheus.core.settings import load_settings
from prometheus.data.store import HistoricalStore
from prometheus_assets.definitions import build_definitions


def _defs(tmp_path: Path) -> dg.Definitions:
    return build_definitions(
        load_settings({"PROMETHEUS_DATA_ROOT": str(tmp_path), "PROMETHEUS_MARKETS": "US_EQ,JP_EQ"})
    )


def _materialise(defs: dg.Definitions, market: str, first: str, last: str) -> dg.ExecuteInProcessResult:
    job = defs.resolve_job_def(f"{market}_trading_sessions_job")
    return job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last},
    )


def test_materialise_when_range_of_months_writes_each_session_once(tmp_path: Path) -> None:
    defs = _defs(tmp_path)
    assert _materialise(defs, "us_eq", "2024-10-01", "2024-12-01").success
    assert _materialise(defs, "us_eq", "2024-11-01", "2024-11-01").success  # re-run one month: replaces
    frame = HistoricalStore(tmp_path / "lake").read("trading_sessions", market="US_EQ")
    sessions = frame["date"].to_list()
    assert len(sessions) == len(set(sessions)) == 23 + 20 + 21  # Oct, Nov (Thanksgiving), Dec (Christmas)
    assert date(2024, 11, 28) not in sessions
    row = frame.filter(frame["date"] == date(2024, 11, 29)).row(0, named=True)
    assert row["close"].hour == 18
    assert row["market"] == "US_EQ"


def test_materialise_when_tokyo_month_records_lunch_breaks(tmp_path: Path) -> None:
    defs = _defs(tmp_path)
    assert _materialise(defs, "jp_eq", "2024-11-01", "2024-11-01").success
    frame = HistoricalStore(tmp_path / "lake").read("trading_sessions", market="JP_EQ")
    assert frame["break_start"].null_count() == 0
    assert len(frame) == 20  # 21 weekdays less Culture Day observed (Nov 4)
