"""The CLI's run launcher: progress lines while a ranged run works (steps, partitions, time to go)."""

import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from prometheus_assets import launch
from prometheus_assets.launch import _Progress, run_job

PARTITIONS = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-11")
SINGLE_RUN = dg.BackfillPolicy.single_run()


@dg.asset(partitions_def=PARTITIONS, backfill_policy=SINGLE_RUN)
def slow_first(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    time.sleep(1.2)  # long enough for status lines at a zero heartbeat interval
    return dg.MaterializeResult(metadata={"dagster/row_count": len(context.partition_keys)})


@dg.asset(partitions_def=PARTITIONS, backfill_policy=SINGLE_RUN, deps=[slow_first])
def second(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"dagster/row_count": len(context.partition_keys)})


DEFS = dg.Definitions(assets=[slow_first, second], jobs=[dg.define_asset_job("chain", selection=[slow_first, second])])


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    # File-backed SQLite, as the CLI's instance: the progress heartbeat reads the run while the run writes it, which
    # an in-memory (shared-cache) database answers with "table is locked" under load.
    with dg.DagsterInstance.local_temp(str(tmp_path)) as found:
        yield found


def test_run_job_when_a_step_runs_long_prints_status_with_partitions_and_time_to_go(
    instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(launch, "HEARTBEAT_SECONDS", 0.3)
    first: list[str] = []
    run_job(DEFS, instance, "chain", partitions=("2024-01-01", "2024-01-10"), echo=first.append)
    status = [line for line in first if "steps " in line and " done;" in line]
    running = [line for line in status if "slow_first running for" in line]
    assert running, first
    assert "steps 0/2 done" in running[0]
    assert "partitions 0/20 materialised" in running[0]
    assert any("materialised slow_first: 10/10 partition(s), 10 rows" in line for line in first)
    assert any("second done in" in line and "(2/2 steps)" in line for line in first)
    # The second run of the job estimates from the first one's step times: no "unknown" any more.
    again: list[str] = []
    run_job(DEFS, instance, "chain", partitions=("2024-01-01", "2024-01-05"), echo=again.append)
    status = [line for line in again if "steps " in line and " done;" in line]
    assert status, again
    assert all("s to go" in line for line in status), again


def test_remaining_when_previous_times_known_uses_them_scaled_else_mean_of_finished() -> None:
    progress = _Progress(steps=3, partitions=4, expected={"a": 10.0, "b": 20.0, "c": 30.0})
    now = 100.0
    progress.finished["a"] = 9.0
    progress.running["b"] = now - 5.0
    assert progress.remaining(now) == pytest.approx(15.0 + 30.0)
    assert "b running for 5s" in progress.status(now)
    assert "steps 1/3 done" in progress.status(now)
    blind = _Progress(steps=4)
    assert blind.remaining(now) is None
    assert "time to go unknown" in blind.status(now)
    blind.finished |= {"a": 4.0, "b": 6.0}
    assert blind.remaining(now) == pytest.approx(2 * 5.0)
