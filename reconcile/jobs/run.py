"""The job's flows: run (lock, recover, pull, plan, apply), and the commands built from the same steps."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from reconcile import signals
from reconcile.errors import Locked, ReconcileError
from reconcile.jobs.apply import ApplyResult, apply_plan
from reconcile.jobs.context import Context
from reconcile.jobs.outcome import observed
from reconcile.jobs.pause import is_paused
from reconcile.jobs.planning import make_plan, settle
from reconcile.jobs.prune import prune_quietly
from reconcile.jobs.pull import PullResult, pull
from reconcile.jobs.recover import Recovery, recover
from reconcile.logs import run_context
from reconcile.mirror import journal, runs
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
    command: str | None = None  # for the outcome line; not printed
    duration: float | None = None  # seconds; not printed

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
        if self.applied.refused:
            body["refused"] = [refusal.as_json() for refusal in self.applied.refused]
        if self.plan is not None and self.plan.schema_problems:
            body["schema_problems"] = [dict(problem) for problem in self.plan.schema_problems]
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
    result = RunResult(run_id, dry_run=dry_run, paused=is_paused(ctx), command=command)
    with run_context(run_id):
        log.info("%s started%s", command, " (dry run)" if dry_run else "", extra={"command": command})
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
        except signals.Terminated as exc:
            with signals.deferred():
                _interrupted(ctx, run_id, result, exc)
        except SQLAlchemyError as exc:  # the mirror failed (damaged, full, locked): one line, what to do
            result.status, result.error = "failed", _describe(ctx, exc)
        except Exception as exc:  # a bug or an unforeseen failure: the run still ends recorded, with its JSON
            log.debug("internal error", exc_info=True)
            result.status, result.error = "failed", f"internal error: {type(exc).__name__}: {exc}"
        with signals.deferred():
            result.duration = ctx.clock.monotonic() - started
            _finish(ctx, result)
    return result


def _status(result: RunResult) -> str:
    if result.paused is not None and not result.dry_run:
        log.warning("the board is %s; nothing was written (`reconcile resume`)", result.paused.describe())
        return "paused"
    applied = result.applied
    broken = result.plan is not None and bool(result.plan.schema_problems) and not result.dry_run
    return "partial" if applied.failed or applied.stopped or applied.refused or broken else "ok"


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


def _interrupted(ctx: Context, run_id: int, result: RunResult, exc: signals.Terminated) -> None:
    """SIGTERM: the request in flight was abandoned; journal what it and the rest of its batch became."""
    result.status = "failed"
    result.error = f"{exc}: the request in flight was abandoned; the next run settles it"
    result.applied.stopped = str(exc)
    try:
        with ctx.session() as session:
            settled = journal.interrupt(session, ctx.board, run_id, ctx.clock.now(), str(exc))
    except SQLAlchemyError as error:
        log.error("could not journal the interruption: %s", error)
        return
    result.applied.deferred += settled.get("deferred", 0)
    log.warning(
        "%s: %d operation(s) in flight left for the next run to settle, %d not sent",
        exc,
        settled.get("ambiguous", 0),
        settled.get("deferred", 0),
    )


def _finish(ctx: Context, result: RunResult) -> None:
    """Close the run's row, with what it observed (for metrics, `health` and `serve`); a mirror that
    fails now still lets the result, the outcome line and the metrics out."""
    stored = {**result.as_json(), "observed": observed(ctx.metrics, result.plan, result.duration or 0.0)}
    try:
        with ctx.session() as session:
            runs.finish(
                session, result.run_id or 0, result.status, ctx.clock.now(), result=stored, error=result.error
            )
    except SQLAlchemyError as exc:
        if mirror_error(exc, ctx.config.mirror.url) is None:
            raise
        result.status = "failed"
        result.error = result.error or _describe(ctx, exc)
        log.error("could not record the end of run %s in the mirror: %s", result.run_id, result.error)
