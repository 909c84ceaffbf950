"""The initial mirror: items, pages, links, last writes, snapshots, cursors, runs, journal, locks.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-27 01:45:57.130859
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cursors",
        sa.Column("stream", sa.String(length=300), nullable=False),
        sa.Column("value", sa.DateTime(timezone=True), nullable=True),
        sa.Column("etag", sa.String(length=300), nullable=True),
        sa.Column("etag_url", sa.Text(), nullable=True),
        sa.Column("full_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("stream"),
    )
    op.create_table(
        "github_items",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("repo", sa.String(length=200), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("state_reason", sa.String(length=40), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("merged", sa.Boolean(), nullable=False),
        sa.Column("draft", sa.Boolean(), nullable=False),
        sa.Column("assignees", sa.JSON(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=True),
        sa.Column("milestone", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("github_items", schema=None) as batch_op:
        batch_op.create_index("ix_github_items_repo_number", ["repo", "number"], unique=False)
        batch_op.create_index(batch_op.f("ix_github_items_url"), ["url"], unique=False)

    op.create_table(
        "gone_items",
        sa.Column("key", sa.String(length=1000), nullable=False),
        sa.Column("repo", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "last_applied",
        sa.Column("page_id", sa.String(length=36), nullable=False),
        sa.Column("property", sa.String(length=200), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("page_id", "property"),
    )
    op.create_table(
        "links",
        sa.Column("item_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("page_id", sa.String(length=36), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("item_id"),
        sa.UniqueConstraint("page_id"),
    )
    op.create_table(
        "locks",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "notion_pages",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("database_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=2000), nullable=True),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.Column("created_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_edited_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("in_trash", sa.Boolean(), nullable=False),
        sa.Column("gone", sa.Boolean(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notion_pages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notion_pages_database_id"), ["database_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notion_pages_key"), ["key"], unique=False)

    op.create_table(
        "operations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=2000), nullable=True),
        sa.Column("page_id", sa.String(length=36), nullable=True),
        sa.Column("item_id", sa.BigInteger(), nullable=True),
        sa.Column("item", sa.JSON(), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("restore", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("result_page_id", sa.String(length=36), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_operations_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_operations_state"), ["state"], unique=False)

    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("command", sa.String(length=40), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "snapshots",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("page_id", sa.String(length=36), nullable=False),
        sa.Column("property", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("snapshots", schema=None) as batch_op:
        batch_op.create_index("ix_snapshots_page_property", ["page_id", "property", "seen_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_snapshots_page_property")

    op.drop_table("snapshots")
    op.drop_table("runs")
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operations_state"))
        batch_op.drop_index(batch_op.f("ix_operations_run_id"))

    op.drop_table("operations")
    with op.batch_alter_table("notion_pages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notion_pages_key"))
        batch_op.drop_index(batch_op.f("ix_notion_pages_database_id"))

    op.drop_table("notion_pages")
    op.drop_table("locks")
    op.drop_table("links")
    op.drop_table("last_applied")
    op.drop_table("gone_items")
    with op.batch_alter_table("github_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_github_items_url"))
        batch_op.drop_index("ix_github_items_repo_number")

    op.drop_table("github_items")
    op.drop_table("cursors")
