"""0.2: an index for what every run asks of `last_applied`: the properties that do not converge
(`misses` at or over the threshold: a handful of rows among seven per page).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 07:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_last_applied_misses", "last_applied", ["misses"])


def downgrade() -> None:
    op.drop_index("ix_last_applied_misses", table_name="last_applied")
