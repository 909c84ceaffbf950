"""`reconcile restore --as-of`: put mapped properties back to the values the mirror saw at an instant."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from reconcile.errors import ReconcileError
from reconcile.jobs.context import Context
from reconcile.jobs.run import RunResult, execute, pull_step
from reconcile.mirror.history import reach, values_at
from reconcile.model import Change, NotionPage, Operation, Plan, Prop, iso
from reconcile.planner import plan
from reconcile.values import equal


class BeyondHistory(ReconcileError):
    """`restore --as-of` an instant before the mirror's retained history."""


def restore(ctx: Context, as_of: datetime, *, dry_run: bool = False, force: bool = False) -> RunResult:
    check_reach(ctx, as_of)
    return execute(
        ctx, "restore", pull_step(), planner=lambda ctx: _plan(ctx, as_of), dry_run=dry_run, force=force
    )


def check_reach(ctx: Context, as_of: datetime) -> None:
    """Refuse an instant the mirror has no values for, or no longer keeps them all for (retention):
    it would silently restore nothing, or only part."""
    retention = ctx.config.mirror.retention
    with ctx.session() as session:
        earliest = reach(session, ctx.board, ctx.now(), retention)
    if earliest is None:
        raise BeyondHistory("restore: the mirror has no history of this database yet (run `reconcile run`)")
    if as_of < earliest:
        raise BeyondHistory(
            f"restore: --as-of {iso(as_of)} is before the mirror's history, which reaches back to "
            f"{iso(earliest)} (mirror.retention: {retention.total_seconds() / 86400:g}d)"
        )


def _plan(ctx: Context, as_of: datetime) -> Plan:
    state = ctx.mirror_state()
    with ctx.session() as session:
        then = values_at(session, ctx.board, as_of)
    names = [ctx.config.mapping.key, *ctx.config.mapping.properties]
    operations = restore_operations(state.pages, then, names, as_of)
    linked = plan(ctx.config, state, ctx.now()).linked  # the same base as a fresh plan's change ratio
    live = sum(1 for page in state.pages.values() if page.alive)
    return Plan(
        ctx.now(), ctx.config.notion.database_id, tuple(operations), live - len(operations), linked=linked
    )


def restore_operations(
    pages: Mapping[str, NotionPage], then: Mapping[tuple[str, str], Prop], names: list[str], as_of: datetime
) -> list[Operation]:
    """An update per live page whose mapped values differ from what they were at `as_of` (pure)."""
    operations = []
    for page in sorted(pages.values(), key=lambda page: page.id):
        changes = {
            name: Change(page.value(name), then[(page.id, name)].value)
            for name in names
            if (page.id, name) in then
            and not equal(then[(page.id, name)].type, page.value(name), then[(page.id, name)].value)
        }
        if page.alive and changes:
            operations.append(Operation("update", page.key, page.id, changes, f"restore to {iso(as_of)}"))
    return operations
