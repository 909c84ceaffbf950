"""GitHub items as a board's pull stores them. Items are shared by every board that follows their
repository, so a pull must neither undo another board's newer copy nor hide a change from itself:

- A copy older than the mirror's (by GitHub's `updated_at`) never overwrites it: a slow pull of one
  board cannot bring back what another board's faster pull already replaced.
- An item this board's pull fetched is looked at by this board's next plan, even when another board
  stored it first (the row did not change, so it was not rewritten): when another board's pull
  stamped its `seen_at` (`seen_by`) and the stamp lies before this board's plan watermark, it is
  moved up to now (never back: the watermark is earlier than now). Another board's clock, or a pull
  of another board that committed long after it stamped its rows, then never makes this board miss
  the change. A board's own stamps are on its own clock, and re-reading its own rows (the pulls'
  lookback) makes no plan work.
- Rows are written in id order, so that boards pulling the same repository at once on PostgreSQL lock
  them in one order and never deadlock.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Update, bindparam, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from reconcile.mirror.clean import clean
from reconcile.mirror.store import CHUNK, ITEM_CHANGES, _item_row
from reconcile.mirror.tables import BoardRow, GitHubItemRow, GoneItemRow
from reconcile.model import GitHubItem


def save_pulled(session: Session, board: str, items: Iterable[GitHubItem], seen_at: datetime) -> int:
    """Store items a pull of `board` fetched; returns how many."""
    rows = sorted(
        ({**_item_row(clean(item), seen_at), "seen_by": board} for item in items), key=lambda row: row["id"]
    )
    if not rows:
        return 0
    statements = _statements(session.get_bind().dialect.name, tuple(rows[0]))
    connection = session.connection()
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        connection.execute(statements.upsert, chunk)
        connection.execute(statements.ungone, [{"key": row["url"]} for row in chunk])
        session.execute(_noticed(board, [row["id"] for row in chunk], seen_at))
    return len(rows)


@dataclass(frozen=True)
class _Statements:
    upsert: Any
    ungone: Any


@functools.cache
def _statements(dialect: str, columns: tuple[str, ...]) -> _Statements:
    """Built once per dialect and row shape, run with executemany."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = GitHubItemRow.__table__
    statement = insert(table)
    new = statement.excluded
    changed = or_(*(table.c[column].is_distinct_from(new[column]) for column in ITEM_CHANGES))
    upsert = statement.on_conflict_do_update(
        index_elements=["id"],
        set_={column: new[column] for column in columns if column != "id"},
        where=changed & (new.updated_at >= table.c.updated_at),
    )
    gone = GoneItemRow.__table__
    return _Statements(upsert, delete(gone).where(gone.c.key == bindparam("key")))


def _noticed(board: str, ids: list[int], seen_at: datetime) -> Update:
    """Stamp those of these items that another board stored and that this board's next plan would not
    look at (none before the board's first plan: that one looks at every item)."""
    watermark = select(BoardRow.planned_at).where(BoardRow.database_id == board).scalar_subquery()
    table = GitHubItemRow.__table__
    return (
        update(table)
        .where(
            table.c.id.in_(ids),
            table.c.seen_by.is_distinct_from(board),
            table.c.seen_at < watermark,
        )
        .values(seen_at=seen_at, seen_by=board)
    )
