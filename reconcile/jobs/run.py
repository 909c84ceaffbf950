"""The job's flows: run (lock, recover, pull, plan, apply), and the commands built from the same steps."""

from __future__ import annotations

import json
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
from reconcile.jobs.pull import PullResult, pull
from reconcile.jobs.recover import Recovery, recover
from reconcile.logs import run_context
from reconcile.mirror import journal, runs
from reconcile.model import Plan, jsonable
from reconcile.planner import Scope, plan

log = logging.getLogger("reconcile.run")

Prepare = Callable[[Context], PullResult]
Planner = Callable[[Context], Plan]


@dataclass
class RunResult:
    """The outcome of one run, as CONTRACT §8 prints it."""

    run_id: int | None
    status: str = "ok"  # ok | partial | failed | locked
    pulled: PullResult = field(default_factory=PullResult)
    plan: Plan | None = None
    applied: ApplyResult = field(default_factory=ApplyResult)
    recovery: Recovery | None = None
    error: str | None = None
    dry_run: bool = False
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
        if self.recovery and self.recovery.settled:
            body["recovered"] = self.recovery.as_json()
        if self.error:
            body["error"] = self.error
        return body


def make_plan(ctx: Context, scope: Scope | None = None) -> Plan:
    """The plan for the mirror as it is now."""
    result = plan(ctx.config, ctx.mirror_state(), ctx.now(), scope)
    for stuck in result.nonconverging:
        log.warning(
            "not converging: page %s property %r: sent %s, Notion kept %s; not written again until its "
            "value from GitHub changes",
            stuck.page_id,
            stuck.property,
            json.dumps(jsonable(stuck.sent), ensure_ascii=False),
            json.dumps(jsonable(stuck.stored), ensure_ascii=False),
        )
    return result


def pulled_plan(ctx: Context, *, pull_first: bool = True, full: bool = False) -> Plan:
    """Pull (unless told not to), then plan: what `plan` and `stale` show, writing nothing to Notion."""
    if pull_first:
        pull(ctx, full=full)
    return make_plan(ctx)


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
    with ctx.session() as session:
        run_id = runs.start(session, ctx.board, command, ctx.clock.now(), dry_run=dry_run)
    result = RunResult(run_id, dry_run=dry_run, command=command)
    with run_context(run_id):
        log.info("%s started%s", command, " (dry run)" if dry_run else "", extra={"command": command})
        try:
            if dry_run:
                result.pulled = prepare(ctx)
                result.plan = planner(ctx)
            else:
                _locked_run(ctx, run_id, result, prepare, planner, force)
            result.status = "partial" if result.applied.failed or result.applied.stopped else "ok"
        except Locked as exc:
            result.status, result.error = "locked", str(exc)
        except ReconcileError as exc:
            result.status, result.error = "failed", str(exc)
        except signals.Terminated as exc:
            with signals.deferred():
                _interrupted(ctx, run_id, result, exc)
        except Exception as exc:  # a bug or an unforeseen failure: the run still ends recorded, with its JSON
            log.debug("internal error", exc_info=True)
            result.status, result.error = "failed", f"internal error: {type(exc).__name__}: {exc}"
        with signals.deferred():
            result.duration = ctx.clock.monotonic() - started
            _finish(ctx, result)
    return result


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
        apply_plan(
            ctx, run_id, result.plan, force=force, should_stop=lambda: lease.lost, result=result.applied
        )


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
    """Close the run's row, with what it observed (for metrics, `health` and `serve`)."""
    stored = {**result.as_json(), "observed": observed(ctx.metrics, result.plan, result.duration or 0.0)}
    try:
        with ctx.session() as session:
            runs.finish(
                session, result.run_id or 0, result.status, ctx.clock.now(), result=stored, error=result.error
            )
    except SQLAlchemyError as exc:  # the mirror went away: the outcome line and metrics still tell
        log.error(
            "could not record the end of run %s in the mirror: %s", result.run_id, str(exc).splitlines()[0]
        )
