"""Output schema of the Universe engine (table ``universe_members``) and the reasons of entries and exits."""

from __future__ import annotations

from enum import StrEnum

import polars as pl

from prometheus.data.schema import Column, Table
from prometheus.engines.base import EngineSpec


class UniverseReason(StrEnum):
    """Values of ``reason``: why a name is a member (ENTERED, STAYED) or why it left (every other value).

    An exit names the first screen that failed in this order: delisted, QC, history, price, volume; a name that
    passes every screen and leaves does so on rank.
    """

    ENTERED = "entered"  # not a member at the previous session; rank <= enter_rank
    STAYED = "stayed"  # a member at the previous session; rank <= leave_rank
    DELISTED = "delisted"  # delisting date known and <= the session, or no longer listed
    QC = "qc"  # a quarantined bar within qc_window
    HISTORY = "history"  # fewer than min_history bars within history_window
    PRICE = "price"  # last close below price_floor
    VOLUME = "volume"  # median dollar volume below volume_floor
    RANK = "rank"  # passes every screen, rank > leave_rank


#: Reasons of member rows; every other reason is an exit row.
MEMBER_REASONS: frozenset[UniverseReason] = frozenset({UniverseReason.ENTERED, UniverseReason.STAYED})
#: ``rank`` of a name that failed a screen (ranks start at 1 and count only names passing every screen).
UNRANKED = 0

#: Inputs, output table and columns: one row per member and session, plus one row per exit.
UNIVERSE_SPEC = EngineSpec(
    name="universe",
    description="Point-in-time tradable universe per session: screens (listed, price, median dollar volume, "
    "history, QC), dollar-volume rank with hysteresis, capacity; member rows and exit rows with their reason.",
    output_table="universe_members",
    columns=(
        Column("instrument", pl.String(), "symbol"),
        Column(
            "rank",
            pl.Int64(),
            "median dollar volume rank among names passing every screen (1 = largest; 0 = screened out)",
        ),  # fmt: skip
        Column("reason", pl.String(), "UniverseReason: entered / stayed (member) or why the name left"),
        Column(
            "median_dollar_volume",
            pl.Float64(),
            "median close x volume over volume_window (no bar = 0); null when no longer listed",
            nullable=True,
        ),  # fmt: skip
        Column(
            "capacity",
            pl.Float64(),
            "participation x median dollar volume, per session (null on exit rows)",
            nullable=True,
        ),  # fmt: skip
    ),
    inputs=(Table.INSTRUMENTS, Table.PRICES_ADJUSTED, Table.QUARANTINE),
    key=("instrument",),
    decision_columns=("rank", "reason"),
)


def members(frame: pl.DataFrame) -> pl.DataFrame:
    """The member rows of a ``universe_members`` frame (exit rows dropped)."""
    return frame.filter(pl.col("reason").is_in([str(r) for r in MEMBER_REASONS]))
