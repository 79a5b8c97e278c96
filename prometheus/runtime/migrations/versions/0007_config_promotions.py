"""Config promotions: the engine configs PAPER and LIVE run from a session on, each promotion or rollback a row.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "config_promotions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("engine", sa.String(length=32), nullable=False),
        sa.Column("market", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("config_version", sa.String(length=64), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("proposal_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("decided_by", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("action IN ('PROMOTE', 'ROLLBACK')", name=op.f("ck_config_promotions_action")),
        sa.CheckConstraint("mode IN ('PAPER', 'LIVE')", name=op.f("ck_config_promotions_mode")),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["kronos_proposals.id"],
            name=op.f("fk_config_promotions_proposal_id_kronos_proposals"),
            ondelete="SET NULL",
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("id", name=op.f("pk_config_promotions")),
        comment="Engine configs promoted for PAPER/LIVE (or rolled back), append-only: the audit trail.",
    )
    op.create_index(op.f("ix_config_promotions_engine_market_mode"), "config_promotions",
                    ["engine", "market", "mode"], unique=False)  # fmt: skip


def downgrade() -> None:
    op.drop_index(op.f("ix_config_promotions_engine_market_mode"), table_name="config_promotions")
    op.drop_table("config_promotions")
