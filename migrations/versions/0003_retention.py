"""0.2: retention — how far back each board's history reaches, and where the snapshot pruner resumes.

- boards.history_from: restore reaches no further back than this (the latest cutoff pruning used).
- boards.pruned_snapshot_id: snapshots up to this id were looked at by the pruner (bounded work per run).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("boards") as batch_op:
        batch_op.add_column(sa.Column("history_from", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("pruned_snapshot_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("boards") as batch_op:
        batch_op.drop_column("pruned_snapshot_id")
        batch_op.drop_column("history_from")
