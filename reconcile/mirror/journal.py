"""The operations journal: every write is stored before it is sent and its outcome right after."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from reconcile.logs import redact
from reconcile.mirror.clean import clean_text
from reconcile.mirror.tables import OperationRow
from reconcile.model import Change, ItemRef, Operation

# States: pending (stored, not sent) -> sent (on its way) -> applied | failed | ambiguous. Apply stores a
# batch as "sent" before its first write goes out and settles the batch's outcomes together after the last.
# Others: deferred (over max_writes_per_run), skipped (a saved plan's page changed), and for
# operations a later run settled: resolved (found done in Notion), abandoned (planned afresh),
# superseded (a failure or deferral the next plan covers), retried (reset --retry-failed did it again).
UNSETTLED = ("pending", "sent", "ambiguous")


def record(
    session: Session,
    database_id: str,
    run_id: int,
    operations: Sequence[Operation],
    at: datetime,
    state: str = "pending",
) -> list[int]:
    """Store operations in one go; returns their ids in order."""
    if not operations:
        return []
    start = (
        session.scalar(
            select(func.coalesce(func.max(OperationRow.seq), 0)).where(OperationRow.run_id == run_id)
        )
        or 0
    )
    ids: list[int] = []
    for first in range(0, len(operations), RECORD_CHUNK):  # bounded memory for a plan of 100,000 deferrals
        chunk = operations[first : first + RECORD_CHUNK]
        rows = [_row(database_id, run_id, start + first + n + 1, op, at, state) for n, op in enumerate(chunk)]
        ids += session.connection().scalars(_RECORD, rows)
    return ids


RECORD_CHUNK = 1000
# multi-row INSERT … RETURNING id, the ids in the order of the rows
_RECORD = insert(OperationRow).returning(OperationRow.id, sort_by_parameter_order=True)


def _row(database_id: str, run_id: int, seq: int, op: Operation, at: datetime, state: str) -> dict[str, Any]:
    return dict(
        database_id=database_id,
        run_id=run_id,
        seq=seq,
        action=op.action,
        key=op.key,
        page_id=op.page_id,
        item_id=op.item_id,
        item=op.item.as_json() if op.item else None,
        changes={name: change.as_json() for name, change in op.changes.items()},
        reason=op.reason,
        restore=op.restore,
        state=state,
        created_at=at,
        updated_at=at,
    )


def mark(
    session: Session,
    op_id: int,
    state: str,
    at: datetime,
    *,
    error: str | None = None,
    result_page_id: str | None = None,
) -> None:
    error = clean_text(redact(error)) if error else error
    values: dict[str, Any] = {"state": state, "updated_at": at, "error": error}
    if result_page_id is not None:
        values["result_page_id"] = result_page_id
    session.connection().execute(_MARK[result_page_id is not None], {"op_id": op_id, **values})


_operations = OperationRow.__table__
# The two statements `mark` runs once per write and outcome, built once (their values are bound per call).
_MARK = {
    with_page: update(_operations)
    .where(_operations.c.id == bindparam("op_id"))
    .values(
        state=bindparam("state"),
        updated_at=bindparam("updated_at"),
        error=bindparam("error"),
        **({"result_page_id": bindparam("result_page_id")} if with_page else {}),
    )
    for with_page in (False, True)
}


def mark_applied(session: Session, done: Sequence[tuple[int, str]], at: datetime) -> None:
    """Several operations applied: (operation id, the page it left) each, in one statement."""
    if done:
        rows = [
            {"op_id": op_id, "state": "applied", "updated_at": at, "error": None, "result_page_id": page_id}
            for op_id, page_id in done
        ]
        session.connection().execute(_MARK[True], rows)


def interrupt(session: Session, database_id: str, run_id: int, at: datetime, why: str) -> dict[str, int]:
    """A run stopped by a signal: what was sent may have happened (ambiguous), what was not is deferred.

    The next run settles both as after a kill (recovery looks creates up by key before sending again).
    """
    done = {}
    for before, after in (("sent", "ambiguous"), ("pending", "deferred")):
        changed = session.execute(
            update(OperationRow)
            .where(
                OperationRow.database_id == database_id,
                OperationRow.run_id == run_id,
                OperationRow.state == before,
            )
            .values(state=after, updated_at=at, error=why)
        )
        done[after] = int(changed.rowcount or 0)  # type: ignore[attr-defined]
    return done


def unsettled(session: Session, database_id: str, before_run: int) -> list[OperationRow]:
    """Operations the board's earlier runs left pending, sent or ambiguous."""
    query = select(OperationRow).where(
        OperationRow.database_id == database_id,
        OperationRow.state.in_(UNSETTLED),
        OperationRow.run_id < before_run,
    )
    return list(session.scalars(query.order_by(OperationRow.id)))


def supersede_earlier(session: Session, database_id: str, before_run: int, at: datetime) -> int:
    """The board's earlier failed and deferred operations: the fresh plan redoes whatever is still needed."""
    done = session.execute(
        update(OperationRow)
        .where(
            OperationRow.database_id == database_id,
            OperationRow.state.in_(("failed", "deferred")),
            OperationRow.run_id < before_run,
        )
        .values(state="superseded", updated_at=at)
    )
    return int(done.rowcount or 0)  # type: ignore[attr-defined]


def count_by_state(session: Session, database_id: str, states: Sequence[str]) -> dict[str, int]:
    query = (
        select(OperationRow.state, func.count())
        .where(OperationRow.database_id == database_id, OperationRow.state.in_(states))
        .group_by(OperationRow.state)
    )
    return {state: count for state, count in session.execute(query)}


def failed(session: Session, database_id: str, limit: int = 50) -> list[OperationRow]:
    """The board's most recent failed operations that no later run settled."""
    query = select(OperationRow).where(
        OperationRow.database_id == database_id, OperationRow.state.in_(("failed", "ambiguous"))
    )
    return list(session.scalars(query.order_by(OperationRow.id.desc()).limit(limit)))


def operation(row: OperationRow) -> Operation:
    """A journal row as the Operation it recorded."""
    item = ItemRef(**row.item) if row.item else None
    changes = {name: Change(data.get("from"), data.get("to")) for name, data in (row.changes or {}).items()}
    return Operation(row.action, row.key, row.page_id, changes, row.reason, item, row.item_id, row.restore)  # type: ignore[arg-type]
