"""Revisions of point-in-time facts: what a delivery adds to the rows already stored.

Nothing stored is ever changed in place (docs/schema.md). For one fact (a revision key: the table key without
``known_at``) a delivery row is

- **unchanged** when a stored row has the same ``known_at`` and the same values (a re-delivery): nothing is added;
- **new** when the fact is not stored, or when the row's own ``known_at`` is later than every stored revision (the
  source's own timeline, e.g. an instrument's delisting version): it is added as delivered;
- a **correction** otherwise (a changed value for a time already stored). A view of the past must not see it, so
  it is added as a new revision known at the delivery's instant ``at`` (never before the latest stored revision:
  then 1 us after it). Its value is what the delivery says the fact is at that instant (its row with the greatest
  ``known_at`` by then), and nothing is added when that is already what the store serves then (a re-delivery of a
  correction, or a correction of a revision that a later one has superseded).

So ingesting the same files again adds nothing, replaying an older delivery never undoes a later correction (its
rows are all stored as they are; a vendor that reverts a correction is, by the same token, not seen), and every
view at an instant before ``at`` is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from prometheus.data.schema import UTC_DATETIME, TableSchema

#: The smallest step of the stored time stamps (microseconds).
TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class Revisions:
    """The rows a delivery adds to a table, and how its rows were classified."""

    rows: pl.DataFrame
    new: int
    revised: int
    unchanged: int


def resolve(schema: TableSchema, stored: pl.DataFrame, incoming: pl.DataFrame, at: datetime) -> Revisions:
    """The rows of ``incoming`` to add to ``stored`` (both with ``schema``'s columns), corrections known at ``at``.

    ``stored`` must hold every stored revision of the facts in ``incoming`` (their partitions).

    Raises
    ------
    ValueError
        ``schema`` is not a point-in-time table, or ``at`` is naive.
    """
    if not schema.point_in_time or at.tzinfo is None:
        raise ValueError(f"{schema.table.value}: revisions need a point-in-time table and an aware instant")
    if stored.is_empty() or incoming.is_empty():
        return Revisions(incoming, incoming.height, 0, 0)
    key, ident = list(schema.key), list(schema.revision_key)
    whole = [*key, *(c for c in schema.names if c not in schema.key)]
    rest = incoming.join(stored.select(whole), on=whole, how="anti", nulls_equal=True)
    last = stored.group_by(ident).agg(pl.col("known_at").max().alias("_last"))
    rest = rest.join(last, on=ident, how="left", nulls_equal=True)
    is_new = pl.col("_last").is_null() | (pl.col("known_at") > pl.col("_last"))
    new_rows = rest.filter(is_new).drop("_last")
    corrected = rest.filter(~is_new)
    if corrected.is_empty():
        return Revisions(new_rows, new_rows.height, 0, incoming.height - new_rows.height)
    revised = _corrections(corrected, incoming, stored, new_rows, (ident, whole), at)
    rows = pl.concat([new_rows, revised])
    return Revisions(rows, new_rows.height, revised.height, incoming.height - rows.height)


def _corrections(
    corrected: pl.DataFrame,
    incoming: pl.DataFrame,
    stored: pl.DataFrame,
    new_rows: pl.DataFrame,
    columns: tuple[list[str], list[str]],
    at: datetime,
) -> pl.DataFrame:
    """One revision at ``max(at, last + 1 us)`` per corrected fact whose current value the delivery changes."""
    ident, whole = columns
    stamp = pl.max_horizontal(pl.lit(at).cast(UTC_DATETIME), pl.col("_last") + pl.lit(TICK)).alias("_stamp")
    facts = corrected.group_by(ident).agg(pl.col("_last").first()).with_columns(stamp).drop("_last")
    # What the delivery says each fact is at the stamp: its latest row known by then.
    claimed = _latest_by_stamp(incoming.join(facts, on=ident, how="inner", nulls_equal=True), ident)
    # What the store (with this delivery's new rows) would serve at the stamp.
    known = pl.concat([stored, new_rows]).join(facts, on=ident, how="inner", nulls_equal=True)
    served = _latest_by_stamp(known, ident)
    values = [c for c in whole if c != "known_at"]
    changed = claimed.join(served.select(values), on=values, how="anti", nulls_equal=True)
    return changed.with_columns(pl.col("_stamp").alias("known_at")).select(incoming.columns)


def _latest_by_stamp(frame: pl.DataFrame, ident: list[str]) -> pl.DataFrame:
    visible = frame.filter(pl.col("known_at") <= pl.col("_stamp")).sort([*ident, "known_at"], nulls_last=True)
    return visible.unique(subset=ident, keep="last", maintain_order=True)
