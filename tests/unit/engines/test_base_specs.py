"""Every engine's declaration matches its runtime table, and its frames survive a write and a strict read."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from prometheus.core.errors import DataError
from prometheus.engines import EngineSpec
from prometheus.engines.pipeline import ENGINE_SPECS
from prometheus.runtime import RuntimeStore, unique_key
from prometheus.runtime.decision_log import DecisionLog
from prometheus.runtime.frames import IDENTITY_COLUMNS, sql_type_matches
from prometheus.runtime.tables import metadata

SPECS = list(ENGINE_SPECS.values())
BOOKKEEPING = {"id", "created_at"}


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_table_when_compared_with_the_declaration_has_its_columns_in_order(spec: EngineSpec) -> None:
    table = metadata.tables[spec.output_table]
    assert [c.name for c in table.columns if c.name not in BOOKKEEPING] == [c.name for c in spec.all_columns]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_table_when_compared_with_the_declaration_stores_each_dtype_and_nullability(spec: EngineSpec) -> None:
    table = metadata.tables[spec.output_table]
    for column in spec.all_columns:
        sql = table.c[column.name]
        assert sql_type_matches(sql, column.dtype), f"{spec.output_table}.{column.name}: {sql.type} for {column.dtype}"
        assert sql.nullable == column.nullable, f"{spec.output_table}.{column.name} nullability"


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_table_when_compared_with_the_declaration_is_unique_on_its_row_key(spec: EngineSpec) -> None:
    assert set(unique_key(metadata.tables[spec.output_table])) == set(spec.row_key)


def test_identity_columns_when_declared_once_match_every_engine_table() -> None:
    for spec in SPECS:
        table = metadata.tables[spec.output_table]
        for column in IDENTITY_COLUMNS:
            assert sql_type_matches(table.c[column.name], column.dtype), f"{spec.output_table}.{column.name}"


def test_sql_type_matches_when_nested_dtype_is_not_json_fails() -> None:
    table = metadata.tables["regime_states"]
    assert not sql_type_matches(table.c["confidence"], pl.List(pl.Float64()))
    assert not sql_type_matches(table.c["label"], pl.Int64())
    assert sql_type_matches(table.c["probabilities"], pl.List(pl.Float64()))


#: String columns kept inside a closed set by a CHECK constraint.
CLOSED_SETS = {"label": "calm"}


def _value(name: str, dtype: pl.DataType, i: int) -> Any:
    if isinstance(dtype, pl.List):
        return [0.25 * i, 1.0 - 0.25 * i]
    if isinstance(dtype, pl.Struct):
        return {f.name: (None if k == 1 else float(i + k)) for k, f in enumerate(dtype.fields)}
    if dtype.is_float():
        return 0.5 + i
    if dtype.is_integer():
        return i
    return CLOSED_SETS.get(name, f"v{i}")


def _sample(spec: EngineSpec) -> pl.DataFrame:
    rows = [
        {"market": "US_EQ", "session": date(2024, 3, 4 + i), "experiment": "x", "config_version": "v1",
         "decision_time": datetime(2024, 3, 4 + i, 21, 5, tzinfo=UTC)}
        | {c.name: _value(c.name, c.dtype, i) for c in spec.columns}
        for i in range(2)
    ]  # fmt: skip
    return pl.DataFrame(rows, schema=dict(spec.schema))


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_output_when_written_and_read_back_is_identical_with_no_lenient_cast(
    spec: EngineSpec, runtime_db_url: str
) -> None:
    store = RuntimeStore(runtime_db_url)
    store.upgrade()
    log = DecisionLog(store)
    frame = _sample(spec)
    log.write_output(spec.output_table, frame)

    back = log.read_output(spec.output_table, spec.schema, market="US_EQ", config_version="v1")

    assert_frame_equal(back.sort(list(spec.row_key)), frame.sort(list(spec.row_key)))


def test_read_output_when_a_stored_value_has_another_type_raises(runtime_db_url: str) -> None:
    spec = ENGINE_SPECS["regime"]
    store = RuntimeStore(runtime_db_url)
    store.upgrade()
    log = DecisionLog(store)
    log.write_output(spec.output_table, _sample(spec))
    wrong = dict(spec.schema) | {"probabilities": pl.Struct({"a": pl.Float64()})}

    with pytest.raises(DataError, match="probabilities"):
        log.read_output(spec.output_table, wrong, market="US_EQ")
    with pytest.raises(DataError, match="confidence"):
        log.read_output(spec.output_table, dict(spec.schema) | {"confidence": pl.Int64()}, market="US_EQ")
