"""How far back the mirror's history reaches (for `restore --as-of`), and the values it saw then."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reconcile.mirror.retention import history_from
from reconcile.mirror.tables import NotionPageRow, SnapshotRow
from reconcile.model import Prop, from_json


def earliest_snapshot(session: Session, database_id: str) -> datetime | None:
    """When the mirror first saw a value of one of the board's pages (None: no history at all)."""
    query = (
        select(func.min(SnapshotRow.seen_at))
        .join(NotionPageRow, NotionPageRow.id == SnapshotRow.page_id)
        .where(NotionPageRow.database_id == database_id)
    )
    return session.scalar(query)


def reach(session: Session, database_id: str, now: datetime, retention: timedelta) -> datetime | None:
    """The earliest instant `restore --as-of` may name: not before the first value the mirror saw,
    nor before `mirror.retention` (however far pruning has got), nor before any cutoff already
    pruned to. None when the mirror has no history of the board at all."""
    earliest = earliest_snapshot(session, database_id)
    if earliest is None:
        return None
    pruned = history_from(session, database_id)
    return max(earliest, now - retention, *([pruned] if pruned else []))


def values_at(session: Session, database_id: str, as_of: datetime) -> dict[tuple[str, str], Prop]:
    """Each (page, property) of the board's pages as the mirror saw it at `as_of` (the last snapshot at
    or before it, by seen_at then id)."""
    values: dict[tuple[str, str], Prop] = {}
    query = (
        select(SnapshotRow.page_id, SnapshotRow.property, SnapshotRow.type, SnapshotRow.value)
        .join(NotionPageRow, NotionPageRow.id == SnapshotRow.page_id)
        .where(NotionPageRow.database_id == database_id, SnapshotRow.seen_at <= as_of)
        .order_by(SnapshotRow.seen_at, SnapshotRow.id)
    )
    for row in session.execute(query):
        values[(row.page_id, row.property)] = Prop(row.type, from_json(row.value))
    return values
