"""The boards table: one row per Notion database this mirror reconciles; here, whether it is paused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from reconcile.mirror.tables import BoardRow
from reconcile.model import iso


@dataclass(frozen=True)
class Pause:
    """A board's pause: since when, and why (as the operator said)."""

    since: datetime
    reason: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"since": iso(self.since), "reason": self.reason}

    def describe(self) -> str:
        why = f": {self.reason}" if self.reason else ""
        return f"paused since {iso(self.since)}{why}"


def ensure_board(session: Session, database_id: str, at: datetime) -> None:
    """The board's row exists (idempotent; an existing row is left as it is)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    row = {"database_id": database_id, "created_at": at}
    session.execute(insert(BoardRow).values(row).on_conflict_do_nothing(index_elements=["database_id"]))


def pause(session: Session, database_id: str, at: datetime, reason: str | None = None) -> Pause:
    """Pause the board; pausing again keeps the first pause's time (and reason, unless given another)."""
    ensure_board(session, database_id, at)
    current = paused(session, database_id)
    if current is not None:
        result = Pause(current.since, reason if reason is not None else current.reason)
    else:
        result = Pause(at, reason)
    session.execute(
        update(BoardRow)
        .where(BoardRow.database_id == database_id)
        .values(paused_at=result.since, paused_reason=result.reason)
    )
    return result


def resume(session: Session, database_id: str) -> Pause | None:
    """Lift the board's pause; returns the pause that was lifted (None: it was not paused)."""
    current = paused(session, database_id)
    if current is not None:
        session.execute(
            update(BoardRow)
            .where(BoardRow.database_id == database_id)
            .values(paused_at=None, paused_reason=None)
        )
    return current


def paused(session: Session, database_id: str) -> Pause | None:
    """The board's pause, or None when it runs (for `status`, `health` and the `reconcile_paused` metric)."""
    row = session.get(BoardRow, database_id)
    if row is None or row.paused_at is None:
        return None
    return Pause(row.paused_at, row.paused_reason)
