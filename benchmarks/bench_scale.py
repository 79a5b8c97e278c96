"""The whole chain at scale (default 2,000 names x 5 years) as a backfill, on the in-process or the Celery executor.

What ``bench_backtest.py`` measures (data, encoders, then the backtest's stages as ranged partition runs: regime
model, engines, assessment model, assessment, portfolio, backtest, outcomes), run under one executor:

* ``--executor in_process``: every step in this process, as ``prometheus demo`` runs by default;
* ``--executor celery``: the distributed profile of docs/distributed.md on this machine: a fresh PostgreSQL database
  for the Dagster instance and one for the runtime store, ``--workers`` ``dagster-celery`` workers (one step at a
  time each) on a queue of their own on the RabbitMQ broker (``PROMETHEUS_CELERY_BROKER``, default
  ``pyamqp://guest@127.0.0.1:5672//``), ``PROMETHEUS_EXECUTOR=celery``: the CLI's runs send every step to the
  workers (each rebuilds the job from the definitions' recipe). The databases and the queue are removed at the end.

Figures: wall time of each stage and run, the Dagster bookkeeping share (as bench_backtest), and memory:
**peak RSS of the whole process tree** (this process, the workers and their pool processes, summed, sampled every
``--sample-s`` seconds with psutil), the peak of the largest single process, and per stage the tree's peak. With
Celery, where each step ran (worker node) is counted from the event log.

Writes JSON (``--out``, default ``$PROMETHEUS_DATA_ROOT/benchmarks/scale_<executor>.json``). ``--quick``: 60 names x
3 years (a smoke run of the same path).

A worker's pool process is replaced after a step that left it above ``--worker-max-memory-mb`` (Celery's
``--max-memory-per-child``, as ``make celery-workers`` sets it): a process that ran the assessment fits otherwise
keeps gigabytes it no longer uses while the next steps run.

Usage: python benchmarks/bench_scale.py [--executor in_process|celery] [--workers 2] [--worker-max-memory-mb 3000]
       [--names 2000] [--years 5]
       [--backtest-years 2] [--warmup-years 2] [--news-months 3] [--quick] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import psutil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(HERE))

import bench_backtest  # noqa: E402 - the chain this benchmark runs, from the same folder

DEFAULT_BROKER = "pyamqp://guest@127.0.0.1:5672//"
ADMIN_URL = os.environ.get("PG_TEST_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def say(text: str) -> None:
    print(text, flush=True)


class TreeMemory:
    """Samples the RSS of this process and all its descendants in a thread: total and largest process peaks."""

    def __init__(self, every_s: float) -> None:
        self.every_s = every_s
        self.peak_total = self.peak_single = 0
        self.stage_peaks: dict[str, int] = {}
        self.stage = "setup"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tree-memory", daemon=True)

    def _loop(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = single = 0
            for proc in [me, *me.children(recursive=True)]:
                try:
                    rss = proc.memory_info().rss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                total += rss
                single = max(single, rss)
            self.peak_total = max(self.peak_total, total)
            self.peak_single = max(self.peak_single, single)
            self.stage_peaks[self.stage] = max(self.stage_peaks.get(self.stage, 0), total)
            self._stop.wait(self.every_s)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def figures(self) -> dict[str, Any]:
        mb = 1024 * 1024
        return {"peak_tree_rss_mb": round(self.peak_total / mb, 1),
                "peak_single_process_rss_mb": round(self.peak_single / mb, 1),
                "stage_peak_tree_rss_mb": {k: round(v / mb, 1) for k, v in self.stage_peaks.items()}}  # fmt: skip


@contextmanager
def pg_database(prefix: str) -> Iterator[str]:
    """A new PostgreSQL database (URL), dropped at the end."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def write_distributed_home(home: Path, url: str) -> None:
    """DAGSTER_HOME with docs/dagster/dagster.distributed.yaml, its PostgreSQL connection taken from ``url``."""
    import dagster as dg
    import yaml
    from sqlalchemy.engine import make_url

    from prometheus_assets.partitions import LAKE_POOL

    config = yaml.safe_load((ROOT / "docs" / "dagster" / "dagster.distributed.yaml").read_text())
    parts = make_url(url)
    config["storage"]["postgres"]["postgres_db"] |= {"username": parts.username or "postgres",
                                                     "password": parts.password or "", "hostname": parts.host,
                                                     "db_name": parts.database, "port": parts.port or 5432}  # fmt: skip
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    with dg.DagsterInstance.from_config(str(home)) as instance:  # the pool's row before two runs race for it
        instance.event_log_storage.set_concurrency_slots(LAKE_POOL, 1)


@contextmanager
def celery_workers(
    count: int, queue: str, home: Path, logs: Path, max_memory_mb: int
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``count`` ``dagster-celery worker start`` processes on ``queue`` (one step at a time each), ready on return;
    a worker's pool process is replaced after a step that left it above ``max_memory_mb`` (0: never)."""
    from prometheus.core.settings import load_settings
    from prometheus_assets.executors import write_worker_config

    config = write_worker_config(load_settings(), home / "celery.yaml")
    env = dict(os.environ) | {"DAGSTER_HOME": str(home), "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                              "PYTHONPATH": str(ROOT)}  # fmt: skip
    procs, log_files = [], []
    try:
        for k in range(1, count + 1):
            log = logs / f"worker-{k}.log"
            log_files.append(log)
            with log.open("wb") as out:
                procs.append(subprocess.Popen(
                    [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app", "-y", str(config),
                     "-q", queue, "-n", f"bench-{k}-{queue[-6:]}", "-l", "INFO", "--", "--concurrency=1",
                     "--without-gossip", "--without-mingle", "--without-heartbeat",
                     *([f"--max-memory-per-child={max_memory_mb * 1024}"] if max_memory_mb else [])],
                    cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True))  # fmt: skip
        deadline = time.monotonic() + 120
        for proc, log in zip(procs, log_files, strict=True):
            while " ready." not in log.read_text(errors="replace"):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"worker not ready: {log.read_text(errors='replace')[-3000:]}")
                time.sleep(0.5)
        yield procs
    finally:
        for proc in procs:
            try:
                os.killpg(proc.pid, 15)
                proc.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(proc.pid, 9)


def delete_queue(broker: str, queue: str) -> None:
    from kombu import Connection

    with Connection(broker, connect_timeout=10) as conn:
        conn.channel().queue_delete(queue)


def steps_per_worker(root: Path, run_ids: list[str]) -> dict[str, int]:
    """Worker node -> steps it executed, over ``run_ids`` (the engine event each Celery task records)."""
    import dagster as dg

    counts: dict[str, int] = {}
    with dg.DagsterInstance.from_config(str(root / "dagster_home")) as instance:
        for run_id in run_ids:
            for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
                meta = entry.dagster_event.event_specific_data.metadata
                if "Celery worker" in meta:
                    node = str(meta["Celery worker"].value)
                    counts[node] = counts.get(node, 0) + 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--executor", choices=("in_process", "celery"), default="in_process")
    parser.add_argument("--workers", type=int, default=2, help="Celery workers (one step at a time each)")
    parser.add_argument(
        "--worker-max-memory-mb",
        type=int,
        default=3000,
        help="replace a worker's pool process after a step that left it above this RSS (0: never)",
    )
    parser.add_argument("--names", type=int, default=2000)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--backtest-years", type=int, default=2)
    parser.add_argument("--warmup-years", type=int, default=2)
    parser.add_argument("--news-months", type=int, default=3)
    parser.add_argument("--sample-s", type=float, default=1.0, help="seconds between memory samples")
    parser.add_argument("--quick", action="store_true", help="smoke run: 60 names x 3 years, 1 month of news")
    parser.add_argument("--verbose", action="store_true", help="print the runs' progress lines")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.quick:
        args.names, args.years, args.news_months, args.backtest_years, args.warmup_years = 60, 3, 1, 1, 2
    # bench_backtest.run's options: one chain, no portfolio-only re-run.
    args.no_rerun = True
    out = args.out or Path(os.environ.get("PROMETHEUS_DATA_ROOT", "data")) / "benchmarks" / (
        f"scale_{args.executor}{'_quick' if args.quick else ''}.json")  # fmt: skip
    result: dict[str, Any] = {"benchmark": "scale", "executor": args.executor, "cpu_count": os.cpu_count(),
                              "memory_total_gb": round(psutil.virtual_memory().total / 2**30, 1),
                              "names": args.names, "years": args.years, "backtest_years": args.backtest_years,
                              "warmup_years": args.warmup_years, "news_months": args.news_months,
                              "quick": args.quick, "load_average_start": os.getloadavg()}  # fmt: skip
    if args.executor == "celery":
        result["workers"] = args.workers
        result["worker_max_memory_mb"] = args.worker_max_memory_mb
    root = Path(tempfile.mkdtemp(prefix=f"bench_scale_{args.executor}_"))
    t0 = time.perf_counter()
    with TreeMemory(args.sample_s) as memory, ExitStack() as stack:
        try:
            if args.executor == "celery":
                broker = os.environ.get("PROMETHEUS_CELERY_BROKER", DEFAULT_BROKER)
                queue = f"prometheus-bench-{uuid.uuid4().hex[:12]}"
                stack.callback(delete_queue, broker, queue)
                dagster_url = stack.enter_context(pg_database("prometheus_bench_dagster"))
                runtime_url = stack.enter_context(pg_database("prometheus_bench_runtime"))
                os.environ |= {"PROMETHEUS_EXECUTOR": "celery", "PROMETHEUS_CELERY_BROKER": broker,
                               "PROMETHEUS_CELERY_QUEUE": queue, "PROMETHEUS_RUNTIME_DB_URL": runtime_url,
                               "PROMETHEUS_DATA_ROOT": str(root)}  # fmt: skip
                os.environ.pop("DAGSTER_HOME", None)
                write_distributed_home(root / "dagster_home", dagster_url)
                stack.enter_context(
                    celery_workers(args.workers, queue, root / "dagster_home", root, args.worker_max_memory_mb)
                )
                say(f"{args.workers} Celery workers ready on queue {queue}; instance and runtime store on PostgreSQL")
            original_say = bench_backtest.say

            def staged(text: str) -> None:
                # bench_backtest announces each stage; the memory sampler charges the samples to it.
                if text.startswith("# stage data"):
                    memory.stage = "backtest"
                original_say(text)

            bench_backtest.say = staged
            memory.stage = "data"
            bench_backtest.run(args, root, result)
            if args.executor == "celery":
                result["steps_per_worker"] = steps_per_worker(root, [r["run_id"] for r in result["runs"]])
        finally:
            result["total_seconds"] = round(time.perf_counter() - t0, 1)
            result["load_average_end"] = os.getloadavg()
    result |= memory.figures()
    shutil.rmtree(root, ignore_errors=True)
    say(
        f"# total {result['total_seconds']} s; peak RSS of the process tree {result['peak_tree_rss_mb']} MB, "
        f"largest process {result['peak_single_process_rss_mb']} MB; per stage {result['stage_peak_tree_rss_mb']}"
    )
    if "steps_per_worker" in result:
        say(f"# steps per worker: {result['steps_per_worker']}")
    say(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2, default=str))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str))
    say(f"written {out}")


if __name__ == "__main__":
    main()
