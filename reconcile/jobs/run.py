"""The job's flows: run (lock, recover, pull, plan, apply), and the commands built from the same steps."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from reconcile.errors import Locked, ReconcileError
from reconcile.jobs.apply import ApplyResult, apply_plan
from reconcile.jobs.context import Context
from reconcile.jobs.pause import is_paused
from reconcile.jobs.planning import make_plan, settle
from reconcile.jobs.prune import prune_quietly
from reconcile.jobs.pull import PullResult, pull
from reconcile.jobs.recover import Recovery, recover
from reconcile.mirror import runs
from reconcile.mirror.boards import Pause
from reconcile.mirror.db import mirror_error
from reconcile.model import Plan

log = logging.getLogger("reconcile.run")

Prepare = Callable[[Context], PullResult]
Planner = Callable[[Context], Plan]


@dataclass
class RunResult:
    """The outcome of one run, as CONTRACT §8 prints it."""

    run_id: int | None
    status: str = "ok"  # ok | partial | failed | locked | paused
    pulled: PullResult = field(default_factory=PullResult)
    plan: Plan | None = None
    applied: ApplyResult = field(default_factory=ApplyResult)
    recovery: Recovery | None = None
    error: str | None = None
    dry_run: bool = False
    paused: Pause | None = None  # the board's pause, when it is paused

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "run_id": self.run_id,
            "status": self.status,
            "pulled": self.pulled.as_json(),
            "summary": self.plan.summary() if self.plan else None,
            "applied": self.applied.applied,
            "failed": self.applied.failed,
            "deferred": self.applied.deferred,
            "failures": [failure.as_json() for failure in self.applied.failures],
        }
        if self.applied.skipped:
            body["skipped"] = [skip.as_json() for skip in self.applied.skipped]
        if self.recovery and self.recovery.settled:
            body["recovered"] = self.recovery.as_json()
        if self.paused:
            body["paused"] = self.paused.as_json()
        if self.error:
            body["error"] = self.error
        return body


def pulled_plan(ctx: Context, *, pull_first: bool = True, full: bool = False) -> Plan:
    """Pull (unless told not to), then plan: what `plan` and `stale` show, writing nothing to Notion."""
    if pull_first:
        pull(ctx, full=full)
    return make_plan(ctx, full=full)


def pull_step(*, full: bool = False, since: datetime | None = None, until: datetime | None = None) -> Prepare:
    return lambda ctx: pull(ctx, full=full, since=since, until=until)


def execute(
    ctx: Context,
    command: str,
    prepare: Prepare,
    *,
    planner: Planner | None = None,
    dry_run: bool = False,
    force: bool = False,
) -> RunResult:
    """Record a run; take the lock, settle the journal, prepare the mirror, plan, apply (unless dry)."""
    planner = planner or make_plan
    started = ctx.clock.monotonic()
    try:
        with ctx.session() as session:
            run_id = runs.start(session, ctx.board, command, ctx.clock.now(), dry_run=dry_run)
    except SQLAlchemyError as exc:  # the mirror cannot even record the run: nothing else will work
        raise _mirror_failure(ctx, exc) from None
    result = RunResult(run_id, dry_run=dry_run, paused=is_paused(ctx))
    try:
        if dry_run:
            result.pulled = prepare(ctx)
            result.plan = planner(ctx)
        elif result.paused is None:
            _locked_run(ctx, run_id, result, prepare, planner, force)
            if command == "run":  # the scheduled run keeps the mirror's history within mirror.retention
                prune_quietly(ctx, run_id)
        result.status = _status(result)
    except Locked as exc:
        result.status, result.error = "locked", str(exc)
    except ReconcileError as exc:
        result.status, result.error = "failed", str(exc)
    except SQLAlchemyError as exc:  # the mirror database failed (damaged, full, locked): one line, what to do
        result.status, result.error = "failed", _describe(ctx, exc)
    except Exception as exc:  # a bug or an unforeseen failure: the run still ends recorded, with its JSON
        log.debug("internal error", exc_info=True)
        result.status, result.error = "failed", f"internal error: {type(exc).__name__}: {exc}"
    _finish(ctx, result, ctx.clock.monotonic() - started)
    return result


def _status(result: RunResult) -> str:
    if result.paused is not None and not result.dry_run:
        log.warning("the board is %s; nothing was written (`reconcile resume`)", result.paused.describe())
        return "paused"
    return "partial" if result.applied.failed or result.applied.stopped else "ok"


def _locked_run(
    ctx: Context,
    run_id: int,
    result: RunResult,
    prepare: Prepare,
    planner: Planner,
    force: bool,
) -> None:
    with ctx.writing() as lease:
        result.recovery = recover(ctx, run_id)
        result.pulled = prepare(ctx)
        result.plan = planner(ctx)
        result.paused = is_paused(ctx)  # paused while this run pulled: it stops before writing
        if result.paused is not None:
            return
        apply_plan(
            ctx, run_id, result.plan, force=force, should_stop=lambda: lease.lost, result=result.applied
        )
        settle(ctx, result.plan)


def _mirror_failure(ctx: Context, exc: SQLAlchemyError) -> Exception:
    """The one-line MirrorError for a failure of the mirror database; anything else as it was."""
    return mirror_error(exc, ctx.config.mirror.url) or exc


def _describe(ctx: Context, exc: SQLAlchemyError) -> str:
    mapped = mirror_error(exc, ctx.config.mirror.url)
    if mapped is not None:
        return str(mapped)
    log.debug("internal error", exc_info=True)
    return f"internal error: {type(exc).__name__}: {exc}"


def _finish(ctx: Context, result: RunResult, seconds: float) -> None:
    """Close the run's row and set the run's metrics; a mirror that fails now still lets the result out."""
    try:
        with ctx.session() as session:
            runs.finish(
                session,
                result.run_id or 0,
                result.status,
                ctx.clock.now(),
                result=result.as_json(),
                error=result.error,
            )
            last = runs.last_success(session, ctx.board)
    except SQLAlchemyError as exc:
        if mirror_error(exc) is None:
            raise
        result.status = "failed"
        result.error = result.error or _describe(ctx, exc)
        last = None
    metrics = ctx.metrics
    metrics.duration.set(seconds)
    metrics.succeeded_at(last.finished_at if last else None)
    if result.plan is not None:
        metrics.stale.set(len(result.plan.stale))
        metrics.drift.set(len(result.plan.drift))
    if result.error:
        log.error("%s", result.error)
