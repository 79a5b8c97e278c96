"""A run against a Dagster instance stored in PostgreSQL (dagster-postgres), with its events read back."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import yaml
from sqlalchemy.engine import make_url

from prometheus.core.settings import load_settings
from prometheus_assets.definitions import build_definitions
from tests.support.pg import fresh_pg_database

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.postgres
def test_run_when_instance_in_postgres_stores_events(tmp_path: Path) -> None:
    with fresh_pg_database("prometheus_dagster") as url:
        parts = make_url(url)
        config = yaml.safe_load((ROOT / "docs" / "dagster" / "dagster.postgres.yaml").read_text())
        # The documented file reads its connection from the environment; the test fills it in directly.
        config["storage"]["postgres"]["postgres_db"] |= {
            "username": parts.username or "postgres",
            "password": parts.password or "",
            "hostname": parts.host,
            "db_name": parts.database,
            "port": parts.port or 5432,
        }
        home = tmp_path / "dagster_home"
        home.mkdir()
        (home / "dagster.yaml").write_text(yaml.safe_dump(config))
        settings = load_settings({"PROMETHEUS_DATA_ROOT": str(tmp_path / "data"), "PROMETHEUS_MARKETS": "EU_EQ"})
        defs = build_definitions(settings)
        with dg.DagsterInstance.from_config(str(home)) as instance:
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            result = defs.resolve_job_def("eu_eq_trading_sessions_job").execute_in_process(
                instance=instance, partition_key="2024-03-01"
            )
            assert result.success
            run = instance.get_run_by_id(result.run_id)
            assert run is not None
            assert run.is_success
            events = instance.all_logs(result.run_id)
            materialisations = [e for e in events if e.dagster_event and e.dagster_event.is_step_materialization]
            assert len(materialisations) == 1
            assert materialisations[0].dagster_event.partition == "2024-03-01"
