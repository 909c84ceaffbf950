"""0.2: retention, and items shared by several boards.

- boards.history_from: restore reaches no further back than this (the latest cutoff pruning used).
- boards.pruned_snapshot_id: snapshots up to this id were looked at by the pruner (bounded work per run).
- github_items.seen_by: the board whose pull stamped seen_at (another board's stamp is not to be
  compared with this board's plan watermark).

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
    with op.batch_alter_table("github_items") as batch_op:
        batch_op.add_column(sa.Column("seen_by", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("github_items") as batch_op:
        batch_op.drop_column("seen_by")
    with op.batch_alter_table("boards") as batch_op:
        batch_op.drop_column("pruned_snapshot_id")
        batch_op.drop_column("history_from")
