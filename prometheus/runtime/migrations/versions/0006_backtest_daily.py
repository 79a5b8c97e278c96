"""Backtest daily results: one row per experiment, market and session (equity, exposures, costs, returns).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FIGURES = (
    "equity", "cash", "gross_exposure", "net_exposure", "turnover", "commission", "fees", "spread", "impact",
    "borrow", "dividends", "daily_return", "benchmark_return", "baseline_return",
)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "backtest_daily",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("experiment", sa.String(length=64), nullable=False),
        sa.Column("market", sa.String(length=16), nullable=False),
        sa.Column("session", sa.Date(), nullable=False),
        sa.Column("config_version", sa.String(length=64), nullable=False),
        sa.Column("known_at", sa.DateTime(timezone=True), nullable=False),
        *(sa.Column(name, sa.Float(), nullable=True) for name in _FIGURES),
        sa.Column("regime_label", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backtest_daily")),
        sa.UniqueConstraint("experiment", "market", "session", name=op.f("uq_backtest_daily_key")),
        comment="Daily results of a backtest (columns: prometheus.backtest.schema); costs are the session's amounts.",
    )


def downgrade() -> None:
    op.drop_table("backtest_daily")
