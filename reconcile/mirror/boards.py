"""The boards table: what the job remembers of each Notion database between runs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from reconcile.mirror.store import upsert
from reconcile.mirror.tables import BoardRow


def ensure_board(session: Session, database_id: str, at: datetime) -> BoardRow:
    """The board's row, created on first use."""
    upsert(
        session,
        BoardRow,
        [{"database_id": database_id, "created_at": at}],
        ["database_id"],
        keep_existing=True,
    )
    board = session.get(BoardRow, database_id)
    assert board is not None
    return board


def planned(session: Session, database_id: str) -> tuple[str | None, datetime | None]:
    """(mapping fingerprint, watermark) of the board's last plan that was applied."""
    board = session.get(BoardRow, database_id)
    return (board.mapping_fingerprint, board.planned_at) if board else (None, None)


def mark_planned(session: Session, database_id: str, fingerprint: str, watermark: datetime) -> None:
    """Remember that everything seen before `watermark` was planned under this mapping, and applied."""
    ensure_board(session, database_id, watermark)
    session.execute(
        update(BoardRow)
        .where(BoardRow.database_id == database_id)
        .values(mapping_fingerprint=fingerprint, planned_at=watermark)
    )
