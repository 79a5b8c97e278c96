"""``us_eq_submit_orders_job`` (PAPER) against the fake IB Gateway: the latest closed session's target portfolio
goes out once, fills are recorded, a second run sends nothing, an older partition sends nothing at all."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import pytest

from prometheus.core.settings import Settings, load_settings
from prometheus.core.types import Market
from prometheus.execution.live import LIVE_EXPERIMENT
from prometheus.execution.store import ExecutionContext, ExecutionStore
from prometheus.runtime import RuntimeStore
from prometheus.runtime.tables.engine import target_portfolios
from prometheus_assets.definitions import build_definitions
from prometheus_assets.launch import RunFailed, RunReport, run_job
from tests.support.fake_ib_gateway import Behaviour, FakeIbGateway
from tests.support.fixtures import sqlite_url  # noqa: F401  (fixture)
from tests.support.live_kit import (
    clear_prometheus_env,
    gateway,
    gateway_positions,
    orders_per_ref,
    paper_env,
    write_limits,
)

JOB = "us_eq_submit_orders_job"
ASSET = "us_eq/order_submissions"
DECIDED = date(2024, 3, 4)  # Monday: its targets go out at Tuesday's PRE_OPEN
PRE_OPEN = datetime(2024, 3, 5, 13, 45, tzinfo=UTC)  # 08:45 New York
QUICK = {"ops": {"us_eq__order_submissions": {"config": {"wait_s": 3.0}}}}
CLIENT_ID = 11


@dataclass
class Location:
    gw: FakeIbGateway
    settings: Settings
    defs: dg.Definitions
    instance: dg.DagsterInstance

    def submit(self, partition: str) -> RunReport:
        # The gateway frees the client id once it has seen the previous run's socket close.
        deadline = time.monotonic() + 3.0
        while CLIENT_ID in self.gw.client_ids and time.monotonic() < deadline:
            time.sleep(0.01)
        return run_job(self.defs, self.instance, JOB, partitions=(partition, partition), run_config=QUICK,
                       echo=lambda _: None)  # fmt: skip


@pytest.fixture
def location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> Iterator[Location]:  # noqa: F811
    clear_prometheus_env(monkeypatch)
    with gateway(cash=100_000.0, DDD=Behaviour.REST) as gw:
        env = paper_env(gw.port, sqlite_url, write_limits(tmp_path / "limits.yaml"), tmp_path, CLIENT_ID)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        settings = load_settings()
        runtime = RuntimeStore(settings.effective_runtime_db_url)
        runtime.upgrade()
        rows = [{"market": "US_EQ", "session": DECIDED, "decision_time": datetime(2024, 3, 4, 21, 5, tzinfo=UTC),
                 "experiment": LIVE_EXPERIMENT, "config_version": "portfolio-v1", "instrument": name, "weight": w}
                for name, w in [("AAA", 0.2), ("BBB", 0.1)]]  # fmt: skip
        runtime.upsert(target_portfolios, rows)
        runtime.close()
        defs = build_definitions(settings, clock=lambda: PRE_OPEN)
        with dg.instance_for_test() as instance:
            yield Location(gw, settings, defs, instance)


def test_submit_orders_when_run_twice_sends_each_order_once_and_records_fills(location: Location) -> None:
    first = location.submit(DECIDED.isoformat()).metadata(ASSET)
    assert (first["orders_planned"], first["orders_sent"], first["orders_skipped"]) == (2, 2, 0)
    assert (first["orders_rejected"], first["fills"], first["settled"]) == (0, 2, True)
    assert gateway_positions(location.gw) == {"AAA": 400.0, "BBB": 500.0}  # 20 000 / 50, 10 000 / 20
    assert {(o.order_type, o.tif) for o in location.gw.orders.values()} == {("MKT", "OPG")}  # IB's MOO

    second = location.submit(DECIDED.isoformat()).metadata(ASSET)
    # Held now: the same targets plan nothing new, and what the first run sent is not sent again.
    assert (second["orders_sent"], second["orders_rejected"]) == (0, 0)
    assert set(orders_per_ref(location.gw).values()) == {1}
    assert len(location.gw.orders) == 2
    runtime = RuntimeStore(location.settings.effective_runtime_db_url)
    store = ExecutionStore(runtime, ExecutionContext(Market.US_EQ, LIVE_EXPERIMENT, "any"))
    fills = store.fill_rows(DECIDED)
    runtime.close()
    assert sorted((f["instrument"], f["quantity"]) for f in fills) == [("AAA", 400.0), ("BBB", 500.0)]


def test_submit_orders_when_partition_is_not_the_latest_closed_session_fails_and_sends_nothing(
    location: Location,
) -> None:
    with pytest.raises(RunFailed, match=r"latest closed session \(2024-03-04\)"):
        location.submit("2024-03-01")
    assert location.gw.orders == {}


def test_market_sensor_when_paper_targets_the_submit_orders_job(location: Location) -> None:
    sensor = location.defs.resolve_sensor_def("us_eq_market_state_sensor")
    assert JOB in {t.job_name for t in sensor.targets}
    job = location.defs.resolve_job_def(JOB)
    assert {k.to_user_string() for k in job.asset_layer.executable_asset_keys} == {ASSET}
    daily = location.defs.resolve_job_def("us_eq_daily_cycle_job").asset_layer.executable_asset_keys
    assert dg.AssetKey(["us_eq", "order_submissions"]) not in daily
