"""Reading vendor files (CSV or Parquet) and parsing their columns, with unparsable values quarantined.

A file is read with every column as text (CSV) or as stored (Parquet), numbered from 1 (first data row), then each
declared column is parsed; a value that is present but cannot be parsed, or a required value that is missing (or
NaN), rejects its row. A file whose structure cannot be read at all (wrong field count, bad encoding, missing
columns) is a :class:`DataError` naming the file and line, and nothing is loaded from it.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import polars as pl

from prometheus.core.errors import DataError
from prometheus.data.ingest.rules import ROW, QcRule, empty_rejections, reject
from prometheus.data.schema import UTC_DATETIME

#: File suffixes a vendor file may have, in order of preference.
SUFFIXES = (".csv", ".parquet")


class Kind(StrEnum):
    """How a column is parsed."""

    TEXT = "text"
    DATE = "date"
    NUMBER = "number"
    TIME = "time"  # an instant: ISO 8601 with offset (naive = UTC), or a date (the end of that day, UTC)


@dataclass(frozen=True)
class Field:
    """One column of a vendor file: how to parse it and whether a value is required."""

    kind: Kind
    required: bool = True


@dataclass(frozen=True)
class RawFile:
    """A file as read: its label in the quarantine (``<folder>/<file>``), its path and its rows (with ``_row``)."""

    source: str
    path: Path
    frame: pl.DataFrame


def find_file(directory: Path, stem: str) -> Path | None:
    """``<stem>.csv`` or ``<stem>.parquet`` in ``directory`` (CSV first), or None."""
    for suffix in SUFFIXES:
        candidate = directory / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def read_file(path: Path, fields: Mapping[str, Field], aliases: Mapping[str, str] | None = None) -> RawFile:
    """Read ``path`` with a row number column; columns renamed by ``aliases``; unknown extra columns dropped.

    Raises
    ------
    DataError
        The file cannot be read (names the line where it can be located) or lacks a declared required column.
    """
    source = f"{path.parent.name}/{path.name}"
    try:
        if path.suffix == ".parquet":
            frame = pl.read_parquet(path)
        else:
            frame = pl.read_csv(path, infer_schema=False, encoding="utf8")
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        line = _bad_csv_line(path) if path.suffix != ".parquet" else None
        raise DataError(f"cannot parse the file: {exc}", file=str(path), row=line) from None
    frame = frame.rename({k: v for k, v in (aliases or {}).items() if k in frame.columns and v not in frame.columns})
    missing = [name for name, f in fields.items() if f.required and name not in frame.columns]
    if missing:
        raise DataError(
            f"missing column(s) {missing}; columns found: {frame.columns}", file=str(path), field=missing[0]
        )
    for name in fields:
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(name))
    frame = frame.select(list(fields)).with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))
    return RawFile(source, path, frame)


def _bad_csv_line(path: Path) -> int | None:
    """Line number (1 = header) of the first record whose field count differs from the header's."""
    try:
        with path.open(newline="", encoding="utf8") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                return 1
            for record in reader:
                if len(record) != len(header):
                    return reader.line_num
    except (UnicodeDecodeError, csv.Error, OSError):
        return None
    return None


def parse(raw: pl.DataFrame, fields: Mapping[str, Field]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Parse declared columns; returns (typed rows that parsed, rejections).

    Rules, per column in declared order: a required value missing or NaN is ``missing_value``; a value present
    but unparsable is ``unparsable_date`` / ``unparsable_number`` / ``unparsable_time``.
    """
    typed = raw.with_columns(
        [_parsed(name, f.kind, raw.schema[name]).alias(f"_p_{name}") for name, f in fields.items()]
    )
    rejected = [empty_rejections()]
    for name, f in fields.items():
        parsed = pl.col(f"_p_{name}")
        present = pl.col(name).is_not_null()
        if raw.schema[name] == pl.String:
            present = present & (pl.col(name).str.strip_chars() != "")
        if f.required:
            missing = ~present | (parsed.is_nan() if f.kind is Kind.NUMBER else pl.lit(False))
            typed, bad = reject(typed, missing, QcRule.MISSING_VALUE, name, f"{name} is missing")
            rejected.append(bad)
        rule = {
            Kind.DATE: QcRule.UNPARSABLE_DATE,
            Kind.NUMBER: QcRule.UNPARSABLE_NUMBER,
            Kind.TIME: QcRule.UNPARSABLE_TIME,
        }
        if f.kind in rule:
            typed, bad = reject(typed, present & parsed.is_null(), rule[f.kind], name, f"{name} cannot be parsed")
            rejected.append(bad)
    out = typed.select(ROW, *[pl.col(f"_p_{name}").alias(name) for name in fields])
    return out, pl.concat(rejected)


def _parsed(name: str, kind: Kind, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    if kind is Kind.TEXT:
        text = col.cast(pl.String)
        return pl.when(text.str.strip_chars() == "").then(None).otherwise(text.str.strip_chars())
    if kind is Kind.NUMBER:
        if dtype.is_numeric():
            return col.cast(pl.Float64)
        return col.str.strip_chars().cast(pl.Float64, strict=False)
    if kind is Kind.DATE:
        if dtype == pl.Date:
            return col
        if isinstance(dtype, pl.Datetime):
            return col.dt.date()
        return col.str.strip_chars().str.to_date("%Y-%m-%d", strict=False)
    return _parsed_time(col, dtype)


def _parsed_time(col: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if isinstance(dtype, pl.Datetime):
        stamp = col.dt.replace_time_zone("UTC") if dtype.time_zone is None else col.dt.convert_time_zone("UTC")
        return stamp.dt.cast_time_unit("us")
    if dtype == pl.Date:
        return (col.cast(pl.Datetime("us")) + pl.duration(days=1, microseconds=-1)).dt.replace_time_zone("UTC")
    text = col.str.strip_chars()
    with_offset = text.str.to_datetime("%Y-%m-%dT%H:%M:%S%#z", strict=False, time_unit="us", time_zone="UTC")
    spaced = text.str.to_datetime("%Y-%m-%d %H:%M:%S%#z", strict=False, time_unit="us", time_zone="UTC")
    naive = text.str.to_datetime("%Y-%m-%dT%H:%M:%S", strict=False, time_unit="us").dt.replace_time_zone("UTC")
    # A bare date says "some time that day": the end of the day is the conservative reading.
    day = text.str.to_date("%Y-%m-%d", strict=False).cast(pl.Datetime("us")) + pl.duration(days=1, microseconds=-1)
    return pl.coalesce(with_offset, spaced, naive, day.dt.replace_time_zone("UTC")).cast(UTC_DATETIME)
