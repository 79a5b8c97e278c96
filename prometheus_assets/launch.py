"""Run jobs of the code location in the local Dagster instance, so what the CLI produces shows in the UI.

The CLI's producing commands (ingest, run-engines, demo) call :func:`run_job`: the job runs in process (one run,
the in-process executor, a ranged partition run under the single-run backfill policy; with the Celery executor the
steps go to the workers, docs/distributed.md) and its events land in the
instance under ``DAGSTER_HOME`` (by default ``<data root>/dagster_home``, created on first use with a
``dagster.yaml``). Progress lines come from the run's own events, read back from the instance while it runs.

A command that runs several jobs as one piece of work (``prometheus backtest``) wraps them in
:func:`record_backfill`, so the instance also holds one asset backfill whose runs are those runs.
"""

from __future__ import annotations

import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.definitions.assets.graph.asset_graph_subset import AssetGraphSubset
from dagster._core.definitions.events import AssetKeyPartitionKey
from dagster._core.execution.asset_backfill import AssetBackfillData
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
from dagster._core.storage.tags import BACKFILL_ID_TAG
from dagster._core.utils import make_new_backfill_id

from prometheus.core.errors import PrometheusError
from prometheus.core.settings import Settings
from prometheus_assets.executors import CELERY

#: Run tags every CLI run carries (the command, and where they apply the experiment and the market).
COMMAND_TAG = "prometheus/command"
MARKET_TAG = "prometheus/market"
#: The console logger prints warnings only: progress lines come from the run's events.
QUIET_RUN_CONFIG: dict[str, Any] = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
#: How often the event log is read for progress.
POLL_SECONDS = 0.5
#: A status line (running step, steps and partitions done, time to go) after this long without another line.
HEARTBEAT_SECONDS = 30.0

DAGSTER_YAML = """\
# The local Dagster instance of this data root, written by prometheus on first use. With no `storage` block,
# runs, events and schedules live in SQLite files under this folder (DAGSTER_HOME). For PostgreSQL, add the
# `storage` block of docs/dagster/dagster.postgres.yaml (see docs/operations.md).
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 2
telemetry:
  enabled: false
"""


class RunFailed(PrometheusError):
    """A Dagster run launched by the CLI failed; the message names the failing step and its error."""


def prepare_home(home: Path) -> Path:
    """Create ``home`` with a ``dagster.yaml`` if it has none; returns it."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        tmp = config.with_suffix(".tmp")
        tmp.write_text(DAGSTER_YAML)
        tmp.replace(config)
    return home


def local_instance(settings: Settings) -> dg.DagsterInstance:
    """The instance at ``settings.dagster_home``, created on first use.

    Built from that folder rather than by setting ``DAGSTER_HOME`` for the process, so a process (a test run)
    that works on several data roots never records runs in another root's instance.
    """
    return dg.DagsterInstance.from_config(str(prepare_home(settings.dagster_home.resolve())))


def partition_range(partitions: dg.PartitionsDefinition, start: date, end: date) -> tuple[str, str] | None:
    """First and last key of the time partitions overlapping ``[start, end]`` (None when none does)."""
    if not isinstance(partitions, dg.TimeWindowPartitionsDefinition):
        raise TypeError(f"{partitions} is not a time-window partitions definition")
    keys = []
    for key in partitions.get_partition_keys():
        window = partitions.time_window_for_partition_key(key)
        if window.start.date() <= end and (window.end - timedelta(microseconds=1)).date() >= start:
            keys.append(key)
    return (keys[0], keys[-1]) if keys else None


@dataclass(frozen=True)
class RunReport:
    """What one run did: its id, time, the materialisations per asset with their metadata, the checks."""

    run_id: str
    job: str
    seconds: float
    materializations: dict[str, list[Mapping[str, Any]]] = field(default_factory=dict)
    checks: dict[tuple[str, str], bool] = field(default_factory=dict)

    def metadata(self, asset: str) -> Mapping[str, Any]:
        """Metadata values of the last materialisation of ``asset`` (``us_eq/regime_states``), plain values."""
        found = self.materializations.get(asset)
        if not found:
            raise KeyError(f"{asset} was not materialised by run {self.run_id}")
        return found[-1]

    @property
    def failed_checks(self) -> list[str]:
        """``asset: check`` of every check that did not pass."""
        return [f"{a}: {c}" for (a, c), passed in sorted(self.checks.items()) if not passed]


def run_job(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    job: str,
    *,
    partitions: tuple[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
    run_config: Mapping[str, Any] | None = None,
    echo: Callable[[str], None] = print,
) -> RunReport:
    """Run ``job`` of ``defs`` over the partition range ``partitions`` (first, last key), echoing progress from its
    events: in process, or, when the job's executor is Celery (``PROMETHEUS_EXECUTOR=celery``), from this process
    with each step sent to the workers (the instance must then be the workers' PostgreSQL instance).

    Raises
    ------
    RunFailed
        The run failed: the message names the failing step and its error.
    """
    job_def = defs.resolve_job_def(job)
    all_tags = dict(tags or {})
    if partitions is not None:
        all_tags |= {"dagster/asset_partition_range_start": partitions[0],
                     "dagster/asset_partition_range_end": partitions[1]}  # fmt: skip
    config = _merge(QUIET_RUN_CONFIG, run_config or {})
    run_id = str(uuid.uuid4())
    outcome: dict[str, Any] = {}

    # Only the code location's Celery executor leaves the process; any other job runs in process as before.
    distributed = job_def.executor_def.name == CELERY

    def execute() -> None:
        try:
            if distributed:
                outcome["result"] = _execute_distributed(defs, instance, job, run_id, config, all_tags)
            else:
                outcome["result"] = job_def.execute_in_process(
                    run_config=config, instance=instance, run_id=run_id, tags=all_tags, raise_on_error=False
                )
        except BaseException as exc:  # noqa: BLE001 - reported on the main thread
            outcome["error"] = exc

    span = f" partitions {partitions[0]}..{partitions[1]}" if partitions else ""
    echo(f"run {run_id[:8]} {job}{span}")
    t0 = time.perf_counter()
    worker = threading.Thread(target=execute, name=f"dagster-{job}", daemon=True)
    worker.start()
    cursor: str | None = None
    progress = _Progress(
        steps=len(job_def.nodes_in_topological_order),
        partitions=_partition_count(job_def, partitions),
        expected=_expected_step_seconds(instance, job_def, partitions),
    )
    while True:
        alive = worker.is_alive()
        cursor = _echo_events(instance, run_id, cursor, t0, progress, echo)
        if not alive:
            break
        if time.perf_counter() - progress.last_line >= HEARTBEAT_SECONDS:
            progress.last_line = time.perf_counter()
            echo(f"  [{time.perf_counter() - t0:7.1f}s] {progress.status(time.perf_counter())}")
        worker.join(POLL_SECONDS)
    if "error" in outcome:
        raise RunFailed(f"{job}: {type(outcome['error']).__name__}: {outcome['error']}") from outcome["error"]
    report = _report(instance, run_id, job, time.perf_counter() - t0)
    if not outcome["result"].success:
        raise RunFailed(f"{job} failed ({_failure(instance, run_id)}); run {run_id} in the Dagster UI")
    echo(f"run {run_id[:8]} succeeded in {report.seconds:.1f} s")
    return report


def _execute_distributed(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    job: str,
    run_id: str,
    run_config: Mapping[str, Any],
    tags: Mapping[str, str],
) -> dg.ExecuteJobResult | Any:
    """Run ``job`` on its executor (Celery) from this process: the run is created with a reconstructable origin,
    so each step task tells the worker how to rebuild the job (module function plus the definitions' recipe)."""
    from dagster._core.execution.api import execute_run

    from prometheus_assets.definitions import reconstructable_job

    if instance.is_ephemeral:
        raise RunFailed(f"{job}: a distributed executor needs a persistent instance shared with its workers "
                        "(PostgreSQL storage in DAGSTER_HOME/dagster.yaml, docs/distributed.md)")  # fmt: skip
    # dagster-celery registers its one task on a new Celery app per run; from the second run of a process Celery
    # warns that the (identical) task is already registered, once per run, on the command's output.
    warnings.filterwarnings("ignore", message="Task name 'execute_plan' is already registered")
    recon = reconstructable_job(defs, job)
    dagster_run = instance.create_run_for_job(
        job_def=recon.get_definition(),
        run_id=run_id,
        run_config=run_config,
        tags=tags,
        job_code_origin=recon.get_python_origin(),
    )
    return execute_run(recon, dagster_run, instance, raise_on_error=False)


@contextmanager
def record_backfill(
    instance: dg.DagsterInstance,
    defs: dg.Definitions,
    *,
    tags: Mapping[str, str],
    title: str | None = None,
    description: str | None = None,
) -> Iterator[dict[str, str]]:
    """Record the runs launched inside the block as one asset backfill of the instance (the UI's backfills page).

    Yields the run tags that link a run to the backfill (``dagster/backfill``); pass them to every
    :func:`run_job` of the block. On leaving the block the backfill is added to the instance, already finished:
    its target is the assets and partitions those runs covered (each run's job and partition range), its
    materialised partitions are those the runs' events report, its status is ``COMPLETED_SUCCESS``,
    ``COMPLETED_FAILED`` (the block raised) or ``CANCELED`` (interrupted), and it carries ``tags``.

    It is added only when the work is over because the backfill daemon executes every backfill it finds
    ``REQUESTED``: a backfill recorded in a terminal status is shown, never run again. While the block runs, its
    runs are in the instance under the backfill's id (the runs page with "show runs within backfills").
    """
    backfill_id = make_new_backfill_id()
    started = time.time()
    status = BulkActionStatus.CANCELED
    try:
        yield {BACKFILL_ID_TAG: backfill_id}
        status = BulkActionStatus.COMPLETED_SUCCESS
    except Exception:
        status = BulkActionStatus.COMPLETED_FAILED
        raise
    finally:
        backfill = _finished_backfill(instance, defs, backfill_id, started, status, tags, title, description)
        if backfill is not None:
            instance.add_backfill(backfill)


def _finished_backfill(
    instance: dg.DagsterInstance,
    defs: dg.Definitions,
    backfill_id: str,
    started: float,
    status: BulkActionStatus,
    tags: Mapping[str, str],
    title: str | None,
    description: str | None,
) -> PartitionBackfill | None:
    """The backfill of the runs tagged with ``backfill_id`` (None when there is none)."""
    graph = defs.resolve_asset_graph()
    target: set[AssetKeyPartitionKey] = set()
    done: set[AssetKeyPartitionKey] = set()
    for run in instance.get_runs(filters=dg.RunsFilter(tags={BACKFILL_ID_TAG: backfill_id})):
        start = run.tags.get("dagster/asset_partition_range_start")
        end = run.tags.get("dagster/asset_partition_range_end")
        for key in defs.resolve_job_def(run.job_name).asset_layer.selected_asset_keys:
            pdef = graph.get(key).partitions_def
            if pdef is None:
                target.add(AssetKeyPartitionKey(key))
            elif start is not None and end is not None:
                keys = pdef.get_partition_keys_in_range(dg.PartitionKeyRange(start, end))
                target.update(AssetKeyPartitionKey(key, k) for k in keys)
        for record in _all_records(instance, run.run_id, dg.DagsterEventType.ASSET_MATERIALIZATION):
            m = record.event_log_entry.dagster_event.event_specific_data.materialization
            done.add(AssetKeyPartitionKey(m.asset_key, m.partition))
    if not target:
        return None
    target_subset = AssetGraphSubset.from_asset_partition_set(target, graph)
    done_subset = AssetGraphSubset.from_asset_partition_set(done & target, graph)
    data = AssetBackfillData.from_asset_graph_subset(target_subset, instance, started)._replace(
        requested_runs_for_target_roots=True,
        requested_subset=target_subset,
        materialized_subset=done_subset,
        failed_and_downstream_subset=target_subset - done_subset
        if status is BulkActionStatus.COMPLETED_FAILED
        else AssetGraphSubset.create_empty_subset(),
    )
    return PartitionBackfill(
        backfill_id=backfill_id,
        status=status,
        from_failure=False,
        tags=dict(tags),
        backfill_timestamp=started,
        asset_selection=sorted(target_subset.asset_keys),
        title=title,
        description=description,
        asset_backfill_data=data,
        backfill_end_timestamp=time.time(),
    )


def _merge(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) else v
    return out


def _partition_count(job_def: dg.JobDefinition, partitions: tuple[str, str] | None) -> int:
    """Partitions of the range a run covers (0 for an unpartitioned run)."""
    pdef = job_def.partitions_def
    if partitions is None or pdef is None:
        return 0
    return len(pdef.get_partition_keys_in_range(dg.PartitionKeyRange(*partitions)))


def _expected_step_seconds(
    instance: dg.DagsterInstance, job_def: dg.JobDefinition, partitions: tuple[str, str] | None
) -> dict[str, float]:
    """Expected seconds per step from the last successful run of the same job in the instance, scaled by the
    number of partitions (a step's time grows with the sessions it walks); empty when there is none."""
    previous = instance.get_runs(filters=dg.RunsFilter(job_name=job_def.name, statuses=[dg.DagsterRunStatus.SUCCESS]),
                                 limit=1)  # fmt: skip
    if not previous:
        return {}
    run = previous[0]
    before = run.tags.get("dagster/asset_partition_range_start"), run.tags.get("dagster/asset_partition_range_end")
    now, then = _partition_count(job_def, partitions), 0
    if before[0] is not None and before[1] is not None:
        then = _partition_count(job_def, (before[0], before[1]))
    scale = now / then if now and then else 1.0
    return {s.step_key: scale * (s.end_time - s.start_time) for s in instance.get_run_step_stats(run.run_id)
            if s.start_time is not None and s.end_time is not None}  # fmt: skip


@dataclass
class _Progress:
    """What a run has done so far, from its events: steps finished, partitions materialised, the running step.

    ``expected`` holds each step's expected seconds (from the job's last successful run), which gives the time
    to go; without it the estimate is the mean time of the finished steps times the steps left.
    """

    steps: int = 0
    partitions: int = 0
    expected: Mapping[str, float] = field(default_factory=dict)
    last_line: float = field(default_factory=time.perf_counter)
    running: dict[str, float] = field(default_factory=dict)  # step -> start (perf_counter)
    finished: dict[str, float] = field(default_factory=dict)  # step -> seconds
    materialised: int = 0  # (asset, partition) pairs over the run
    step_partitions: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)

    def line(self, entry: Any) -> list[str]:
        """Lines to print for one event (none for most)."""
        event = entry.dagster_event
        if event is None:
            return []
        kind, step = event.event_type, event.step_key or ""
        if kind == dg.DagsterEventType.STEP_START:
            self.running[step] = time.perf_counter()
            return [f"{step} started (step {len(self.finished) + 1}/{self.steps})"]
        if kind == dg.DagsterEventType.ASSET_MATERIALIZATION:
            m = event.event_specific_data.materialization
            key = m.asset_key.to_user_string()
            self.step_partitions[key] = self.step_partitions.get(key, 0) + 1
            self.materialised += 1
            rows = m.metadata.get("dagster/row_count")
            self.rows[key] = int(rows.value) if rows is not None else 0  # the run's count, on every partition
            return []
        if kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            e = event.event_specific_data
            verdict = "passed" if e.passed else f"FAILED ({e.severity.value.lower()})"
            return [f"check {e.asset_key.to_user_string()} {e.check_name}: {verdict}"]
        if kind in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
            started = self.running.pop(step, None)
            self.finished[step] = time.perf_counter() - started if started is not None else 0.0
            of = f"/{self.partitions}" if self.partitions else ""
            done = [f"materialised {k}: {n}{of} partition(s), {self.rows[k]} rows"
                    for k, n in self.step_partitions.items()]  # fmt: skip
            self.step_partitions.clear()
            self.rows.clear()
            verdict = "done" if kind == dg.DagsterEventType.STEP_SUCCESS else "FAILED"
            return [*done, f"{step} {verdict} in {self.finished[step]:.1f}s ({len(self.finished)}/{self.steps} steps)"]
        return []

    def remaining(self, now: float) -> float | None:
        """Seconds to go by the estimate (None when there is nothing to base one on)."""
        left = max(self.steps - len(self.finished) - len(self.running), 0)
        if self.expected:
            typical = sum(self.expected.values()) / len(self.expected)
            pending = [k for k in self.expected if k not in self.finished and k not in self.running]
            running = sum(max(self.expected.get(k, typical) - (now - t), 0.0) for k, t in self.running.items())
            unknown = max(left - len(pending), 0) * typical
            return running + sum(self.expected[k] for k in pending) + unknown
        if not self.finished:
            return None
        mean = sum(self.finished.values()) / len(self.finished)
        return left * mean + sum(max(mean - (now - t), 0.0) for t in self.running.values())

    def status(self, now: float) -> str:
        """One status line: the running step and for how long, steps and partitions done, time to go."""
        running = ", ".join(f"{k} running for {now - t:.0f}s" for k, t in self.running.items()) or "between steps"
        parts = [running, f"steps {len(self.finished)}/{self.steps} done"]
        if self.partitions:
            total = self.partitions * self.steps
            parts.append(f"partitions {self.materialised}/{total} materialised")
        left = self.remaining(now)
        parts.append(f"about {left:.0f}s to go" if left is not None else "time to go unknown yet")
        return "; ".join(parts)


def _echo_events(
    instance: dg.DagsterInstance,
    run_id: str,
    cursor: str | None,
    t0: float,
    progress: _Progress,
    echo: Callable[[str], None],
) -> str | None:
    while True:
        page = instance.get_records_for_run(run_id, cursor=cursor, limit=500)
        for record in page.records:
            for line in progress.line(record.event_log_entry):
                progress.last_line = time.perf_counter()
                echo(f"  [{time.perf_counter() - t0:7.1f}s] {line}")
        cursor = page.cursor if page.records else cursor
        if not page.has_more:
            return cursor


def _report(instance: dg.DagsterInstance, run_id: str, job: str, seconds: float) -> RunReport:
    mats: dict[str, list[Mapping[str, Any]]] = {}
    checks: dict[tuple[str, str], bool] = {}
    for record in _all_records(instance, run_id):
        event = record.event_log_entry.dagster_event
        if event is None:
            continue
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            m = event.event_specific_data.materialization
            mats.setdefault(m.asset_key.to_user_string(), []).append({k: v.value for k, v in m.metadata.items()})
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            e = event.event_specific_data
            checks[(e.asset_key.to_user_string(), e.check_name)] = e.passed
    return RunReport(run_id, job, seconds, mats, checks)


def _all_records(
    instance: dg.DagsterInstance, run_id: str, of_type: dg.DagsterEventType | None = None
) -> Sequence[Any]:
    out, cursor = [], None
    while True:
        page = instance.get_records_for_run(run_id, cursor=cursor, of_type=of_type, limit=1000)
        out.extend(page.records)
        cursor = page.cursor
        if not page.has_more:
            return out


def _failure(instance: dg.DagsterInstance, run_id: str) -> str:
    """The failing step and the user error behind it."""
    for record in _all_records(instance, run_id):
        event = record.event_log_entry.dagster_event
        if event is not None and event.event_type == dg.DagsterEventType.STEP_FAILURE:
            error = event.event_specific_data.error
            cause = error
            while cause.cause is not None:  # the user's exception, not Dagster's wrapper
                cause = cause.cause
            return f"step {event.step_key}: {cause.cls_name}: {cause.message.strip()}"
    return "no step failed; see the run's logs"
