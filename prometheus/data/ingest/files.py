"""Reading vendor files (CSV or Parquet) and parsing their columns, with unparsable values quarantined.

A file is read with every column as text (CSV) or as stored (Parquet), numbered from 1 (first data row), then each
declared column is parsed; a value that is present but cannot be parsed, a non-finite number, or a required value
that is missing (empty, NaN or a null spelling such as ``NA``) rejects its row. A file whose structure cannot be
read at all (empty, wrong field count, bad encoding, an unterminated quote, a duplicated or missing column) is a
:class:`DataError` naming the file and line (or field), and nothing is loaded from it.

CSV dialect: comma-separated, RFC 4180 quoting (embedded commas, quotes and newlines), LF, CRLF or CR line
endings, blank lines ignored; UTF-8 with or without a byte-order mark, or UTF-16 / UTF-32 with one (a BOM makes the
encoding unambiguous; anything else that is not valid UTF-8 is an error rather than a guess). Header names are
matched after trimming spaces and lower-casing, in any order.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.csv as pa_csv

from prometheus.core.errors import DataError
from prometheus.data.ingest.rules import ROW, QcRule, empty_rejections, reject
from prometheus.data.schema import UTC_DATETIME

#: File suffixes a vendor file may have.
SUFFIXES = (".csv", ".parquet")
#: Spellings of "no value" in date, number and time columns (compared lower-cased): a missing value, never an
#: unparsable one. Text columns keep them as text (``NA`` may be a ticker).
NULL_SPELLINGS = ("", "nan", "-nan", "+nan", "na", "n/a", "#n/a", "null", "none")
#: Byte-order marks and the encoding each one announces (UTF-32 first: its LE mark starts with UTF-16's).
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf8"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))  # fmt: skip
#: ISO 8601 calendar date, zero-padded: anything else (``2024/01/05``, ``01/05/2024``, ``2024-1-5``) is rejected
#: rather than guessed.
_ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"


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
    """``<stem>.csv`` or ``<stem>.parquet`` in ``directory``, or None.

    Raises
    ------
    DataError
        Both exist: which one is the delivery is not ours to guess.
    """
    found = [directory / f"{stem}{suffix}" for suffix in SUFFIXES if (directory / f"{stem}{suffix}").is_file()]
    if len(found) > 1:
        names = " and ".join(p.name for p in found)
        raise DataError(f"both {names} exist: keep exactly one file per table", file=str(found[0]))
    return found[0] if found else None


def read_file(path: Path, fields: Mapping[str, Field], aliases: Mapping[str, str] | None = None) -> RawFile:
    """Read ``path`` with a row number column; columns renamed by ``aliases``; unknown extra columns dropped.

    Raises
    ------
    DataError
        The file cannot be read (names the line where it can be located), is empty, or has a duplicated or
        missing required column (names the column).
    """
    source = f"{path.parent.name}/{path.name}"
    aliases = aliases or {}
    if path.suffix == ".parquet":
        frame = _read_parquet(path)
        header = frame.columns
        picked = _picked(header, set(fields), aliases, path)
        frame = frame.select(list(picked)).rename(picked)
    else:
        header, frame = _read_csv(path, set(fields), aliases)
    frame = frame.rename({k: v for k, v in aliases.items() if k in frame.columns and v not in frame.columns})
    missing = [name for name, f in fields.items() if f.required and name not in frame.columns]
    if missing:
        raise DataError(f"missing column(s) {missing}; columns found: {header}", file=str(path), field=missing[0])
    for name in fields:
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(name))
    frame = frame.select(list(fields)).with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))
    return RawFile(source, path, frame)


def _picked(columns: list[str], wanted: set[str], aliases: Mapping[str, str], path: Path) -> dict[str, str]:
    """The columns to read, each under its trimmed, lower-cased name; a declared column that appears twice is an
    error (which copy is meant?). Undeclared columns are dropped unread."""
    picked: dict[str, str] = {}
    for name in columns:
        key = name.strip().lower()
        if aliases.get(key, key) not in wanted:
            continue
        twin = next((raw for raw, k in picked.items() if k == key), None)
        if twin is not None:
            raise DataError(f"column {key!r} appears twice in the header ({twin!r} and {name!r})", file=str(path),
                            row=1, field=key)  # fmt: skip
        picked[name] = key
    return picked


def _read_parquet(path: Path) -> pl.DataFrame:
    try:
        return pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataError(f"cannot read the Parquet file: {exc}", file=str(path)) from None


# ------------------------------------------------------------------------------------------------------- CSV
def _encoding(path: Path) -> str:
    """The encoding a byte-order mark announces; UTF-8 without one."""
    with path.open("rb") as handle:
        head = handle.read(4)
    if not head:
        raise DataError("the file is empty (no header row)", file=str(path), row=1)
    return next((name for bom, name in _BOMS if head.startswith(bom)), "utf8")


def _python_codec(encoding: str) -> str:
    # Python keeps a UTF-8 BOM as a character unless asked to drop it.
    return "utf-8-sig" if encoding == "utf8" else encoding


def _header(path: Path, encoding: str) -> list[str]:
    """The header record (read with Python's csv module: a few bytes, exact quoting)."""
    try:
        with path.open(newline="", encoding=_python_codec(encoding)) as handle:
            header = next(csv.reader(handle), None)
    except UnicodeDecodeError:
        # The decoder reads ahead of the header: the bad byte may sit on any line of the first block.
        line, what = _locate(path, encoding, 0)
        raise DataError(f"cannot parse the file: {what}", file=str(path), row=line) from None
    except csv.Error as exc:
        raise DataError(f"cannot read the header: {exc}", file=str(path), row=1) from None
    if not header or not any(name.strip() for name in header):
        raise DataError("the file is empty (no header row)", file=str(path), row=1)
    return header


def _read_csv(path: Path, wanted: set[str], aliases: Mapping[str, str]) -> tuple[list[str], pl.DataFrame]:
    """The header, and every declared column as text (extra columns are never materialised)."""
    encoding = _encoding(path)
    header = _header(path, encoding)
    picked = _picked(header, wanted, aliases, path)  # a duplicated column fails before anything is read
    keep = list(picked)
    options = (
        pa_csv.ReadOptions(encoding=encoding, block_size=8 << 20),
        pa_csv.ParseOptions(newlines_in_values=True, ignore_empty_lines=True),
        # Text only: a column is parsed by its declaration, never by what a reader infers from its first rows.
        pa_csv.ConvertOptions(
            column_types={name: pa.string() for name in header},
            include_columns=keep,
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    try:
        table = pa_csv.read_csv(path, *options)
    except (pa.ArrowException, UnicodeDecodeError) as exc:
        line, what = _locate(path, encoding, len(header))
        if line is None and what == "no data rows":
            return header, pl.DataFrame(schema=dict.fromkeys(picked.values(), pl.String))
        raise DataError(f"cannot parse the file: {what or exc}", file=str(path), row=line) from None
    return header, pl.DataFrame(pl.from_arrow(table)).rename(picked)


def _locate(path: Path, encoding: str, width: int) -> tuple[int | None, str]:
    """Line (1 = header) and description of the first problem a reader met; ``(None, "no data rows")`` for a
    header without rows. Only runs after a read failed, so a slow exact pass is fine."""
    if encoding == "utf8":
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    byte = raw[exc.start]
                    return number, f"not valid UTF-8 (byte 0x{byte:02X} at column {exc.start + 1}): save it as UTF-8"
    rows = 0
    with path.open(newline="", encoding=_python_codec(encoding)) as handle:
        reader = csv.reader(handle)
        try:
            next(reader, None)
            for record in reader:
                if not record:
                    continue  # a blank line
                rows += 1
                if width and len(record) != width:
                    return reader.line_num, f"{len(record)} field(s) where the header has {width}"
        except UnicodeDecodeError as exc:
            return reader.line_num + 1, f"not valid {encoding.upper()} ({exc.reason})"
        except csv.Error as exc:
            return reader.line_num, f"{exc} (an unterminated quote?)"
    return (None, "no data rows") if rows == 0 else (None, "")


# --------------------------------------------------------------------------------------------------- parsing
def parse(raw: pl.DataFrame, fields: Mapping[str, Field]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Parse declared columns; returns (typed rows that parsed, rejections).

    Rules, per column in declared order: a required value missing (empty, NaN, a null spelling) is
    ``missing_value``; a value present but unparsable is ``unparsable_date`` / ``unparsable_number`` /
    ``unparsable_time``; an infinite number (``inf``, ``1e999``) is ``non_finite_number``. A NaN or null spelling
    in an optional column is a null.
    """
    typed = raw.with_columns(
        [_parsed(name, f.kind, raw.schema[name]).alias(f"_p_{name}") for name, f in fields.items()]
    )
    unparsable = {Kind.DATE: QcRule.UNPARSABLE_DATE, Kind.NUMBER: QcRule.UNPARSABLE_NUMBER,
                  Kind.TIME: QcRule.UNPARSABLE_TIME}  # fmt: skip
    rejected = [empty_rejections()]
    for name, f in fields.items():
        parsed = pl.col(f"_p_{name}")
        present = _present(name, f.kind, raw.schema[name])
        if f.required:
            typed, bad = reject(typed, ~present, QcRule.MISSING_VALUE, name, f"{name} is missing")
            rejected.append(bad)
        if f.kind in unparsable:
            reason = pl.format("{} {} is not {}", pl.lit(name), pl.col(name).cast(pl.String), pl.lit(_EXPECTED[f.kind]))
            typed, bad = reject(typed, present & parsed.is_null(), unparsable[f.kind], name, reason)
            rejected.append(bad)
        if f.kind is Kind.NUMBER:
            reason = pl.format("{} {} is not a finite number", pl.lit(name), pl.col(name).cast(pl.String))
            typed, bad = reject(typed, parsed.is_infinite(), QcRule.NON_FINITE_NUMBER, name, reason)
            rejected.append(bad)
    out = typed.select(ROW, *[pl.col(f"_p_{name}").alias(name) for name in fields])
    return out, pl.concat(rejected)


_EXPECTED = {
    Kind.DATE: "an ISO date YYYY-MM-DD",
    Kind.NUMBER: "a plain decimal number (point as decimal mark, no thousands separators or currency signs)",
    Kind.TIME: "an ISO 8601 instant (e.g. 2024-01-10T21:05:00Z)",
}


def _present(name: str, kind: Kind, dtype: pl.DataType) -> pl.Expr:
    """Whether a value is there at all (as opposed to empty, null, NaN or a null spelling)."""
    col = pl.col(name)
    if dtype == pl.String:
        text = col.str.strip_chars()
        blank = text.str.to_lowercase().is_in(NULL_SPELLINGS) if kind is not Kind.TEXT else text == ""
        return col.is_not_null() & ~blank
    if dtype.is_float():
        return col.is_not_null() & ~col.is_nan()
    return col.is_not_null()


def _parsed(name: str, kind: Kind, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    if kind is Kind.TEXT:
        text = col.cast(pl.String)
        return pl.when(text.str.strip_chars() == "").then(None).otherwise(text.str.strip_chars())
    if kind is Kind.NUMBER:
        number = (
            col.cast(pl.Float64)
            if dtype.is_numeric()
            else col.cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
        )
        return number.fill_nan(None)
    if kind is Kind.DATE:
        if dtype == pl.Date:
            return col
        if isinstance(dtype, pl.Datetime):
            return col.dt.date()
        text = col.cast(pl.String).str.strip_chars()
        return pl.when(text.str.contains(_ISO_DATE)).then(text.str.to_date("%Y-%m-%d", strict=False))
    return _parsed_time(col, dtype)


def _parsed_time(col: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if isinstance(dtype, pl.Datetime):
        stamp = col.dt.replace_time_zone("UTC") if dtype.time_zone is None else col.dt.convert_time_zone("UTC")
        return stamp.dt.cast_time_unit("us")
    if dtype == pl.Date:
        return (col.cast(pl.Datetime("us")) + pl.duration(days=1, microseconds=-1)).dt.replace_time_zone("UTC")
    text = col.cast(pl.String).str.strip_chars()
    with_offset = text.str.to_datetime("%Y-%m-%dT%H:%M:%S%#z", strict=False, time_unit="us", time_zone="UTC")
    spaced = text.str.to_datetime("%Y-%m-%d %H:%M:%S%#z", strict=False, time_unit="us", time_zone="UTC")
    naive = text.str.to_datetime("%Y-%m-%dT%H:%M:%S", strict=False, time_unit="us").dt.replace_time_zone("UTC")
    # A bare date says "some time that day": the end of the day is the conservative reading.
    day = pl.when(text.str.contains(_ISO_DATE)).then(text.str.to_date("%Y-%m-%d", strict=False))
    end_of_day = day.cast(pl.Datetime("us")) + pl.duration(days=1, microseconds=-1)
    return pl.coalesce(with_offset, spaced, naive, end_of_day.dt.replace_time_zone("UTC")).cast(UTC_DATETIME)
