"""The mirror's tables (SQLAlchemy 2.x declarative models). Alembic migrations in migrations/ follow them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite (no time zones) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the mirror")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class GitHubItemRow(Base):
    """An issue or pull request as last pulled."""

    __tablename__ = "github_items"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    repo: Mapped[str] = mapped_column(String(200))
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20))
    state_reason: Mapped[str | None] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(String(1000), index=True)
    merged: Mapped[bool] = mapped_column(Boolean, default=False)
    draft: Mapped[bool] = mapped_column(Boolean, default=False)
    assignees: Mapped[list[Any]] = mapped_column(default=list)
    labels: Mapped[list[Any]] = mapped_column(default=list)
    author: Mapped[str | None] = mapped_column(String(200))
    milestone: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    merged_at: Mapped[datetime | None]
    seen_at: Mapped[datetime]
    seen_by: Mapped[str | None] = mapped_column(String(64))  # the board whose pull stamped seen_at
    __table_args__ = (
        Index("ix_github_items_repo_number", "repo", "number"),
        Index("ix_github_items_seen_at", "seen_at"),
    )


class GoneItemRow(Base):
    """A key whose GitHub item GitHub itself says is gone (404, 410, or moved out of the configured repos)."""

    __tablename__ = "gone_items"
    key: Mapped[str] = mapped_column(String(1000), primary_key=True)
    repo: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    confirmed_at: Mapped[datetime]


class NotionPageRow(Base):
    """A page of the database as last pulled (or as the API answered our write)."""

    __tablename__ = "notion_pages"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    database_id: Mapped[str] = mapped_column(String(64), index=True)
    key: Mapped[str | None] = mapped_column(String(2000), index=True)
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)  # name -> {"type", "value"}
    created_time: Mapped[datetime]
    last_edited_time: Mapped[datetime]
    in_trash: Mapped[bool] = mapped_column(Boolean, default=False)
    gone: Mapped[bool] = mapped_column(Boolean, default=False)
    seen_at: Mapped[datetime]
    __table_args__ = (
        Index("ix_notion_pages_database_seen", "database_id", "seen_at"),
        Index("ix_notion_pages_database_edited", "database_id", "last_edited_time"),
    )


class LinkRow(Base):
    """GitHub item id <-> page id, per board: the join that survives a transferred item's new URL."""

    __tablename__ = "links"
    database_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    item_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    page_id: Mapped[str] = mapped_column(String(36), unique=True)
    linked_at: Mapped[datetime]


class LastAppliedRow(Base):
    """What this job last wrote (or adopted) per page and property, and what Notion kept of it.

    `value` is the value derived from GitHub that was sent (the base of `on_change`); `stored` is the
    property as the write's answer showed it (Notion's own form of the value); `misses` counts the
    writes of this same value in a row after which Notion still held something else (not converging).
    """

    __tablename__ = "last_applied"
    page_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    property: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    applied_at: Mapped[datetime]
    stored: Mapped[Any] = mapped_column(JSON, nullable=True)
    has_stored: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    misses: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (Index("ix_last_applied_misses", "misses"),)  # every run counts the non-converging


class SnapshotRow(Base):
    """A property value as the mirror saw it from a given instant on (history for `restore --as-of`)."""

    __tablename__ = "snapshots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    page_id: Mapped[str] = mapped_column(String(36))
    property: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(40))
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    seen_at: Mapped[datetime]
    __table_args__ = (
        Index("ix_snapshots_page_property", "page_id", "property", "seen_at"),
        Index("ix_snapshots_seen_at", "seen_at"),
    )


class CursorRow(Base):
    """Where an incremental stream resumes; advanced in the same transaction as the rows it covers."""

    __tablename__ = "cursors"
    stream: Mapped[str] = mapped_column(String(300), primary_key=True)
    value: Mapped[datetime | None]
    etag: Mapped[str | None] = mapped_column(String(300))
    etag_url: Mapped[str | None] = mapped_column(Text)
    full_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class RunRow(Base):
    """One invocation of a command that pulls or writes."""

    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    database_id: Mapped[str | None] = mapped_column(String(64))  # the board; None for runs before 0.2
    command: Mapped[str] = mapped_column(String(40))
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20))  # running | ok | partial | failed | locked | crashed
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        Index("ix_runs_database_id", "database_id", "id"),
        Index("ix_runs_started_at", "started_at"),
    )


class OperationRow(Base):
    """The journal: one planned write, stored before it is sent, its outcome committed right after."""

    __tablename__ = "operations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(Integer)
    database_id: Mapped[str | None] = mapped_column(String(64))  # the board; None for entries before 0.2
    seq: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(20))
    key: Mapped[str | None] = mapped_column(String(2000))
    page_id: Mapped[str | None] = mapped_column(String(36))
    item_id: Mapped[int | None] = mapped_column(BigInteger)
    item: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    restore: Mapped[bool] = mapped_column(Boolean, default=False)
    # pending -> sent -> applied | failed | ambiguous ; or skipped, deferred, resolved, abandoned
    state: Mapped[str] = mapped_column(String(20), index=True)
    result_page_id: Mapped[str | None] = mapped_column(String(36))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    __table_args__ = (
        Index("ix_operations_database_state", "database_id", "state"),
        Index("ix_operations_updated_at", "updated_at"),
        Index("ix_operations_run_seq", "run_id", "seq"),  # a run's entries in order; its highest seq
    )


class LockRow(Base):
    """A lease: who holds the job, until when (renewed by a heartbeat)."""

    __tablename__ = "locks"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    acquired_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class BoardRow(Base):
    """One Notion database this mirror reconciles: what the job remembers of it between runs."""

    __tablename__ = "boards"
    database_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    mapping_fingerprint: Mapped[str | None] = mapped_column(String(64))  # a changed mapping re-plans all
    planned_at: Mapped[datetime | None]  # rows seen since then are what the next plan looks at
    paused_at: Mapped[datetime | None]
    paused_reason: Mapped[str | None] = mapped_column(Text)
    schema: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the database's properties, as last read
    schema_edited_at: Mapped[datetime | None]  # the database's last_edited_time when it was read
    created_at: Mapped[datetime]
    history_from: Mapped[datetime | None]  # restore reaches no further back: the latest cutoff pruned to
    pruned_snapshot_id: Mapped[int | None] = mapped_column(BigInteger)  # the snapshot pruner resumes after it


class BudgetRow(Base):
    """A request budget shared by boards that use one integration: the next free slot to send."""

    __tablename__ = "budgets"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    next_at: Mapped[float] = mapped_column(Float)  # seconds since the epoch, by the mirror database's clock
    updated_at: Mapped[datetime]
