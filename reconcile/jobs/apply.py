"""Apply: perform a plan's writes in journalled batches, each stored before it is sent, its outcome after."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from reconcile.clients.errors import (
    AmbiguousWrite,
    ApiError,
    AuthError,
    NotFound,
    NotShared,
    PageArchived,
    RateLimited,
    Unavailable,
)
from reconcile.clients.notion import page_from_api
from reconcile.errors import PlanRefused
from reconcile.jobs.context import Context
from reconcile.mapping import expected
from reconcile.mirror import journal, store
from reconcile.model import NotionPage, Operation, Plan
from reconcile.planner import change_ratio_refusal, initial_changes
from reconcile.values import encode, normalise

log = logging.getLogger("reconcile.apply")

OUTAGE_LIMIT = 5  # consecutive unavailable/rate-limited failures after which the rest waits for the next run


@dataclass
class Failure:
    key: str | None
    page_id: str | None
    action: str
    error: str

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "page_id": self.page_id, "action": self.action, "error": self.error}


@dataclass
class Skip:
    key: str | None
    page_id: str | None
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "page_id": self.page_id, "reason": self.reason}


@dataclass
class ApplyResult:
    """What apply did."""

    applied: int = 0
    failed: int = 0
    deferred: int = 0
    failures: list[Failure] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    stopped: str | None = None


def check_change_ratio(plan: Plan, max_ratio: float, force: bool) -> None:
    refusal = change_ratio_refusal(plan, max_ratio)
    if refusal and not force:
        raise PlanRefused(f"refused: {refusal}")
    if refusal:
        log.warning("--force: %s", refusal)


def apply_plan(
    ctx: Context,
    run_id: int,
    plan: Plan,
    *,
    force: bool = False,
    should_stop: Callable[[], bool] = lambda: False,
) -> ApplyResult:
    """Remember the plan's adoptions, then perform its writes (up to max_writes_per_run) in batches."""
    check_change_ratio(plan, ctx.config.apply.max_change_ratio, force)
    remember(ctx, plan)
    writes = list(plan.writes)
    limit = ctx.config.apply.max_writes_per_run
    result = ApplyResult(deferred=max(0, len(writes) - limit))
    if result.deferred:
        log.warning(
            "%d writes deferred to the next run (apply.max_writes_per_run = %d)", result.deferred, limit
        )
        with ctx.session() as session:
            journal.record(session, run_id, writes[limit:], ctx.clock.now(), state="deferred")
    _Applier(ctx, run_id, result, should_stop).run(writes[:limit])
    return result


def remember(ctx: Context, plan: Plan) -> None:
    """Store what the plan found without writing: rebuilt links and first values of on_change properties."""
    now = ctx.clock.now()
    with ctx.session() as session:
        for adoption in plan.adoptions:
            if adoption.item_id is not None:
                store.link(session, adoption.item_id, adoption.page_id, now)
            if adoption.property is not None:
                store.record_applied(session, adoption.page_id, {adoption.property: adoption.value}, now)


class _Applier:
    """Sends operations one by one, keeping the journal and the mirror in step with Notion."""

    def __init__(
        self, ctx: Context, run_id: int, result: ApplyResult, should_stop: Callable[[], bool]
    ) -> None:
        self.ctx, self.run_id, self.result, self.should_stop = ctx, run_id, result, should_stop
        self.outages = 0
        with ctx.session() as session:
            self.pages = store.load_pages(session, ctx.config.notion.database_id)

    def run(self, operations: Sequence[Operation]) -> None:
        size = self.ctx.config.apply.batch_size
        for start in range(0, len(operations), size):
            batch = operations[start : start + size]
            with self.ctx.session() as session:
                ids = journal.record(session, self.run_id, batch, self.ctx.clock.now())
            for index, (op, op_id) in enumerate(zip(batch, ids, strict=True)):
                if self._stopping():
                    self._defer([*zip(batch[index:], ids[index:], strict=True)])
                    self._defer_rest(operations[start + size :])
                    return
                self.perform(op, op_id)

    def _stopping(self) -> bool:
        if self.should_stop():
            self.result.stopped = "the lock was lost"
        elif self.outages >= OUTAGE_LIMIT:
            self.result.stopped = f"Notion failed {self.outages} writes in a row"
        return self.result.stopped is not None

    def _defer(self, pending: list[tuple[Operation, int]]) -> None:
        with self.ctx.session() as session:
            for _, op_id in pending:
                journal.mark(session, op_id, "deferred", self.ctx.clock.now(), error=self.result.stopped)
        self.result.deferred += len(pending)

    def _defer_rest(self, rest: Sequence[Operation]) -> None:
        if rest:
            with self.ctx.session() as session:
                journal.record(session, self.run_id, rest, self.ctx.clock.now(), state="deferred")
            self.result.deferred += len(rest)

    # -- one operation ------------------------------------------------------------------------

    def perform(self, op: Operation, op_id: int) -> None:
        """Mark it sent, send it, and commit its outcome with the mirror's update."""
        with self.ctx.session() as session:
            journal.mark(session, op_id, "sent", self.ctx.clock.now())
        try:
            raw = self._send(op)
        except (AuthError, NotShared):
            self._fail(op, op_id, "failed", "the run stopped: Notion refused the token or the database")
            raise
        except (PageArchived, NotFound) as exc:
            self._deleted_under(op, op_id, exc)
            return
        except AmbiguousWrite as exc:
            self._fail(op, op_id, "ambiguous", str(exc))
            return
        except ApiError as exc:
            self.outages = self.outages + 1 if isinstance(exc, (Unavailable, RateLimited)) else 0
            self._fail(op, op_id, "failed", str(exc))
            return
        self.outages = 0
        self._settle(op, op_id, raw)

    def _send(self, op: Operation) -> dict[str, Any]:
        notion = self.ctx.notion
        properties = self._encode(op)
        if op.action == "archive":
            return notion.update_page(str(op.page_id), in_trash=True)
        if op.action in ("create", "recreate") and not op.restore:
            return notion.create_page(properties, self.ctx.config.mapping.key, str(op.key))
        if op.restore:
            restored = notion.update_page(str(op.page_id), in_trash=False)
            if not properties:  # nothing to correct: an empty PATCH would only bump last_edited_time
                return restored
        return notion.update_page(str(op.page_id), properties)

    def _encode(self, op: Operation) -> dict[str, Any]:
        page = self.pages.get(op.page_id or "")
        return {name: encode(self._type(name, page), change.after) for name, change in op.changes.items()}

    def _type(self, name: str, page: NotionPage | None) -> str:
        known = self.ctx.config.property_type(name)
        if known:
            return known
        prop = page.properties.get(name) if page else None
        return prop.type if prop else "rich_text"

    def _settle(self, op: Operation, op_id: int, raw: dict[str, Any]) -> None:
        """Applied: journal, page, link and last-written values in one transaction."""
        page = page_from_api(raw, self.ctx.config.mapping.key)
        now = self.ctx.clock.now()
        with self.ctx.session() as session:
            journal.mark(session, op_id, "applied", now, result_page_id=page.id)
            store.save_pages(session, self.ctx.config.notion.database_id, [page], now)
            if op.item_id is not None and op.action in ("create", "recreate"):
                store.link(session, op.item_id, page.id, now)
            if op.action in ("create", "recreate", "update"):
                store.record_applied(session, page.id, self._written(op), now)
        self.pages[page.id] = page
        self.result.applied += 1
        self.ctx.metrics.operation(op.action, "applied")
        log.info("%s %s", op.action, op.key or op.page_id)

    def _written(self, op: Operation) -> dict[str, Any]:
        """The mapped values this operation set; a new page also 'wrote' the empty ones it left out."""
        mapped = self.ctx.config.mapping.properties
        values = {name: change.after for name, change in op.changes.items() if name in mapped}
        if op.action in ("create", "recreate") and not op.restore:
            values.update(
                {name: normalise(spec.type, None) for name, spec in mapped.items() if name not in values}
            )
        return values

    def _fail(self, op: Operation, op_id: int, state: str, error: str) -> None:
        with self.ctx.session() as session:
            journal.mark(session, op_id, state, self.ctx.clock.now(), error=error)
        self.result.failed += 1
        self.result.failures.append(Failure(op.key, op.page_id, op.action, error))
        self.ctx.metrics.operation(op.action, "failed")
        log.error("%s %s failed: %s", op.action, op.key or op.page_id, error)

    # -- a page deleted under our feet --------------------------------------------------------

    def _deleted_under(self, op: Operation, op_id: int, exc: ApiError) -> None:
        """A write hit a page in the trash (or gone): record that, then recreate it if the config says so."""
        gone = isinstance(exc, NotFound)
        with self.ctx.session() as session:
            store.mark_page(session, str(op.page_id), in_trash=not gone, gone=gone)
        if op.action == "archive":  # it is already where archive would put it
            self._settle_archived(op, op_id)
            return
        replacement = self._replacement(op, gone)
        where = "no longer exists" if gone else "is in the trash"
        if replacement is None and (op.item_id is None or self.ctx.config.apply.on_deleted_page == "ignore"):
            # nothing is owed to a page the config (or a person, for a page made by hand) let go of
            self._skip(op, op_id, f"page {where}; left alone")
            return
        if replacement is None:
            self._fail(op, op_id, "failed", f"page {where}: {exc.message}")
            return
        with self.ctx.session() as session:
            journal.mark(
                session, op_id, "abandoned", self.ctx.clock.now(), error="page deleted; recreated instead"
            )
            (new_id,) = journal.record(session, self.run_id, [replacement], self.ctx.clock.now())
        self.perform(replacement, new_id)

    def _replacement(self, op: Operation, gone: bool) -> Operation | None:
        mode = self.ctx.config.apply.on_deleted_page
        if op.item_id is None or mode == "ignore" or op.action == "recreate":
            return None
        with self.ctx.session() as session:
            item = store.find_item_by_id(session, op.item_id)
        if item is None:
            return None
        props = expected(self.ctx.config.mapping, item)
        if mode == "restore" and not gone:
            return Operation(  # the same corrections, once the page is out of the trash
                "recreate",
                item.url,
                op.page_id,
                dict(op.changes),
                "page was in the trash; restoring it",
                item.ref(),
                item.id,
                restore=True,
            )
        return Operation(
            "recreate",
            item.url,
            op.page_id,
            initial_changes(props),
            "page was deleted; making a new one",
            item.ref(),
            item.id,
        )

    def _skip(self, op: Operation, op_id: int, reason: str) -> None:
        with self.ctx.session() as session:
            journal.mark(session, op_id, "skipped", self.ctx.clock.now(), error=reason)
        self.result.skipped.append(Skip(op.key, op.page_id, reason))
        self.ctx.metrics.operation(op.action, "skipped")
        log.info("%s %s skipped: %s", op.action, op.key or op.page_id, reason)

    def _settle_archived(self, op: Operation, op_id: int) -> None:
        with self.ctx.session() as session:
            journal.mark(session, op_id, "applied", self.ctx.clock.now(), result_page_id=op.page_id)
        self.result.applied += 1
        self.ctx.metrics.operation(op.action, "applied")
