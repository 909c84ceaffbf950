"""Retention (`mirror.retention`): a board's runs, journal entries and snapshots older than the cutoff are
deleted, a bounded batch per call, each batch in the caller's (short) transaction.

What is still needed is never deleted:
- journal entries not settled (pending, sent, ambiguous): recovery looks them up;
- the board's last successful run (health reads it), the running run, and runs that still have entries;
- per (page, property), the newest snapshot at or before the cutoff, so that `restore --as-of` any instant
  from the cutoff on still finds every value.

Snapshots are walked in id order from where the last call stopped (`boards.pruned_snapshot_id`): each
snapshot at or before the cutoff deletes the older ones of its (page, property). A run's work is
therefore the history written since the last prune, not the whole history, and a first prune of a
large old mirror spreads over several runs.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from reconcile.mirror.boards import ensure_board
from reconcile.mirror.journal import UNSETTLED
from reconcile.mirror.tables import BoardRow, NotionPageRow, OperationRow, RunRow, SnapshotRow


def _board(column: Any, board: str) -> ColumnElement[bool]:
    """Rows of the board, and rows from before 0.2 that name no board (no other board owns them).

    Written as an expression (not `= board OR IS NULL`) so that no index on the column is chosen over
    the one on the row's time: most rows are the board's, few are older than the cutoff."""
    return func.coalesce(column, board) == board


def mark_reach(session: Session, board: str, cutoff: datetime, at: datetime) -> None:
    """From now on the board's history reaches back no further than `cutoff` (it only ever moves on)."""
    ensure_board(session, board, at)
    session.execute(
        update(BoardRow)
        .where(
            BoardRow.database_id == board,
            or_(BoardRow.history_from.is_(None), BoardRow.history_from < cutoff),
        )
        .values(history_from=cutoff)
    )


def history_from(session: Session, board: str) -> datetime | None:
    """The latest cutoff the board's history was pruned to (None: never pruned)."""
    return session.scalar(select(BoardRow.history_from).where(BoardRow.database_id == board))


def prune_operations(session: Session, board: str, cutoff: datetime, limit: int) -> int:
    """Delete up to `limit` settled journal entries last touched before the cutoff; returns how many."""
    found = select(OperationRow.id).where(
        _board(OperationRow.database_id, board),
        OperationRow.updated_at < cutoff,
        OperationRow.state.not_in(UNSETTLED),
    )
    return _delete_found(session, OperationRow, found.limit(limit))


def prune_runs(session: Session, board: str, cutoff: datetime, limit: int, keep: Collection[int]) -> int:
    """Delete up to `limit` runs started before the cutoff that no journal entry names, except `keep`."""
    named = exists().where(OperationRow.run_id == RunRow.id)
    found = select(RunRow.id).where(
        _board(RunRow.database_id, board), RunRow.started_at < cutoff, RunRow.id.not_in(list(keep)), ~named
    )
    return _delete_found(session, RunRow, found.limit(limit))


def _delete_found(
    session: Session, model: type[OperationRow] | type[RunRow], found: Select[tuple[int]]
) -> int:
    """Delete the rows of `model` whose ids the (limited) query finds; returns how many."""
    ids = list(session.scalars(found))
    if ids:
        session.execute(delete(model).where(model.id.in_(ids)))
    return len(ids)


def prune_snapshots(session: Session, board: str, cutoff: datetime, limit: int) -> tuple[int, bool]:
    """Walk up to `limit` more of the board's snapshots; each at or before the cutoff deletes the older
    snapshots of its (page, property). Returns how many were deleted, and whether the walk caught up."""
    after = session.scalar(select(BoardRow.pruned_snapshot_id).where(BoardRow.database_id == board)) or 0
    # walked by id alone (the primary key), then narrowed to the board's pages: never a scan of them all
    walk = select(SnapshotRow.id, SnapshotRow.seen_at, SnapshotRow.page_id).where(SnapshotRow.id > after)
    walk = walk.order_by(SnapshotRow.id)
    first = session.execute(walk.limit(1)).first()
    if first is None or first.seen_at > cutoff:
        return 0, True  # nothing new, or the next one is within retention: the usual run costs one lookup
    rows = session.execute(walk.limit(limit)).all()
    pages = {row.page_id for row in rows}
    mine = set(
        session.scalars(
            select(NotionPageRow.id).where(NotionPageRow.id.in_(pages), NotionPageRow.database_id == board)
        )
    )
    window, upto = [], after
    for row in rows:  # the walk stops at the first snapshot still within retention: it waits there
        if row.seen_at > cutoff:
            break
        upto = row.id
        if row.page_id in mine:
            window.append(row.id)
    caught_up = len(rows) < limit or upto != rows[-1].id
    deleted = 0
    if window:
        done = session.execute(delete(SnapshotRow).where(SnapshotRow.id.in_(_superseded(window, cutoff))))
        deleted = int(done.rowcount or 0)  # type: ignore[attr-defined]
    if upto != after:
        session.execute(update(BoardRow).where(BoardRow.database_id == board).values(pruned_snapshot_id=upto))
    return deleted, caught_up


def _superseded(window: list[int], cutoff: datetime) -> Select[tuple[int]]:
    """Ids of snapshots older, by (seen_at, id), than a window's snapshot of the same (page, property)."""
    newer, older = aliased(SnapshotRow), aliased(SnapshotRow)
    return (
        select(older.id)
        .select_from(newer)
        .join(
            older,
            and_(
                older.page_id == newer.page_id,
                older.property == newer.property,
                or_(
                    older.seen_at < newer.seen_at,
                    and_(older.seen_at == newer.seen_at, older.id < newer.id),
                ),
            ),
        )
        .where(newer.id.in_(window), newer.seen_at <= cutoff)
    )
