"""Conforming a frame to a table's declared schema and splitting it by partition before it is written."""

from __future__ import annotations

import polars as pl

from prometheus.core.errors import DataError, StoreError
from prometheus.core.types import Market
from prometheus.data.schema import Partitioning, Table, TableSchema, schema_of
from prometheus.data.store._layout import Partition

# Casts that keep the values; anything else is the caller's job (and a DataError here). 64-bit integers into
# Float64 are accepted because vendors deliver volumes as integers (exact below 2**53).
_SAFE_UPCASTS: dict[type[pl.DataType], tuple[type[pl.DataType], ...]] = {
    pl.Float64: (pl.Float32, pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.Null),
    pl.Int64: (pl.Int8, pl.Int16, pl.Int32, pl.UInt8, pl.UInt16, pl.UInt32, pl.Null),
    pl.String: (pl.Categorical, pl.Enum, pl.Null),
    pl.Date: (pl.Null,),
    pl.Datetime: (pl.Null,),
    pl.Boolean: (pl.Null,),
}


def table_schema(table: Table | str) -> TableSchema:
    """The declared schema of ``table``.

    Raises
    ------
    StoreError
        ``table`` is not a historical table (the message lists the known ones).
    """
    try:
        return schema_of(table)
    except KeyError as exc:
        raise StoreError(str(exc.args[0])) from None


def conform(schema: TableSchema, frame: pl.DataFrame) -> pl.DataFrame:
    """Return ``frame`` with exactly the schema's columns, order and dtypes.

    Raises
    ------
    DataError
        A missing or unexpected column, a dtype that cannot be cast losslessly, a naive datetime, a null in a
        non-nullable column, an unknown market, or a duplicated key; the message names table, column and row.
    """
    table = schema.table.value
    missing = [c for c in schema.names if c not in frame.columns]
    if missing:
        raise DataError(f"missing column(s) {missing}; expected {list(schema.names)}", file=table, field=missing[0])
    extra = [c for c in frame.columns if c not in schema.names]
    if extra:
        raise DataError(f"unexpected column(s) {extra}; expected {list(schema.names)}", file=table, field=extra[0])
    out = pl.DataFrame([_conform_column(table, frame.get_column(c.name), c.dtype) for c in schema.columns])
    for column in schema.columns:
        if not column.nullable:
            _check_no_nulls(table, out.get_column(column.name))
    _check_markets(table, out.get_column("market"))
    _check_unique_key(schema, out)
    return out


def _conform_column(table: str, series: pl.Series, dtype: pl.DataType) -> pl.Series:
    if series.dtype == dtype:
        return series
    if isinstance(dtype, pl.Datetime):
        return _conform_datetime(table, series, dtype)
    if type(series.dtype) in _SAFE_UPCASTS.get(type(dtype), ()):
        return series.cast(dtype)
    raise DataError(f"dtype {series.dtype} where {dtype} is declared", file=table, field=series.name)


def _conform_datetime(table: str, series: pl.Series, dtype: pl.Datetime) -> pl.Series:
    if series.dtype == pl.Null:
        return series.cast(dtype)
    if not isinstance(series.dtype, pl.Datetime):
        raise DataError(f"dtype {series.dtype} where {dtype} is declared", file=table, field=series.name)
    if series.dtype.time_zone is None:
        raise DataError("naive datetimes are ambiguous; store timezone-aware UTC", file=table, field=series.name)
    # Converting an aware time zone to UTC and ns/ms to us keeps the instant (us is the store's precision).
    return series.dt.convert_time_zone("UTC").dt.cast_time_unit(dtype.time_unit)


def _check_no_nulls(table: str, series: pl.Series) -> None:
    nulls = series.is_null()
    if series.dtype.is_float():
        nulls = nulls | series.is_nan()
    if nulls.any():
        row = int(nulls.arg_true()[0])
        raise DataError(
            f"{int(nulls.sum())} null value(s) in a non-nullable column",
            file=table,
            row=row,
            field=series.name,
        )


def _check_markets(table: str, markets: pl.Series) -> None:
    known = [m.value for m in Market]
    bad = ~markets.is_in(known)
    if bad.any():
        row = int(bad.arg_true()[0])
        raise DataError(f"unknown market {markets[row]!r}; known: {known}", file=table, row=row, field="market")


def _check_unique_key(schema: TableSchema, frame: pl.DataFrame) -> None:
    dup = frame.select(schema.key).is_duplicated()
    if dup.any():
        row = int(dup.arg_true()[0])
        values = frame.row(row, named=True)
        key = {k: values[k] for k in schema.key}
        raise DataError(f"duplicated key {key}", file=schema.table.value, row=row, field=",".join(schema.key))


def period_exprs(schema: TableSchema) -> list[pl.Expr]:
    """Expressions giving the partition's year (and month) of each row, named ``year`` (and ``month``)."""
    if schema.partitioning is Partitioning.MARKET or schema.period_column is None:
        return []
    col = pl.col(schema.period_column)
    exprs = [col.dt.year().cast(pl.Int64).alias("year")]
    if schema.partitioning is Partitioning.MARKET_MONTH:
        exprs.append(col.dt.month().cast(pl.Int64).alias("month"))
    return exprs


def check_in_partition(schema: TableSchema, frame: pl.DataFrame, partition: Partition) -> None:
    """Every row of ``frame`` must belong to ``partition`` (market, and year/month of the period column).

    Raises
    ------
    DataError
        The first row that belongs elsewhere, naming its column.
    """
    table = schema.table.value
    wrong = frame.get_column("market") != partition.market.value
    if wrong.any():
        row = int(wrong.arg_true()[0])
        raise DataError(
            f"market {frame['market'][row]!r} in a write to partition {partition.label()}",
            file=table,
            row=row,
            field="market",
        )
    if not period_exprs(schema):
        return
    periods = frame.select(period_exprs(schema))
    wrong = periods.get_column("year") != partition.year
    if partition.month is not None:
        wrong = wrong | (periods.get_column("month") != partition.month)
    if wrong.any():
        row = int(wrong.arg_true()[0])
        value = frame[schema.period_column][row]
        raise DataError(
            f"{value} is outside partition {partition.label()}",
            file=table,
            row=row,
            field=schema.period_column,
        )


def split(schema: TableSchema, frame: pl.DataFrame) -> list[tuple[Partition, pl.DataFrame]]:
    """``frame`` split by partition (market, and year/month of the period column), sorted by partition."""
    exprs = period_exprs(schema)
    keyed = frame.with_columns(exprs)
    by = ["market", *(e.meta.output_name() for e in exprs)]
    out = []
    for key, part in keyed.group_by(by, maintain_order=True):
        values = dict(zip(by, key, strict=True))
        partition = Partition(Market(values["market"]), values.get("year"), values.get("month"))
        out.append((partition, part.drop(by[1:])))
    return sorted(out, key=lambda item: item[0])


def upsert(schema: TableSchema, old: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
    """``old`` with the rows whose key is in ``new`` replaced by ``new``'s."""
    kept = old.join(new.select(schema.key), on=list(schema.key), how="anti", nulls_equal=True)
    return pl.concat([kept, new])
