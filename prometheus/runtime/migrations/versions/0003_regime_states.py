"""Regime states: state, label (calm / normal / crisis), probabilities and confidence.

The table is recreated: before this revision no engine wrote it, so no rows are lost.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _decision_columns() -> list[sa.Column]:
    return [
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("market", sa.String(length=16), nullable=False),
        sa.Column("session", sa.Date(), nullable=False),
        sa.Column("decision_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("experiment", sa.String(length=64), nullable=False),
        sa.Column("config_version", sa.String(length=64), nullable=False),
    ]


def _keys() -> list[sa.schema.SchemaItem]:
    return [
        sa.PrimaryKeyConstraint("id", name=op.f("pk_regime_states")),
        sa.UniqueConstraint("market", "session", "experiment", "config_version", name=op.f("uq_regime_states_key")),
    ]


def upgrade() -> None:
    op.drop_table("regime_states")
    op.create_table(
        "regime_states",
        *_decision_columns(),
        sa.Column("state", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=16), nullable=False),
        sa.Column("probabilities", sa.JSON(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        *_keys(),
        sa.CheckConstraint("label IN ('calm', 'normal', 'crisis')", name=op.f("ck_regime_states_label")),
        comment="Regime per market and session: state ordered by volatility, label, filtered probabilities.",
    )


def downgrade() -> None:
    op.drop_table("regime_states")
    op.create_table(
        "regime_states",
        *_decision_columns(),
        sa.Column("regime", sa.String(length=32), nullable=False),
        sa.Column("probabilities", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        *_keys(),
        comment="Filtered regime label and probabilities per market and session.",
    )
