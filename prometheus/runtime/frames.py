"""Output frames and runtime tables: the identity columns declared once, one dtype map, strict round trips.

Engine and execution rows share five identity columns (ARCHITECTURE section 3). Polars frames are the engines'
currency; the runtime store keeps them in SQL tables whose list and struct columns are JSON. A frame read back is
built with its declared schema and no lenient cast, so a table that drifts from its declaration fails loudly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

import polars as pl
import sqlalchemy as sa

from prometheus.core.errors import DataError
from prometheus.data.schema import UTC_DATETIME, Column
from prometheus.runtime.tables.base import UTCDateTime

#: The identity columns every engine output starts with, in order.
IDENTITY_COLUMNS: tuple[Column, ...] = (
    Column("market", pl.String(), "market id"),
    Column("session", pl.Date(), "session decided, in the market's time zone"),
    Column("decision_time", UTC_DATETIME, "when the decision was made (its known_at), UTC"),
    Column("experiment", pl.String(), "experiment name ('live' for PAPER/LIVE)"),
    Column("config_version", pl.String(), "lineage version: config hash folded with the upstream versions"),
)
#: Their names.
IDENTITY: tuple[str, ...] = tuple(c.name for c in IDENTITY_COLUMNS)


def sql_type_matches(column: sa.Column[Any], dtype: pl.DataType) -> bool:
    """Whether the SQL ``column`` stores ``dtype`` faithfully (nested dtypes as JSON)."""
    t = column.type
    if isinstance(dtype, pl.List | pl.Struct | pl.Array):
        return isinstance(t, sa.JSON)
    if isinstance(dtype, pl.Datetime):
        return isinstance(t, UTCDateTime) and dtype.time_zone == "UTC"
    if isinstance(dtype, pl.Date):
        return isinstance(t, sa.Date) and not isinstance(t, sa.DateTime)
    if dtype.is_integer():
        return isinstance(t, sa.Integer)
    if dtype.is_float():
        return isinstance(t, sa.Float)
    if isinstance(dtype, pl.String):
        return isinstance(t, sa.String)
    if isinstance(dtype, pl.Boolean):
        return isinstance(t, sa.Boolean)
    return False


def rows_of(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """The rows of ``frame`` as plain Python values (nested columns become lists and dicts, which JSON takes)."""
    return [{k: jsonable(v) for k, v in row.items()} for row in frame.to_dicts()]


def frame_of(rows: Iterable[Mapping[str, Any]], schema: Mapping[str, pl.DataType], *, source: str = "") -> pl.DataFrame:
    """A frame with exactly ``schema`` from rows read back from a table.

    Strict: Polars' constructor would turn a float into an integer or a JSON list into a struct of nulls; every
    column is checked first, so a table that drifted from its declaration fails instead of being reshaped.

    Raises
    ------
    DataError
        A value whose type does not fit its column's declared dtype (names ``source`` and the column).
    """
    data = [{name: row[name] for name in schema} for row in rows]
    for name, dtype in schema.items():
        problem = _misfit([r[name] for r in data], dtype)
        if problem:
            raise DataError(f"{source or 'rows'}: column {name!r} declared {dtype}: {problem}", field=name)
    return pl.DataFrame(data, schema=dict(schema), orient="row")


#: Python types a value read back may have, per scalar dtype (JSON keeps whole floats as ints: 1.0 -> 1).
def _scalar_types(dtype: pl.DataType) -> tuple[type, ...]:
    if dtype.is_integer():
        return (int,)
    if dtype.is_float():
        return (float, int)
    if isinstance(dtype, pl.Boolean):
        return (bool,)
    if isinstance(dtype, pl.String):
        return (str,)
    if isinstance(dtype, pl.Datetime):
        return (datetime,)
    if isinstance(dtype, pl.Date):
        return (date,)
    return (object,)


def _misfit(values: list[Any], dtype: pl.DataType) -> str | None:
    """What is wrong with ``values`` as a column of ``dtype`` (None: nothing)."""
    present = [v for v in values if v is not None]
    if isinstance(dtype, pl.List | pl.Array):
        if any(not isinstance(v, list) for v in present):
            return "a value is not a list"
        return _misfit([x for v in present for x in v], dtype.inner)
    if isinstance(dtype, pl.Struct):
        fields = {f.name: f.dtype for f in dtype.fields}
        if any(not isinstance(v, Mapping) or set(v) != set(fields) for v in present):
            return f"a value is not a mapping with exactly the fields {sorted(fields)}"
        for name, inner in fields.items():
            problem = _misfit([v[name] for v in present], inner)
            if problem:
                return f"field {name!r}: {problem}"
        return None
    allowed = _scalar_types(dtype)
    # bool is an int in Python; an integer column holding True is a drift too.
    wrong = {
        type(v).__name__ for v in present if not isinstance(v, allowed) or (isinstance(v, bool) and bool not in allowed)
    }
    return f"values of type {sorted(wrong)}" if wrong else None


def jsonable(value: Any) -> Any:
    """``value`` with Polars series, mappings and tuples turned into JSON-able lists and dicts."""
    if isinstance(value, pl.Series):
        return value.to_list()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
