"""Assessments: every score carries its calibrated expected return and its details (percentile and decile).

Before this revision no engine wrote the table, so making the columns NOT NULL loses nothing; batch mode lets SQLite
alter them (it recreates the table).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("assessments") as batch:
        batch.alter_column("expected_return", existing_type=sa.Float(), nullable=False)
        batch.alter_column("details", existing_type=sa.JSON(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("assessments") as batch:
        batch.alter_column("details", existing_type=sa.JSON(), nullable=True)
        batch.alter_column("expected_return", existing_type=sa.Float(), nullable=True)
