"""Apply: perform a plan's writes in journalled batches, each stored before it is sent, its outcome after."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from reconcile import planner
from reconcile.clients.errors import (
    AmbiguousWrite,
    ApiError,
    AuthError,
    InvalidRequest,
    NotFound,
    NotShared,
    PageArchived,
    RateLimited,
    Unavailable,
)
from reconcile.clients.notion import page_from_api
from reconcile.clients.refusals import refused_property
from reconcile.config import Config
from reconcile.errors import PlanRefused
from reconcile.jobs.context import Context
from reconcile.jobs.dbschema import known_schema
from reconcile.jobs.planning import make_plan
from reconcile.mirror import journal, store
from reconcile.mirror.lock import LeaseLost
from reconcile.model import Applied, NotionPage, Operation, Plan, Value
from reconcile.values import encode, equal, normalise

log = logging.getLogger("reconcile.apply")

OUTAGE_LIMIT = 5  # consecutive unavailable/rate-limited failures after which the rest waits for the next run
NEW_PAGE = ("create", "recreate")  # actions whose page is linked to their item
REFUSALS_PER_WRITE = 3  # properties a write may lose to Notion's refusals before it counts as failed


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
class Refusal:
    """One property of a write that Notion refused; the write went through without it."""

    key: str | None
    page_id: str | None
    property: str
    error: str

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "page_id": self.page_id, "property": self.property, "error": self.error}


@dataclass
class ApplyResult:
    """What apply did."""

    applied: int = 0
    failed: int = 0
    deferred: int = 0
    failures: list[Failure] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    stopped: str | None = None


def check_change_ratio(plan: Plan, max_ratio: float, force: bool) -> None:
    refusal = planner.change_ratio_refusal(plan, max_ratio)
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
    result: ApplyResult | None = None,
) -> ApplyResult:
    """Remember the plan's adoptions, then perform its writes (up to max_writes_per_run) in batches.

    Outcomes accumulate in `result` as they happen, so a caller that passes one in still has them
    when a write ends the run early (a revoked token, say).
    """
    check_change_ratio(plan, ctx.config.apply.max_change_ratio, force)
    remember(ctx, plan)
    writes = list(plan.writes)
    limit = ctx.config.apply.max_writes_per_run
    result = result if result is not None else ApplyResult()
    result.deferred += max(0, len(writes) - limit)
    if result.deferred:
        log.warning(
            "%d writes deferred to the next run (apply.max_writes_per_run = %d)", result.deferred, limit
        )
        with ctx.session() as session:
            journal.record(session, ctx.board, run_id, writes[limit:], ctx.clock.now(), state="deferred")
    ctx.progress.start("Applying", len(writes[:limit]))
    try:
        _Applier(ctx, run_id, result, should_stop).run(writes[:limit])
    finally:
        ctx.progress.finish()
    return result


def remember(ctx: Context, plan: Plan) -> None:
    """Store what the plan found without writing: rebuilt links and first values of on_change properties."""
    links = [(a.item_id, a.page_id) for a in plan.adoptions if a.item_id is not None]
    values: dict[str, dict[str, Applied]] = {}
    for adoption in plan.adoptions:
        if adoption.property is not None:
            adopted = Applied(adoption.value, adoption.stored, has_stored=True)
            values.setdefault(adoption.page_id, {})[adoption.property] = adopted
    if links or values:
        now = ctx.clock.now()
        with ctx.session() as session:
            store.link_all(session, ctx.board, links, now)
            store.record_applied_all(session, values, now)


class _Applier:
    """Sends operations one by one, keeping the journal and the mirror in step with Notion."""

    def __init__(
        self, ctx: Context, run_id: int, result: ApplyResult, should_stop: Callable[[], bool]
    ) -> None:
        self.ctx, self.run_id, self.result, self.should_stop = ctx, run_id, result, should_stop
        self.outages = 0
        self.schema_reread = False
        self.done: list[tuple[Operation, int, NotionPage]] = []  # sent and answered, not yet settled

    def run(self, operations: Sequence[Operation]) -> None:
        """Batch by batch: store the batch as on its way (one transaction), send its writes one by one,
        then store their outcomes and what they left in the mirror (one transaction)."""
        size = self.ctx.config.apply.batch_size
        for start in range(0, len(operations), size):
            batch = operations[start : start + size]
            with self.ctx.session() as session:
                ids = journal.record(
                    session, self.ctx.board, self.run_id, batch, self.ctx.clock.now(), state="sent"
                )
            unsent = list(zip(batch, ids, strict=True))
            try:
                while unsent:
                    if self._stopping():
                        self._defer(unsent)
                        self._defer_rest(operations[start + size :])
                        return
                    op, op_id = unsent.pop(0)
                    self.perform(op, op_id)
                    self.ctx.progress.advance()
            finally:  # also when a write (or SIGTERM) ends the run: what was done is recorded as done,
                self._settle_done()  # and what was never sent as deferred
                if unsent:
                    self._defer(unsent, quietly=True)

    def _stopping(self) -> bool:
        if self.should_stop():
            self.result.stopped = "the lock was lost"
        elif self.outages >= OUTAGE_LIMIT:
            self.result.stopped = f"Notion failed {self.outages} writes in a row"
        return self.result.stopped is not None

    def _defer(self, pending: list[tuple[Operation, int]], *, quietly: bool = False) -> None:
        with self.ctx.session() as session:
            for _, op_id in pending:
                journal.mark(session, op_id, "deferred", self.ctx.clock.now(), error=self.result.stopped)
        if not quietly:
            self.result.deferred += len(pending)

    def _defer_rest(self, rest: Sequence[Operation]) -> None:
        if rest:
            with self.ctx.session() as session:
                journal.record(
                    session, self.ctx.board, self.run_id, rest, self.ctx.clock.now(), state="deferred"
                )
            self.result.deferred += len(rest)

    # -- one operation ------------------------------------------------------------------------

    def perform(self, op: Operation, op_id: int) -> None:
        """Send it (its journal entry says it is on its way); keep its outcome for the batch's settling."""
        try:
            raw = self._send(op)
        except LeaseLost:  # nothing was sent: the run that took over plans this write afresh
            self.result.stopped = "the lock was lost"
            self._defer([(op, op_id)])
            return
        except (AuthError, NotShared):
            self._fail(op, op_id, "failed", "the run stopped: Notion refused the token or the database")
            raise
        except (PageArchived, NotFound) as exc:
            if _makes_a_page(op):  # the answer is about the database, not a page we know
                self._fail(op, op_id, "failed", str(exc))
            else:
                self._deleted_under(op, op_id, exc)
            return
        except AmbiguousWrite as exc:
            self._fail(op, op_id, "ambiguous", str(exc))
            return
        except InvalidRequest as exc:
            narrower = self._without_refused(op, exc)
            if narrower is None:
                self._fail(op, op_id, "failed", str(exc))
            else:  # the rest of the write goes through; the refused property is reported
                self.perform(narrower, op_id)
            return
        except ApiError as exc:
            self.outages = self.outages + 1 if isinstance(exc, (Unavailable, RateLimited)) else 0
            self._fail(op, op_id, "failed", str(exc))
            return
        self.outages = 0
        self._settle(op, op_id, raw)

    def _without_refused(self, op: Operation, exc: InvalidRequest) -> Operation | None:
        """The write less the one property Notion refused (None: not one property's fault)."""
        if exc.code != "validation_error" or op.action == "archive":
            return None
        name = refused_property(exc.message, self._encode(op))
        key = self.ctx.config.mapping.key
        refused_here = sum(1 for refusal in self.result.refused if refusal.key == op.key)
        if name is None or name == key or name not in op.changes or refused_here >= REFUSALS_PER_WRITE:
            return None
        if not self.schema_reread:  # the database may have changed: the next plans should know
            self.schema_reread = True
            known_schema(self.ctx, refresh=True)
        self.result.refused.append(Refusal(op.key, op.page_id, name, exc.message))
        log.warning(
            "%s %s: Notion refused %r (%s); writing the rest without it",
            op.action,
            op.key or op.page_id,
            name,
            exc.message,
        )
        rest = {other: change for other, change in op.changes.items() if other != name}
        if not rest and op.action == "update":
            return None
        return replace(op, changes=rest)

    def _send(self, op: Operation) -> dict[str, Any]:
        notion = self.ctx.notion
        properties = self._encode(op)
        if op.action == "archive":
            return notion.update_page(str(op.page_id), in_trash=True)
        if _makes_a_page(op):
            return notion.create_page(properties, self.ctx.config.mapping.key, str(op.key))
        if op.restore:
            restored = notion.update_page(str(op.page_id), in_trash=False)
            if not properties:  # nothing to correct: an empty PATCH would only bump last_edited_time
                return restored
        return notion.update_page(str(op.page_id), properties)

    def _encode(self, op: Operation) -> dict[str, Any]:
        changes = op.changes.items()
        return {name: encode(self._type(name, op.page_id), change.after) for name, change in changes}

    def _type(self, name: str, page_id: str | None) -> str:
        """The property's type: from the config, else (a stale status property it does not map) the page."""
        known = self.ctx.config.property_type(name)
        if known:
            return known
        with self.ctx.session() as session:
            page = store.find_page(session, page_id) if page_id else None
        prop = page.properties.get(name) if page else None
        return prop.type if prop else "rich_text"

    def _settle(self, op: Operation, op_id: int, raw: dict[str, Any]) -> None:
        """Applied: remembered until the batch's outcomes are stored together."""
        self.done.append((op, op_id, page_from_api(raw, self.ctx.config.mapping.key)))

    def _settle_done(self) -> None:
        """Journal, pages, links and last-written values of the writes done since, in one transaction.

        Should this fail (or the process die first), their entries still say "sent": the next run looks
        the creates up by key and plans the rest afresh, so nothing is written twice."""
        if not self.done:
            return
        done, self.done = self.done, []
        now = self.ctx.clock.now()
        with self.ctx.session() as session:
            journal.mark_applied(session, [(op_id, page.id) for _, op_id, page in done], now)
            record_writes(self.ctx.config, session, [(op, page) for op, _, page in done], now)
        for op, _, page in done:
            self.result.applied += 1
            self.ctx.metrics.operation(op.action, "applied")
            log.info("%s %s", op.action, op.key or op.page_id, extra=_fields(op, page.id, "applied"))

    def _fail(self, op: Operation, op_id: int, state: str, error: str) -> None:
        with self.ctx.session() as session:
            journal.mark(session, op_id, state, self.ctx.clock.now(), error=error)
        self.result.failed += 1
        self.result.failures.append(Failure(op.key, op.page_id, op.action, error))
        self.ctx.metrics.operation(op.action, "failed")
        log.error(
            "%s %s failed: %s", op.action, op.key or op.page_id, error, extra=_fields(op, op.page_id, state)
        )

    # -- a page deleted under our feet --------------------------------------------------------

    def _deleted_under(self, op: Operation, op_id: int, exc: ApiError) -> None:
        """A write hit a page in the trash (or gone): record that, then recreate it if the config says so."""
        gone = isinstance(exc, NotFound)
        with self.ctx.session() as session:
            store.mark_page(session, str(op.page_id), in_trash=not gone, gone=gone)
        if op.action == "archive":  # it is already where archive would put it
            self._settle_archived(op, op_id)
            return
        replacement = self._replacement(op)
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
            (new_id,) = journal.record(
                session, self.ctx.board, self.run_id, [replacement], self.ctx.clock.now(), state="sent"
            )
        self.perform(replacement, new_id)

    def _replacement(self, op: Operation) -> Operation | None:
        """What the planner says now for the item whose page this write found deleted (None: nothing)."""
        if op.item_id is None or op.action == "recreate":
            return None
        fresh = make_plan(self.ctx, planner.Scope(item_ids={op.item_id}))
        return next((new for new in fresh.operations if new.action == "recreate"), None)

    def _skip(self, op: Operation, op_id: int, reason: str) -> None:
        with self.ctx.session() as session:
            journal.mark(session, op_id, "skipped", self.ctx.clock.now(), error=reason)
        self.result.skipped.append(Skip(op.key, op.page_id, reason))
        self.ctx.metrics.operation(op.action, "skipped")
        log.info(
            "%s %s skipped: %s",
            op.action,
            op.key or op.page_id,
            reason,
            extra=_fields(op, op.page_id, "skipped"),
        )

    def _settle_archived(self, op: Operation, op_id: int) -> None:
        with self.ctx.session() as session:
            journal.mark(session, op_id, "applied", self.ctx.clock.now(), result_page_id=op.page_id)
        self.result.applied += 1
        self.ctx.metrics.operation(op.action, "applied")


def _fields(op: Operation, page_id: str | None, status: str) -> dict[str, Any]:
    """The structured fields of a write's log line (JSON logs carry them as keys)."""
    return {"action": op.action, "key": op.key, "page_id": page_id, "status": status}


def _makes_a_page(op: Operation) -> bool:
    """Creates, and recreates that make a new page (rather than take the old one out of the trash)."""
    return op.action in ("create", "recreate") and not op.restore


def record_write(config: Config, session: Session, op: Operation, page: NotionPage, at: datetime) -> None:
    """What a write that happened leaves in the mirror: the page as Notion has it, its link, the values."""
    record_writes(config, session, [(op, page)], at)


def record_writes(
    config: Config, session: Session, writes: Sequence[tuple[Operation, NotionPage]], at: datetime
) -> None:
    """`record_write` for several writes at once, a statement per kind of record."""
    board = config.notion.database_id
    store.save_pages(session, board, [page for _, page in writes], at)
    store.link_all(
        session,
        board,
        [(op.item_id, page.id) for op, page in writes if op.item_id is not None and op.action in NEW_PAGE],
        at,
    )
    valued = [(op, page) for op, page in writes if op.action in ("create", "recreate", "update")]
    before = store.load_applied(session, [page.id for _, page in valued])
    records: dict[str, dict[str, Applied]] = {}
    for op, page in valued:
        for name, value in _written(config, op).items():
            outcome = _outcome(config, name, op, value, page.value(name), before.get((page.id, name)))
            records.setdefault(page.id, {})[name] = before[(page.id, name)] = outcome
    store.record_applied_all(session, records, at)


def _outcome(
    config: Config, name: str, op: Operation, value: Value, stored: Value, before: Applied | None
) -> Applied:
    """What one written property left: the value recorded as written, Notion's form of what was sent,
    and how many writes of that value in a row Notion kept in another form."""
    kind = config.property_type(name) or "rich_text"
    sent = op.changes[name].after if name in op.changes else value
    if equal(kind, sent, stored):
        return Applied(value, stored, has_stored=True)
    again = before is not None and equal(kind, before.value, value)
    misses = before.misses + 1 if again and before is not None else 1
    return Applied(value, stored, has_stored=True, misses=misses)


def _written(config: Config, op: Operation) -> dict[str, Any]:
    """The mapped values an operation set; a new page also 'wrote' the empty ones it left out."""
    mapped = config.mapping.properties
    values = {name: change.after for name, change in op.changes.items() if name in mapped}
    values.update({name: value for name, value in op.derived.items() if name in values})  # `page set`
    if _makes_a_page(op):
        values.update(
            {name: normalise(spec.type, None) for name, spec in mapped.items() if name not in values}
        )
    return values
