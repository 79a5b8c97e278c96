"""Metadata and check results every asset area shares: images, column schemas, table previews, check outcomes.

Thin conversions from library values to Dagster's metadata types; no computation.
"""

import base64
from collections.abc import Sequence
from datetime import date

import dagster as dg
import polars as pl

from prometheus.data.checks import CheckOutcome, Severity
from prometheus.data.schema import Column

#: Rows shown in a table preview.
PREVIEW_ROWS = 20


def png_markdown(png: bytes, alt: str) -> dg.MetadataValue:
    """A PNG as inline markdown metadata (the UI shows it as an image)."""
    return dg.MetadataValue.md(f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()})")


def column_schema(columns: Sequence[Column]) -> dg.TableSchema:
    """Declared columns as Dagster's column schema (``dagster/column_schema``)."""
    return dg.TableSchema(columns=[dg.TableColumn(c.name, str(c.dtype), description=c.meaning) for c in columns])


def table_preview(frame: pl.DataFrame) -> dg.MetadataValue:
    """The first rows of ``frame`` as a table (nested values shown as their text)."""
    head = frame.head(PREVIEW_ROWS)
    records = [dg.TableRecord({k: _cell(v) for k, v in row.items()}) for row in head.iter_rows(named=True)]
    return dg.MetadataValue.table(
        records, dg.TableSchema(columns=[dg.TableColumn(c, str(t)) for c, t in head.schema.items()])
    )


def _cell(value: object) -> str | int | float | bool | None:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def check_result(outcome: CheckOutcome, prefix: str = "") -> dg.AssetCheckResult:
    """A library check outcome as a Dagster asset check result (``prefix`` names the table of an extra output)."""
    severity = dg.AssetCheckSeverity.WARN if outcome.severity is Severity.WARN else dg.AssetCheckSeverity.ERROR
    return dg.AssetCheckResult(
        check_name=f"{prefix}{outcome.name.value}",
        passed=outcome.passed,
        severity=severity,
        description=outcome.description,
        metadata=dict(outcome.metadata),
    )
