"""The journal on a real mirror: a plan's operations are stored in order, however many there are."""

from __future__ import annotations

from sqlalchemy import select

from reconcile.mirror import journal
from reconcile.mirror.tables import OperationRow
from reconcile.model import Change, ItemRef, Operation
from tests.conftest import World


def test_thousands_of_deferred_operations_are_stored_in_plan_order_with_their_ids(world: World) -> None:
    """More than one chunk of rows (a mapping change defers all but max_writes_per_run of 100,000 updates):
    ids come back in the order given, and seq numbers the operations on from what the run stored before."""
    count = journal.RECORD_CHUNK * 2 + 345
    operations = [
        Operation(
            "update",
            f"https://github.com/acme/web/issues/{n}",
            f"page-{n}",
            {"Name": Change(f"old {n}", f"new {n} ✓")},
            "mapping changed",
            ItemRef("acme/web", n, "issue"),
            n,
        )
        for n in range(1, count + 1)
    ]
    ctx = world.context()
    try:
        with ctx.session() as session:
            first = journal.record(session, ctx.board, 7, operations[:1], world.clock.now(), state="sent")
            ids = journal.record(session, ctx.board, 7, operations[1:], world.clock.now(), state="deferred")
        with ctx.session() as session:
            rows = session.execute(
                select(
                    OperationRow.id,
                    OperationRow.seq,
                    OperationRow.page_id,
                    OperationRow.state,
                    OperationRow.changes,
                )
                .where(OperationRow.run_id == 7)
                .order_by(OperationRow.seq)
            ).all()
    finally:
        ctx.close()

    assert [row.id for row in rows] == first + ids and ids == sorted(ids)
    assert [row.seq for row in rows] == list(range(1, count + 1))
    assert [row.page_id for row in rows] == [op.page_id for op in operations]
    assert {row.state for row in rows[1:]} == {"deferred"}
    assert rows[-1].changes == {"Name": {"from": f"old {count}", "to": f"new {count} ✓"}}
