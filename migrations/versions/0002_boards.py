"""0.2: boards (several databases in one mirror), Notion's stored form of our writes, shared budgets, indexes.

- links are per board: (database_id, item_id); existing links take their page's database.
- runs and journal entries name their board; existing ones take the mirror's only database, if it has one.
- last_applied keeps what Notion stored after our write (`stored`, `has_stored`) and `misses`.
- boards: mapping fingerprint, plan watermark, pause, cached schema. budgets: shared request pacing.
- indexes for the lookups a run makes and for retention.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 02:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "boards",
        sa.Column("database_id", sa.String(length=64), nullable=False),
        sa.Column("mapping_fingerprint", sa.String(length=64), nullable=True),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_reason", sa.Text(), nullable=True),
        sa.Column("schema", sa.JSON(), nullable=True),
        sa.Column("schema_edited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("database_id"),
    )
    op.create_table(
        "budgets",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("next_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    _links_per_board()
    only = _only_database()
    for table, index in (("runs", "ix_runs_database_id"), ("operations", "ix_operations_database_state")):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("database_id", sa.String(length=64), nullable=True))
        if only is not None:
            op.execute(sa.text(f"UPDATE {table} SET database_id = :db").bindparams(db=only))
        columns = ["database_id", "id"] if table == "runs" else ["database_id", "state"]
        op.create_index(index, table, columns)
    op.create_index("ix_runs_started_at", "runs", ["started_at"])
    op.create_index("ix_operations_updated_at", "operations", ["updated_at"])
    with op.batch_alter_table("last_applied") as batch_op:
        batch_op.add_column(sa.Column("stored", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("has_stored", sa.Boolean(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("misses", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix_github_items_seen_at", "github_items", ["seen_at"])
    op.create_index("ix_notion_pages_database_seen", "notion_pages", ["database_id", "seen_at"])
    op.create_index("ix_notion_pages_database_edited", "notion_pages", ["database_id", "last_edited_time"])
    op.create_index("ix_snapshots_seen_at", "snapshots", ["seen_at"])


def _links_per_board() -> None:
    """Rebuild links with the board in their key; a link whose page the mirror does not know is dropped
    (links are rebuilt from the key property on the next run)."""
    op.create_table(
        "links_v2",
        sa.Column("database_id", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("page_id", sa.String(length=36), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("database_id", "item_id"),
        sa.UniqueConstraint("page_id", name="uq_links_page_id"),
    )
    op.execute(
        "INSERT INTO links_v2 (database_id, item_id, page_id, linked_at) "
        "SELECT p.database_id, l.item_id, l.page_id, l.linked_at "
        "FROM links l JOIN notion_pages p ON p.id = l.page_id"
    )
    op.drop_table("links")
    op.rename_table("links_v2", "links")


def _only_database() -> str | None:
    """The database the mirror's pages belong to, when there is exactly one."""
    rows = op.get_bind().execute(sa.text("SELECT DISTINCT database_id FROM notion_pages")).fetchall()
    return rows[0][0] if len(rows) == 1 else None


def downgrade() -> None:
    op.drop_index("ix_snapshots_seen_at", "snapshots")
    op.drop_index("ix_notion_pages_database_edited", "notion_pages")
    op.drop_index("ix_notion_pages_database_seen", "notion_pages")
    op.drop_index("ix_github_items_seen_at", "github_items")
    with op.batch_alter_table("last_applied") as batch_op:
        batch_op.drop_column("misses")
        batch_op.drop_column("has_stored")
        batch_op.drop_column("stored")
    op.drop_index("ix_operations_updated_at", "operations")
    op.drop_index("ix_runs_started_at", "runs")
    for table, index in (("runs", "ix_runs_database_id"), ("operations", "ix_operations_database_state")):
        op.drop_index(index, table)
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("database_id")
    op.create_table(
        "links_v1",
        sa.Column("item_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("page_id", sa.String(length=36), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("item_id"),
        sa.UniqueConstraint("page_id"),
    )
    op.execute(
        "INSERT INTO links_v1 (item_id, page_id, linked_at) "
        "SELECT item_id, MIN(page_id), MIN(linked_at) FROM links GROUP BY item_id"
    )
    op.drop_table("links")
    op.rename_table("links_v1", "links")
    op.drop_table("budgets")
    op.drop_table("boards")
