"""End to end: two markets' daily cycles run at the same time on Dagster's Celery executor, through two
``dagster-celery`` workers on loopback, against a PostgreSQL Dagster instance with the documented distributed
profile (docs/dagster/dagster.distributed.yaml).

Each market's steps go to its own queue (``PROMETHEUS_CELERY_QUEUE`` of its run process) and each queue has one
worker, so where every step ran is known in advance and checked from the event log: the Celery task records its
worker's node name (``name@host``) on the step. Every process runs in its own process group with a deadline and is
killed on the way out; the queues are unique to the test run and deleted afterwards (the broker is shared).
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from datetime import date
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import pytest

from prometheus.calendar import get_calendar
from prometheus.core.settings import load_settings
from prometheus.core.types import Market
from prometheus.data.ingest import default_vendor_dir
from prometheus.data.store import HistoricalStore
from prometheus_assets.executors import write_worker_config
from tests.support.celery_kit import (
    WorkerSpec,
    celery_workers,
    dagster_daemon,
    deleted_queues,
    execute_jobs,
    launch_jobs,
    process_env,
    unique_name,
    write_distributed_home,
    write_workspace,
)
from tests.support.celery_location import MARKET_TAG, cycle_job_name
from tests.support.ingest_kit import write_vendor
from tests.support.pg import fresh_pg_database

#: The two markets. EU_EQ is fed from a vendor folder here; a synthetic EU_EQ market can replace the writer below.
MARKETS = (Market.US_EQ, Market.EU_EQ)
#: One monthly partition (BACKTEST) of sessions is the cycle each run executes.
PARTITION = "2024-03-01"
FIRST, LAST = date(2024, 3, 1), date(2024, 3, 31)
SYMBOLS = ("AAA", "BBB", "CCC", "DDD")
BROKER = "pyamqp://guest@127.0.0.1:5672//"
#: Seconds the two runs together may take (each process builds the definitions; steps go through the broker).
RUNS_TIMEOUT_S = 150.0
CELERY_WORKER_KEY = "Celery worker"


def _write_delivery(root: Path, market: Market, seed: int, first: date = FIRST, last: date = LAST) -> int:
    """A small vendor delivery of ``market`` (4 names, the sessions of ``[first, last]``); returns its bars."""
    sessions = get_calendar().sessions(market.value, first.isoformat(), last.isoformat())
    rng = np.random.default_rng(seed)
    rows = []
    for k, symbol in enumerate(SYMBOLS):
        closes = 40.0 * (k + 1) * np.exp(np.cumsum(rng.normal(0.0, 0.01, len(sessions))))
        for d, c in zip(sessions, closes, strict=True):
            c = round(float(c), 2)
            rows.append({"date": d.isoformat(), "symbol": symbol, "open": c, "high": round(c * 1.005, 2),
                         "low": round(c * 0.995, 2), "close": c, "volume": 1000 + k})  # fmt: skip
    names = pl.DataFrame({"symbol": list(SYMBOLS), "name": [f"{s} {market.value}" for s in SYMBOLS],
                          "sector": "Tech", "listed": sessions[0].isoformat()})  # fmt: skip
    write_vendor(default_vendor_dir(root, market), prices=pl.DataFrame(rows), names=names)
    return len(rows)


def _worker_of_steps(instance: dg.DagsterInstance, run_id: str) -> dict[str, str]:
    """Step key -> the Celery worker node the step's task ran on (from the task's engine event)."""
    found = {}
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        metadata = entry.dagster_event.event_specific_data.metadata
        if CELERY_WORKER_KEY in metadata:
            found[entry.step_key] = metadata[CELERY_WORKER_KEY].value
    return found


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_daily_cycles_when_two_markets_run_on_celery_workers_run_in_parallel_each_step_on_its_worker(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    bars = {m: _write_delivery(data, m, seed) for seed, m in enumerate(MARKETS)}
    queues = {m: unique_name(f"prometheus-test-{m.value.lower()}") for m in MARKETS}
    with fresh_pg_database("prometheus_celery") as url, ExitStack() as stack:
        home = write_distributed_home(tmp_path / "dagster_home", url)
        settings_env = {"PROMETHEUS_DATA_ROOT": str(data), "PROMETHEUS_MARKETS": ",".join(MARKETS),
                        "PROMETHEUS_EXECUTOR": "celery", "PROMETHEUS_CELERY_BROKER": BROKER}  # fmt: skip
        env = process_env({"DAGSTER_HOME": str(home), **settings_env})
        stack.enter_context(deleted_queues(BROKER, list(queues.values())))
        specs = []
        for m in MARKETS:
            settings = load_settings(settings_env | {"PROMETHEUS_CELERY_QUEUE": queues[m]})
            config = write_worker_config(settings, tmp_path / f"celery_{m.value.lower()}.yaml")
            specs.append(WorkerSpec(unique_name(f"worker-{m.value.lower()}"), queues[m], config))
        workers = dict(zip(MARKETS, stack.enter_context(celery_workers(specs, env, tmp_path)), strict=True))

        runs = execute_jobs(
            [
                (
                    cycle_job_name(m),
                    {"dagster/partition": PARTITION, MARKET_TAG: m.value},
                    env | {"PROMETHEUS_CELERY_QUEUE": queues[m]},
                )
                for m in MARKETS
            ],  # fmt: skip
            "tests.support.celery_location",
            RUNS_TIMEOUT_S,
            tmp_path,
        )
        for run in runs:
            assert run.returncode == 0, f"{run.job} exited {run.returncode}:\n{run.output[-4000:]}"

        with dg.DagsterInstance.from_config(str(home)) as instance:
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            # The profile's writer rules are in force: one run per market, one slot per pool.
            concurrency = instance.get_concurrency_config()
            assert concurrency.pool_config.default_pool_limit == 1
            (limit,) = concurrency.run_queue_config.tag_concurrency_limits
            assert (limit["key"], limit["limit"]) == (MARKET_TAG, 1)
            windows = []
            for m in MARKETS:
                (record,) = instance.get_run_records(dg.RunsFilter(job_name=cycle_job_name(m)))
                assert record.dagster_run.status == dg.DagsterRunStatus.SUCCESS
                assert record.dagster_run.tags["dagster/partition"] == PARTITION
                windows.append((record.start_time, record.end_time))
                steps = {s.step_key: s for s in instance.get_run_step_stats(record.dagster_run.run_id)}
                prefix = m.value.lower()
                assert set(steps) == {f"{prefix}__trading_sessions", f"{prefix}_vendor_ingest"}
                assert all(s.status.value == "SUCCESS" for s in steps.values())
                # Every step ran in a Celery task on this market's worker, not in the run process.
                assert _worker_of_steps(instance, record.dagster_run.run_id) == dict.fromkeys(steps, workers[m].name)
            # The two runs overlapped in time: the cycles ran in parallel, not one after the other.
            assert max(start for start, _ in windows) < min(end for _, end in windows)

    store = HistoricalStore(data / "lake")
    for m in MARKETS:
        sessions = get_calendar().sessions(m.value, FIRST.isoformat(), LAST.isoformat())
        assert store.read("trading_sessions", market=m.value).height == len(sessions)
        prices = store.read("prices_daily", market=m.value)
        assert prices.height == bars[m]
        assert sorted(prices["symbol"].unique()) == list(SYMBOLS)


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_queued_runs_when_the_daemon_launches_them_run_one_at_a_time_per_market_on_the_workers(
    tmp_path: Path,
) -> None:
    """The deployment path of ``make dagster-daemon`` + ``make celery-workers``: runs queued on the instance, launched
    by the daemon, their steps on two workers sharing one queue; two cycles of US_EQ (February and March) never
    overlap (the profile's per-market run limit), whatever the daemon had free."""
    data = tmp_path / "data"
    _write_delivery(data, Market.US_EQ, 0, date(2024, 2, 1), LAST)
    _write_delivery(data, Market.EU_EQ, 1)
    queue = unique_name("prometheus-test-shared")
    with fresh_pg_database("prometheus_celery_daemon") as url, ExitStack() as stack:
        home = write_distributed_home(tmp_path / "dagster_home", url)
        settings_env = {"PROMETHEUS_DATA_ROOT": str(data), "PROMETHEUS_MARKETS": ",".join(MARKETS),
                        "PROMETHEUS_EXECUTOR": "celery", "PROMETHEUS_CELERY_BROKER": BROKER,
                        "PROMETHEUS_CELERY_QUEUE": queue}  # fmt: skip
        env = process_env({"DAGSTER_HOME": str(home), **settings_env})
        stack.enter_context(deleted_queues(BROKER, [queue]))
        config = write_worker_config(load_settings(settings_env), tmp_path / "celery.yaml")
        specs = [WorkerSpec(unique_name(f"worker-{k}"), queue, config) for k in (1, 2)]
        workers = stack.enter_context(celery_workers(specs, env, tmp_path))
        workspace = write_workspace(tmp_path / "workspace.yaml", "tests.support.celery_location", "prometheus_test")
        stack.enter_context(dagster_daemon(workspace, env, tmp_path))
        wanted = [(Market.US_EQ, "2024-02-01"), (Market.US_EQ, "2024-03-01"), (Market.EU_EQ, PARTITION)]
        launched = launch_jobs([(cycle_job_name(m), {"dagster/partition": p}) for m, p in wanted],
                               workspace, "prometheus_test", env, RUNS_TIMEOUT_S, tmp_path)  # fmt: skip
        for run in launched:
            assert run.returncode == 0, f"launch of {run.job} exited {run.returncode}:\n{run.output[-4000:]}"

        with dg.DagsterInstance.from_config(str(home)) as instance:
            deadline = time.monotonic() + RUNS_TIMEOUT_S
            while time.monotonic() < deadline:
                records = instance.get_run_records()
                if len(records) == len(wanted) and all(r.dagster_run.is_finished for r in records):
                    break
                time.sleep(1.0)
            records = instance.get_run_records()
            statuses = {(r.dagster_run.job_name, r.dagster_run.tags.get("dagster/partition")): r.dagster_run.status
                        for r in records}  # fmt: skip
            assert statuses == {(cycle_job_name(m), p): dg.DagsterRunStatus.SUCCESS for m, p in wanted}
            us = sorted((r.start_time, r.end_time) for r in records if r.dagster_run.job_name.startswith("us_eq"))
            assert us[0][1] <= us[1][0], f"two US_EQ runs overlapped: {us}"
            names = {w.name for w in workers}
            for record in records:
                ran_on = _worker_of_steps(instance, record.dagster_run.run_id)
                assert len(ran_on) == 2
                assert set(ran_on.values()) <= names


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_cli_run_job_when_the_executor_is_celery_sends_each_step_to_a_worker_that_rebuilds_the_job_from_the_recipe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What ``PROMETHEUS_EXECUTOR=celery prometheus ingest vendor`` (and a backtest's backfill) does: the CLI process
    runs the job, each step goes to a worker. The worker's environment names the shared instance but no data root
    and no markets: it
    rebuilds the job from the definitions' recipe stored in the run's origin, so it writes where the CLI asked."""
    from prometheus_cli import flows

    data = tmp_path / "data"
    bars = _write_delivery(data, Market.EU_EQ, 3)
    queue = unique_name("prometheus-test-cli")
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with fresh_pg_database("prometheus_celery_cli") as url, ExitStack() as stack:
        write_distributed_home(data / "dagster_home", url)
        celery_env = {"PROMETHEUS_EXECUTOR": "celery", "PROMETHEUS_CELERY_BROKER": BROKER,
                      "PROMETHEUS_CELERY_QUEUE": queue}  # fmt: skip
        stack.enter_context(deleted_queues(BROKER, [queue]))
        config = write_worker_config(load_settings(celery_env), tmp_path / "celery.yaml")
        worker_env = process_env(celery_env | {"DAGSTER_HOME": str(data / "dagster_home")})
        spec = WorkerSpec(unique_name("worker-cli"), queue, config)
        (worker,) = stack.enter_context(celery_workers([spec], worker_env, tmp_path))
        settings = load_settings(celery_env | {"PROMETHEUS_DATA_ROOT": str(data), "PROMETHEUS_MARKETS": "US_EQ"})
        lines: list[str] = []
        flows.ingest_vendor(settings, default_vendor_dir(data, Market.EU_EQ), Market.EU_EQ, None, lines.append)

        with dg.DagsterInstance.from_config(str(data / "dagster_home")) as instance:
            (record,) = instance.get_run_records(dg.RunsFilter(job_name="eu_eq_ingestion_job"))
            assert record.dagster_run.status == dg.DagsterRunStatus.SUCCESS
            ran_on = _worker_of_steps(instance, record.dagster_run.run_id)
            assert ran_on
            assert set(ran_on.values()) == {worker.name}
            steps = {s.step_key for s in instance.get_run_step_stats(record.dagster_run.run_id)}
            assert set(ran_on) == steps
    assert any("succeeded" in line for line in lines)
    prices = HistoricalStore(data / "lake").read("prices_daily", market="EU_EQ")
    assert prices.height == bars
