"""QC rules and the rejection frame every rule produces.

A rule looks at the rows that survived the rules before it and returns the rows it rejects; each rejected row is
quarantined once, under the first rule it fails (the order of :class:`QcRule` is the order rules run in), so the
counts per rule add up to the rows quarantined.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import polars as pl

from prometheus.core.types import Market
from prometheus.data.schema import QUARANTINE, UTC_DATETIME

#: Column holding the source row number (1 = first data row) while a file is processed.
ROW = "_row"


class QcRule(StrEnum):
    """Codes of the QC rules, in the order they run."""

    MISSING_VALUE = "missing_value"
    UNPARSABLE_DATE = "unparsable_date"
    UNPARSABLE_NUMBER = "unparsable_number"
    UNPARSABLE_TIME = "unparsable_time"
    NON_FINITE_NUMBER = "non_finite_number"
    FUTURE_DATE = "future_date"
    NON_POSITIVE_PRICE = "non_positive_price"
    PRICE_TOO_LARGE = "price_too_large"
    HIGH_LOW_INCONSISTENT = "high_low_inconsistent"
    NEGATIVE_VOLUME = "negative_volume"
    FRACTIONAL_VOLUME = "fractional_volume"
    VOLUME_TOO_LARGE = "volume_too_large"
    UNKNOWN_ACTION = "unknown_action"
    SPLIT_RATIO_NON_POSITIVE = "split_ratio_non_positive"
    SPLIT_RATIO_IMPLAUSIBLE = "split_ratio_implausible"
    DIVIDEND_NON_POSITIVE = "dividend_non_positive"
    LISTING_DATES_INCONSISTENT = "listing_dates_inconsistent"
    NOT_A_SESSION = "not_a_session"
    UNKNOWN_SYMBOL = "unknown_symbol"
    OUTSIDE_LISTING = "outside_listing"
    PUBLISHED_BEFORE_CLOSE = "published_before_close"
    DUPLICATE_ROW = "duplicate_row"
    DIVIDEND_NOT_BELOW_PRICE = "dividend_not_below_price"
    PRICE_SPIKE = "price_spike"
    UNCONFIRMED_JUMP = "unconfirmed_jump"
    STALE_PRICE = "stale_price"


#: Columns of a rejection frame (a quarantine row before market, source and time are attached).
REJECTION_SCHEMA = pl.Schema(
    {
        ROW: pl.Int64(),
        "field": pl.String(),
        "value": pl.String(),
        "reason": pl.String(),
        "rule": pl.String(),
        "date": pl.Date(),
        "symbol": pl.String(),
    }
)


def empty_rejections() -> pl.DataFrame:
    """A rejection frame without rows."""
    return pl.DataFrame(schema=REJECTION_SCHEMA)


def reject(
    frame: pl.DataFrame, mask: pl.Expr, rule: QcRule, field: str | pl.Expr, reason: str | pl.Expr
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split ``frame`` into (kept rows, rejections of the rows where ``mask`` holds).

    ``field`` and ``reason`` are a constant or an expression evaluated on the rejected rows; the value is the
    field's text as read (null when missing).
    """
    hit = frame.select(mask.fill_null(False).alias("_bad")).to_series()
    if not hit.any():
        return frame, empty_rejections()  # the usual case: no copy of a clean frame
    bad, kept = frame.filter(hit), frame.filter(~hit)
    field_expr = pl.lit(field) if isinstance(field, str) else field
    reason_expr = pl.lit(reason) if isinstance(reason, str) else reason
    bad = bad.with_columns(field_expr.alias("_field"))
    value = pl.lit(None, dtype=pl.String())
    for name in sorted(set(bad["_field"].to_list())):
        if name in bad.columns:
            value = pl.when(pl.col("_field") == name).then(pl.col(name).cast(pl.String)).otherwise(value)
    out = bad.select(
        pl.col(ROW).cast(pl.Int64),
        pl.col("_field").alias("field"),
        value.alias("value"),
        reason_expr.cast(pl.String).alias("reason"),
        pl.lit(rule.value).alias("rule"),
        _date_of(bad).alias("date"),
        (pl.col("symbol").cast(pl.String) if "symbol" in bad.columns else pl.lit(None, pl.String)).alias("symbol"),
    )
    return kept, out


def _date_of(frame: pl.DataFrame) -> pl.Expr:
    # While a file is parsed the typed date lives in ``_p_date``; afterwards in ``date``.
    for name in ("date", "_p_date"):
        if frame.schema.get(name) == pl.Date:
            return pl.col(name)
    return pl.lit(None, dtype=pl.Date)


def to_quarantine(rejections: pl.DataFrame, market: Market, source: str, ingested_at: datetime) -> pl.DataFrame:
    """Rejections as rows of the ``quarantine`` table."""
    return rejections.select(
        pl.lit(market.value).alias("market"),
        # The content hash of the whole delivery is known only to the publisher, which fills it in.
        pl.lit(None, dtype=pl.String).alias("delivery"),
        pl.lit(source).alias("source"),
        pl.col(ROW).alias("row"),
        "field",
        "value",
        "reason",
        "rule",
        "date",
        "symbol",
        pl.lit(ingested_at).cast(UTC_DATETIME).alias("ingested_at"),
    ).select(QUARANTINE.names)


def counts_by_rule(quarantine: pl.DataFrame) -> dict[str, int]:
    """Rows quarantined per rule code (rules without rejections omitted), in rule order."""
    if quarantine.is_empty():
        return {}
    counts = dict(quarantine.group_by("rule").len().iter_rows())
    return {r.value: int(counts[r.value]) for r in QcRule if r.value in counts}
