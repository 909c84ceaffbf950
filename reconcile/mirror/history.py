"""How far back the mirror's history reaches (for `restore --as-of`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reconcile.mirror.tables import NotionPageRow, SnapshotRow


def earliest_snapshot(session: Session, database_id: str) -> datetime | None:
    """When the mirror first saw a value of one of the board's pages (None: no history at all)."""
    query = (
        select(func.min(SnapshotRow.seen_at))
        .join(NotionPageRow, NotionPageRow.id == SnapshotRow.page_id)
        .where(NotionPageRow.database_id == database_id)
    )
    return session.scalar(query)
