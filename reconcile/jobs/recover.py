"""Recovery: settle what a crashed or interrupted run left in the journal, before planning afresh.

- pending (stored, never sent): nothing happened; abandoned, the fresh plan redoes it if still needed.
- sent or ambiguous create/recreate: it may have happened. The key is looked up in Notion; a page
  found is adopted (linked, its values recorded as written), so it is never created twice.
- sent or ambiguous update/archive/stale: abandoned; the fresh plan compares with Notion again
  (these writes set absolute values, so doing one twice is harmless).
- failed or deferred: superseded; the fresh plan retries whatever is still needed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from reconcile.clients.notion import page_from_api
from reconcile.jobs.apply import record_write
from reconcile.jobs.context import Context
from reconcile.mirror import journal, runs
from reconcile.mirror.tables import OperationRow

log = logging.getLogger("reconcile.recover")


@dataclass
class Recovery:
    """What recovery settled."""

    crashed_runs: int = 0
    resolved: list[str] = field(default_factory=list)  # keys of creates found done in Notion
    abandoned: int = 0

    @property
    def settled(self) -> bool:
        return bool(self.crashed_runs or self.resolved or self.abandoned)

    def as_json(self) -> dict[str, Any]:
        return {"crashed_runs": self.crashed_runs, "resolved": self.resolved, "abandoned": self.abandoned}

    def describe(self) -> str:
        return (
            f"Recovered from an interrupted run: {len(self.resolved)} creates found done in Notion, "
            f"{self.abandoned} operations planned afresh."
        )


def recover(ctx: Context, run_id: int) -> Recovery:
    """Settle earlier runs' unsettled operations (the caller holds the lock)."""
    recovery = Recovery()
    with ctx.session() as session:
        recovery.crashed_runs = runs.mark_crashed(session, ctx.board, run_id)
        journal.supersede_earlier(session, ctx.board, run_id, ctx.clock.now())
        rows = journal.unsettled(session, ctx.board, run_id)
    if not rows:
        return recovery
    creates = [row for row in rows if _maybe_created(row)]
    found = _lookup(ctx, [str(row.key) for row in creates])
    now = ctx.clock.now()
    with ctx.session() as session:
        for row in rows:
            page = found.get(str(row.key)) if _maybe_created(row) else None
            if page is None:
                journal.mark(
                    session, row.id, "abandoned", now, error=f"settled by run {run_id}: planned afresh"
                )
                recovery.abandoned += 1
                continue
            _adopt(ctx, session, row, page)
            journal.mark(session, row.id, "resolved", now, result_page_id=page["id"])
            recovery.resolved.append(str(row.key))
    log.info(
        "recovery: %d crashed runs, %d creates found done, %d operations planned afresh",
        recovery.crashed_runs,
        len(recovery.resolved),
        recovery.abandoned,
    )
    return recovery


def _maybe_created(row: OperationRow) -> bool:
    return row.state in ("sent", "ambiguous") and row.action in ("create", "recreate") and not row.restore


def _lookup(ctx: Context, keys: list[str]) -> dict[str, dict[str, Any]]:
    """The oldest live page carrying each key."""
    found: dict[str, dict[str, Any]] = {}
    if keys:
        for raw in ctx.notion.find_by_key(ctx.config.mapping.key, sorted(set(keys))):
            page = page_from_api(raw, ctx.config.mapping.key)
            if page.key:
                found.setdefault(page.key, raw)
    return found


def _adopt(ctx: Context, session: Session, row: OperationRow, raw: dict[str, Any]) -> None:
    """The page the crashed run made: remember it as if the run had heard back."""
    page = page_from_api(raw, ctx.config.mapping.key)
    record_write(ctx.config, session, journal.operation(row), page, ctx.clock.now())
