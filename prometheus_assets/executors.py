"""The executor of the code location's jobs, chosen by ``PROMETHEUS_EXECUTOR`` when the definitions are built.

``in_process`` (the default) runs every step of a run in the run's own process: torch-sized imports are paid once,
which is what backtests and tests want. ``celery`` is Dagster's own distributed executor (``dagster-celery``): the
run process submits each step as a Celery task on ``PROMETHEUS_CELERY_QUEUE`` of the broker in
``PROMETHEUS_CELERY_BROKER``, and a worker started with ``dagster-celery worker start`` executes it against the
run's instance (which must then be PostgreSQL: every worker writes its events there). docs/distributed.md.

The CLI's producing commands follow the setting too: :func:`prometheus_assets.launch.run_job` runs a Celery job from
the command's process with its steps on the workers (rebuilt from the definitions' recipe,
:func:`prometheus_assets.definitions.rebuild_job`); tests build their settings without it and run in process.

Run as a module, it writes the worker configuration of the settings (``python -m prometheus_assets.executors
celery.yaml``), the file ``dagster-celery worker start -y`` reads, so the workers and the executor agree on the
broker and the queue by construction.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import dagster as dg
import yaml
from dagster_celery import celery_executor

from prometheus.core.settings import Settings, load_settings

#: Executor names (``PROMETHEUS_EXECUTOR``).
IN_PROCESS = "in_process"
CELERY = "celery"
#: The Celery application the workers run (``dagster-celery worker start -A``).
CELERY_APP = "dagster_celery.app"


def celery_config(settings: Settings) -> dict[str, Any]:
    """The ``celery_executor`` configuration of ``settings``: broker and queue (results over the broker, ``rpc://``).

    ``worker_prefetch_multiplier: 1``: a worker reserves one step at a time, so a long step does not hold back
    steps another idle worker could run.
    """
    return {
        "broker": settings.celery_broker,
        "backend": "rpc://",
        "config_source": {"task_default_queue": settings.celery_queue, "worker_prefetch_multiplier": 1},
    }


def executor_for(settings: Settings) -> dg.ExecutorDefinition:
    """The executor of every job of the code location: in process, or Celery configured from ``settings``."""
    if settings.executor == CELERY:
        # Configured here, not in run config: the workers are started from the same settings (worker_config).
        return celery_executor.configured(celery_config(settings), name=CELERY)
    return dg.in_process_executor


def worker_config(settings: Settings) -> dict[str, Any]:
    """The YAML document of ``dagster-celery worker start -y``: the executor block the workers must match."""
    return {"execution": {"config": celery_config(settings)}}


def write_worker_config(settings: Settings, path: Path) -> Path:
    """Write :func:`worker_config` to ``path`` (folders created); returns it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(worker_config(settings), sort_keys=False))
    return path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m prometheus_assets.executors <worker config yaml to write>")
    print(write_worker_config(load_settings(), Path(sys.argv[1])))  # noqa: T201 - the Makefile reads the path
