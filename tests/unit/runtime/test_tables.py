"""The runtime schema: every table of the design, identity columns, keys and types."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from prometheus.runtime import tables, unique_key
from prometheus.runtime.frames import IDENTITY as DECISION_COLUMNS
from prometheus.runtime.tables import UTCDateTime, metadata

ENGINE_OUTPUT_TABLES = (
    "engine_decisions",
    "regime_states",
    "stability_scores",
    "fragility_scores",
    "assessments",
    "universe_members",
    "target_portfolios",
    "risk_reports",
    "scenario_sets",
    "scenario_results",
    "decision_outcomes",
)
EXPECTED_TABLES = {
    *ENGINE_OUTPUT_TABLES,
    "engine_configs",
    "engine_runs",
    "backtest_runs",
    "kronos_reports",
    "kronos_proposals",
    "alerts",
    "market_states",
    "risk_state",
}


def test_metadata_when_loaded_holds_every_runtime_table() -> None:
    assert EXPECTED_TABLES <= set(metadata.tables)
    for name in EXPECTED_TABLES:
        assert getattr(tables, name) is metadata.tables[name]


@pytest.mark.parametrize("name", ENGINE_OUTPUT_TABLES)
def test_engine_output_table_when_inspected_has_identity_columns_in_its_key(name: str) -> None:
    table = metadata.tables[name]
    for column in DECISION_COLUMNS:
        assert not table.c[column].nullable, f"{name}.{column}"
    key = unique_key(table)
    assert {"market", "session", "experiment", "config_version"} <= set(key)
    assert "decision_time" not in key


def test_engine_decisions_key_when_inspected_is_the_replace_key() -> None:
    assert unique_key(tables.engine_decisions) == [
        "engine",
        "market",
        "session",
        "experiment",
        "config_version",
        "decision_key",
    ]


def test_engine_configs_key_when_inspected_is_config_version() -> None:
    assert unique_key(tables.engine_configs) == ["config_version"]


def test_constraint_names_when_generated_fit_postgresql_limit() -> None:
    for table in metadata.sorted_tables:
        names = [c.name for c in table.constraints] + [i.name for i in table.indexes]
        for name in names:
            assert name is not None
            assert len(name) <= 63, f"{table.name}: {name}"


@pytest.mark.parametrize(("dialect", "expected"), [(sqlite.dialect(), "INTEGER"), (postgresql.dialect(), "BIGINT")])
def test_id_column_when_compiled_uses_backend_autoincrement_type(dialect: sa.Dialect, expected: str) -> None:
    compiled = tables.engine_decisions.c.id.type.compile(dialect=dialect)
    assert compiled == expected


def test_utc_datetime_when_naive_value_bound_raises() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        UTCDateTime().process_bind_param(datetime(2024, 1, 2, 21, 0), postgresql.dialect())  # noqa: DTZ001


def test_utc_datetime_when_offset_value_bound_for_sqlite_is_converted_to_utc() -> None:
    eastern = timezone(timedelta(hours=-5))
    bound = UTCDateTime().process_bind_param(datetime(2024, 1, 2, 16, 0, tzinfo=eastern), sqlite.dialect())
    assert bound == datetime(2024, 1, 2, 21, 0)  # noqa: DTZ001
    read = UTCDateTime().process_result_value(bound, sqlite.dialect())
    assert read == datetime(2024, 1, 2, 21, 0, tzinfo=UTC)
    assert read is not None
    assert read.tzinfo is UTC
