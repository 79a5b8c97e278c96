"""The executor of the code location: in process by default, Celery from the settings, and the worker config the
``dagster-celery worker start -y`` of the same settings reads."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from dagster_celery.cli import get_validated_config

from prometheus.core.errors import ConfigError
from prometheus.core.settings import load_settings
from prometheus_assets.definitions import build_definitions
from prometheus_assets.executors import executor_for, write_worker_config
from prometheus_assets.partitions import LAKE_POOL

BROKER = "pyamqp://guest@10.0.0.7:5672//"
CELERY_ENV = {"PROMETHEUS_EXECUTOR": "celery", "PROMETHEUS_CELERY_BROKER": BROKER, "PROMETHEUS_CELERY_QUEUE": "eu"}


def test_executor_for_when_no_setting_is_in_process() -> None:
    assert executor_for(load_settings({})) is dg.in_process_executor


def test_executor_for_when_celery_is_dagster_celery_with_the_settings_broker_and_queue() -> None:
    executor = executor_for(load_settings(CELERY_ENV))
    assert executor.name == "celery"
    # Configured from the settings: an empty run config resolves to the settings' broker and queue.
    config = executor.apply_config_mapping({}).value["config"]
    assert config["broker"] == BROKER
    assert config["config_source"]["task_default_queue"] == "eu"


def test_settings_when_executor_unknown_raise_config_error_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match="PROMETHEUS_EXECUTOR"):
        load_settings({"PROMETHEUS_EXECUTOR": "dask"})


def test_worker_config_when_written_is_what_dagster_celery_validates_with_the_same_broker_and_queue(
    tmp_path: Path,
) -> None:
    path = write_worker_config(load_settings(CELERY_ENV), tmp_path / "home" / "celery.yaml")
    config = get_validated_config(str(path))
    assert config["broker"] == BROKER
    assert config["backend"] == "rpc://"
    assert config["config_source"]["task_default_queue"] == "eu"
    assert config["config_source"]["worker_prefetch_multiplier"] == 1


@pytest.mark.parametrize(("env", "name"), [({}, "in_process"), (CELERY_ENV, "celery")])
def test_jobs_when_definitions_built_carry_the_executor_of_the_settings(
    tmp_path: Path, env: dict[str, str], name: str
) -> None:
    settings = load_settings({"PROMETHEUS_DATA_ROOT": str(tmp_path), "PROMETHEUS_MARKETS": "EU_EQ", **env})
    defs = build_definitions(settings)
    assert {defs.resolve_job_def(j.name).executor_def.name for j in defs.jobs} == {name}


def test_execute_in_process_when_executor_is_celery_runs_without_a_broker(tmp_path: Path) -> None:
    """The CLI's path (``execute_in_process``) stays in process whatever the setting: no broker is reached."""
    settings = load_settings({"PROMETHEUS_DATA_ROOT": str(tmp_path), "PROMETHEUS_MARKETS": "EU_EQ", **CELERY_ENV})
    job = build_definitions(settings).resolve_job_def("eu_eq_trading_sessions_job")
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance, partition_key="2024-03-01")
    assert result.success
    assert len(result.get_asset_materialization_events()) == 1


def test_lake_writers_when_definitions_built_hold_the_lake_pool(tmp_path: Path) -> None:
    # Across machines the pool, not the store's local flock, keeps two writers of the lake apart.
    defs = build_definitions(load_settings({"PROMETHEUS_DATA_ROOT": str(tmp_path)}))
    pools = {a.op.name: a.op.pool for a in defs.assets if isinstance(a, dg.AssetsDefinition)}
    writers = ["trading_sessions", "vendor_ingest", "reference_series", "encoder_model", "instrument_embeddings",
               "news_embeddings", "profiles"]  # fmt: skip
    for name in writers:
        found = [op for op in pools if op.endswith(name)]
        assert found, name
        assert all(pools[op] == LAKE_POOL for op in found), (name, pools)
    assert pools["us_eq__regime_states"] is None  # runtime-store writers are not held back by the lake
