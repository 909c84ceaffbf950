"""The runs table: one row per command that pulls or writes, for status, health and metrics."""

from __future__ import annotations

import json
import os
import socket
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
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


def last_success(session: Session, database_id: str) -> RunRow | None:
    query = select(RunRow).where(
        RunRow.database_id == database_id, RunRow.status == "ok", RunRow.dry_run.is_(False)
    )
    query = query.order_by(RunRow.id.desc())
    query = query.limit(1)
    return session.scalars(query).first()
