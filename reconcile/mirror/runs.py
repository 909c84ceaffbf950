"""The runs table: one row per command that pulls or writes, for status, health and metrics."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from reconcile.logs import redact
from reconcile.mirror.clean import clean, clean_text
from reconcile.mirror.tables import RunRow


def start(session: Session, database_id: str, command: str, at: datetime, *, dry_run: bool = False) -> int:
    row = RunRow(
        database_id=database_id,
        command=command,
        dry_run=dry_run,
        status="running",
        started_at=at,
        host=socket.gethostname(),
        pid=os.getpid(),
    )
    session.add(row)
    session.flush()
    return row.id


def finish(
    session: Session,
    run_id: int,
    status: str,
    at: datetime,
    *,
    result: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    if result is not None:  # messages in it may quote a secret (JSON-escaped forms are redacted too)
        result = clean(json.loads(redact(json.dumps(result))))
    error = clean_text(redact(error)) if error else error
    values = {"status": status, "finished_at": at, "result": result, "error": error}
    session.execute(update(RunRow).where(RunRow.id == run_id).values(**values))


def mark_crashed(session: Session, database_id: str, current: int) -> int:
    """The board's runs still 'running' that are not this one died mid-way (the caller holds the lock)."""
    done = session.execute(
        update(RunRow)
        .where(RunRow.database_id == database_id, RunRow.status == "running", RunRow.id != current)
        .values(status="crashed")
    )
    return int(done.rowcount or 0)  # type: ignore[attr-defined]


def recent(session: Session, database_id: str, limit: int = 10) -> list[RunRow]:
    query = select(RunRow).where(RunRow.database_id == database_id)
    return list(session.scalars(query.order_by(RunRow.id.desc()).limit(limit)))


def last_success(
    session: Session, database_id: str, commands: Collection[str] | None = None
) -> RunRow | None:
    """The board's latest successful run that wrote (not a dry run), of these commands when given."""
    query = select(RunRow).where(
        RunRow.database_id == database_id, RunRow.status == "ok", RunRow.dry_run.is_(False)
    )
    if commands is not None:
        query = query.where(RunRow.command.in_(commands))
    query = query.order_by(RunRow.id.desc())
    query = query.limit(1)
    return session.scalars(query).first()


# A locked run did nothing and says nothing about the sync; a running one has no outcome yet.
NO_OUTCOME = ("running", "locked")


def get(session: Session, run_id: int) -> RunRow | None:
    return session.get(RunRow, run_id)


def last_outcome(
    session: Session, database_id: str, commands: Collection[str] | None = None
) -> RunRow | None:
    """The board's latest run that wrote and ended with an outcome (not a dry run, locked out or running)."""
    query = select(RunRow).where(
        RunRow.database_id == database_id, RunRow.status.not_in(NO_OUTCOME), RunRow.dry_run.is_(False)
    )
    if commands is not None:
        query = query.where(RunRow.command.in_(commands))
    return session.scalars(query.order_by(RunRow.id.desc()).limit(1)).first()


def count_by_status(session: Session, database_id: str) -> dict[str, int]:
    """How many of the board's runs ended in each status (those still running are not counted)."""
    query = (
        select(RunRow.status, func.count())
        .where(RunRow.database_id == database_id, RunRow.status != "running")
        .group_by(RunRow.status)
    )
    return {status: count for status, count in session.execute(query)}


def running_since(session: Session, database_id: str) -> datetime | None:
    """When the board's oldest run still marked running started (None: nothing is running)."""
    query = select(RunRow.started_at).where(RunRow.database_id == database_id, RunRow.status == "running")
    return session.scalars(query.order_by(RunRow.started_at).limit(1)).first()
