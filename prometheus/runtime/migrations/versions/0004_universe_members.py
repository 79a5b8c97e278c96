"""Universe members: median dollar volume and capacity; exit rows as well as member rows.

The table is recreated: before this revision no engine wrote it, so no rows are lost.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _columns() -> list[sa.Column]:
    return [
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("market", sa.String(length=16), nullable=False),
        sa.Column("session", sa.Date(), nullable=False),
        sa.Column("decision_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("experiment", sa.String(length=64), nullable=False),
        sa.Column("config_version", sa.String(length=64), nullable=False),
        sa.Column("instrument", sa.String(length=64), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=128), nullable=False),
    ]


def _keys() -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_universe_members")),
        sa.UniqueConstraint(
            "market", "session", "experiment", "config_version", "instrument", name=op.f("uq_universe_members_key")
        ),
    ]


def upgrade() -> None:
    op.drop_table("universe_members")
    op.create_table(
        "universe_members",
        *_columns(),
        sa.Column("median_dollar_volume", sa.Float(), nullable=True),
        sa.Column("capacity", sa.Float(), nullable=True),
        *_keys(),
        comment="Point-in-time tradable universe per session: a row per member (entered, stayed) and per exit.",
    )


def downgrade() -> None:
    op.drop_table("universe_members")
    op.create_table(
        "universe_members",
        *_columns(),
        *_keys(),
        comment="Point-in-time tradable universe per session (one row per member).",
    )
