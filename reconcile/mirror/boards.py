"""The boards table: one row per Notion database this mirror reconciles — its pause, and what the
job remembers between runs (the plan's watermark and mapping fingerprint, the cached schema)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from reconcile.mirror.store import upsert
from reconcile.mirror.tables import BoardRow, NotionPageRow
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


def ensure_board(session: Session, database_id: str, at: datetime) -> BoardRow:
    """The board's row, created on first use (an existing row is left as it is)."""
    row = {"database_id": database_id, "created_at": at}
    upsert(session, BoardRow, [row], ["database_id"], keep_existing=True)
    board = session.get(BoardRow, database_id)
    assert board is not None
    return board


# -- pause ---------------------------------------------------------------------------------------


def pause(session: Session, database_id: str, at: datetime, reason: str | None = None) -> Pause:
    """Pause the board; pausing again keeps the first pause's time (and reason, unless given another)."""
    ensure_board(session, database_id, at)
    current = paused(session, database_id)
    if current is not None:
        result = Pause(current.since, reason if reason is not None else current.reason)
    else:
        result = Pause(at, reason)
    _set(session, database_id, paused_at=result.since, paused_reason=result.reason)
    return result


def resume(session: Session, database_id: str) -> Pause | None:
    """Lift the board's pause; returns the pause that was lifted (None: it was not paused)."""
    current = paused(session, database_id)
    if current is not None:
        _set(session, database_id, paused_at=None, paused_reason=None)
    return current


def paused(session: Session, database_id: str) -> Pause | None:
    """The board's pause, or None when it runs (for `status`, `health` and the `reconcile_paused` metric)."""
    row = session.get(BoardRow, database_id)
    if row is None or row.paused_at is None:
        return None
    return Pause(row.paused_at, row.paused_reason)


# -- what the last applied plan covered ----------------------------------------------------------


def planned(session: Session, database_id: str) -> tuple[str | None, datetime | None]:
    """(mapping fingerprint, watermark) of the board's last plan that was applied."""
    board = session.get(BoardRow, database_id)
    return (board.mapping_fingerprint, board.planned_at) if board else (None, None)


def mark_planned(session: Session, database_id: str, fingerprint: str, watermark: datetime) -> None:
    """Remember that everything seen before `watermark` was planned under this mapping, and applied."""
    ensure_board(session, database_id, watermark)
    _set(session, database_id, mapping_fingerprint=fingerprint, planned_at=watermark)


def owns_page(session: Session, database_id: str, page_id: str) -> bool:
    """Whether the page is not known as another board's (a page the mirror does not know may be this
    board's: it was never pulled)."""
    query = select(NotionPageRow.database_id).where(NotionPageRow.id == page_id)
    owner = session.scalar(query)
    return owner is None or owner == database_id


def _set(session: Session, database_id: str, **values: Any) -> None:
    session.execute(update(BoardRow).where(BoardRow.database_id == database_id).values(**values))
