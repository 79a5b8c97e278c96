"""Celery workers and Dagster runs as subprocesses on loopback, for the distributed-execution tests.

Every process is started in its own session (process group) and killed as a group when its block ends or its time
is up, so a stuck worker or run can never keep a test, or CI, waiting. Queues get names unique to the test run
(the RabbitMQ server is shared by every CI run on the machine) and are deleted afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import yaml
from kombu import Connection
from sqlalchemy.engine import make_url

from prometheus_assets.partitions import LAKE_POOL

ROOT = Path(__file__).resolve().parents[2]
#: The venv of the running interpreter: its ``dagster``, ``dagster-celery`` and ``celery`` scripts.
BIN = Path(sys.executable).parent
#: Seconds a worker may take to report ready (imports dagster, celery and the worker config).
WORKER_READY_S = 90.0
#: Seconds a stopping process gets between SIGTERM and SIGKILL.
STOP_GRACE_S = 10.0


def unique_name(prefix: str) -> str:
    """``<prefix>-<12 hex>``: a queue or worker name no other test run uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def write_distributed_home(home: Path, pg_url: str) -> Path:
    """A DAGSTER_HOME with the documented distributed profile (docs/dagster/dagster.distributed.yaml), its
    PostgreSQL connection filled in from ``pg_url`` instead of the environment."""
    config = yaml.safe_load((ROOT / "docs" / "dagster" / "dagster.distributed.yaml").read_text())
    parts = make_url(pg_url)
    config["storage"]["postgres"]["postgres_db"] |= {
        "username": parts.username or "postgres",
        "password": parts.password or "",
        "hostname": parts.host,
        "db_name": parts.database,
        "port": parts.port or 5432,
    }
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    # The deployment step of docs/distributed.md (`dagster instance concurrency set prometheus_lake 1`): a pool's
    # row is created before two runs first claim it at the same moment, which races on PostgreSQL's unique key.
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.event_log_storage.set_concurrency_slots(LAKE_POOL, 1)
    return home


def process_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The environment of a child: this one without PROMETHEUS_* (the test decides them), the venv first on PATH
    (``dagster-celery worker start`` runs ``celery`` from PATH), then ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("PROMETHEUS_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(ROOT)
    return env | dict(extra)


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group of ``proc`` (warm shutdown for a Celery worker), SIGKILL what is left after the
    grace: the pool children of a worker may outlive their parent."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=STOP_GRACE_S)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=STOP_GRACE_S)


@dataclass(frozen=True)
class Worker:
    """A ``dagster-celery`` worker: its node name (``name@host``, what the step events record), queue and log."""

    name: str
    queue: str
    log: Path


@dataclass(frozen=True)
class WorkerSpec:
    """What to start: the worker's name, its queue and the ``-y`` config file."""

    name: str
    queue: str
    config_yaml: Path


@contextmanager
def celery_workers(specs: Sequence[WorkerSpec], env: Mapping[str, str], folder: Path) -> Iterator[list[Worker]]:
    """Start one ``dagster-celery worker start`` per spec (one process slot each), all at once; wait until every
    one is ready; stop them all when the block ends, however it ends.

    Raises
    ------
    RuntimeError
        A worker exited or was not ready within :data:`WORKER_READY_S`; the message holds its log's tail.
    """
    with ExitStack() as stack:
        started = []
        for spec in specs:
            log = folder / f"{spec.name}.log"
            args = [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app",
                    "-y", str(spec.config_yaml), "-q", spec.queue, "-n", spec.name, "-l", "INFO", "--",
                    # One step at a time; no gossip or mingle: the test's workers need not hear of other workers.
                    "--concurrency=1", "--without-gossip", "--without-mingle", "--without-heartbeat"]  # fmt: skip
            with log.open("wb") as out:
                proc = subprocess.Popen(args, cwd=ROOT, env=dict(env), stdout=out, stderr=subprocess.STDOUT,
                                        start_new_session=True)  # fmt: skip
            stack.callback(stop_group, proc)
            started.append((spec, proc, log))
        workers = []
        for spec, proc, log in started:
            _wait_ready(proc, log)
            node = next(line for line in log.read_text().splitlines() if " ready." in line).split()[-2]
            workers.append(Worker(node, spec.queue, log))
        yield workers


def _wait_ready(proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + WORKER_READY_S
    while time.monotonic() < deadline:
        if " ready." in log.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
    raise RuntimeError(f"celery worker {log.stem} not ready (exit code {proc.poll()}):\n{tail}")


@contextmanager
def deleted_queues(broker: str, queues: Sequence[str]) -> Iterator[None]:
    """Delete ``queues`` from the broker when the block ends, so the shared RabbitMQ keeps no test queues."""
    try:
        yield
    finally:
        with Connection(broker, connect_timeout=10) as conn:
            channel = conn.channel()
            for queue in queues:
                channel.queue_delete(queue)


@dataclass(frozen=True)
class JobRun:
    """A finished ``dagster job execute`` process: its job, exit code and output."""

    job: str
    returncode: int
    output: str


def execute_jobs(runs: Sequence[tuple[str, Mapping[str, str], Mapping[str, str]]], module: str, timeout_s: float,
                 folder: Path) -> list[JobRun]:  # fmt: skip
    """Run ``dagster job execute -m module -a defs -j <job> --tags <tags>`` for each ``(job, tags, env)`` at the
    same time, each in its own process group; wait for all, killing every one still running after ``timeout_s``.
    """
    with ExitStack() as stack:
        procs = []
        for job, tags, env in runs:
            out = stack.enter_context((folder / f"{job}.log").open("wb"))
            args = [str(BIN / "dagster"), "job", "execute", "-m", module, "-a", "defs", "-j", job,
                    "--tags", json.dumps(dict(tags))]  # fmt: skip
            proc = subprocess.Popen(args, cwd=ROOT, env=dict(env), stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)  # fmt: skip
            stack.callback(stop_group, proc)
            procs.append((job, proc))
        deadline = time.monotonic() + timeout_s
        for _, proc in procs:
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                break
    return [JobRun(job, p.returncode if p.returncode is not None else -9,
                   (folder / f"{job}.log").read_text(errors="replace")) for job, p in procs]  # fmt: skip


def write_workspace(path: Path, module: str, location: str) -> Path:
    """A workspace file with one code location: ``module:defs`` loaded from the repository root."""
    path.write_text(
        yaml.safe_dump({"load_from": [{"python_module": {"module_name": module, "attribute": "defs",
                                                         "working_directory": str(ROOT), "location_name": location}}]})
    )  # fmt: skip
    return path


@contextmanager
def dagster_daemon(workspace: Path, env: Mapping[str, str], folder: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``dagster-daemon run -w workspace`` (run queue, run launcher, monitoring) until the block ends."""
    with (folder / "daemon.log").open("wb") as out:
        proc = subprocess.Popen([str(BIN / "dagster-daemon"), "run", "-w", str(workspace)], cwd=ROOT, env=dict(env),
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        yield proc
    finally:
        stop_group(proc)


def launch_jobs(runs: Sequence[tuple[str, Mapping[str, str]]], workspace: Path, location: str,
                env: Mapping[str, str], timeout_s: float, folder: Path) -> list[JobRun]:  # fmt: skip
    """``dagster job launch`` each ``(job, tags)`` at the same time: each run is queued on the instance for the daemon
    to launch. Returns when every launch process has exited (killed after ``timeout_s``)."""
    with ExitStack() as stack:
        procs = []
        for k, (job, tags) in enumerate(runs):
            log = folder / f"launch_{k}_{job}.log"
            out = stack.enter_context(log.open("wb"))
            args = [str(BIN / "dagster"), "job", "launch", "-w", str(workspace), "-l", location, "-j", job,
                    "--tags", json.dumps(dict(tags))]  # fmt: skip
            proc = subprocess.Popen(args, cwd=ROOT, env=dict(env), stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)  # fmt: skip
            stack.callback(stop_group, proc)
            procs.append((job, proc, log))
        deadline = time.monotonic() + timeout_s
        for _, proc, _ in procs:
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                break
    return [JobRun(job, p.returncode if p.returncode is not None else -9, log.read_text(errors="replace"))
            for job, p, log in procs]  # fmt: skip
