"""A run's end as operators see it: its metrics (textfile, Pushgateway) and its outcome line, the run's last.

Also for a run that failed before it could start (a config that does not load, a mirror never upgraded,
an unusable --log-file): cron's only witnesses are the metrics file and the log, so both are written
whenever the command got far enough to know its flags.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from reconcile.errors import ReconcileError
from reconcile.logs import run_context
from reconcile.metrics import Metrics, Snapshot, export
from reconcile.mirror import runs, store
from reconcile.mirror.tables import BoardRow, RunRow
from reconcile.model import Plan
from reconcile.planner import MAX_MISSES

if TYPE_CHECKING:  # jobs.run imports this module to record what a run observed
    from reconcile.jobs.context import Context
    from reconcile.jobs.run import RunResult

log = logging.getLogger("reconcile.run")

WORDS = {"ok": "SUCCESS", "partial": "PARTIAL", "failed": "FAILED", "locked": "LOCKED", "paused": "PAUSED"}
LEVELS = {"ok": logging.INFO, "paused": logging.INFO, "partial": logging.WARNING, "locked": logging.WARNING}
STORED_LIST = 200  # stale pages and drift kept with a run for the status page (the counts are exact)


# -- what a run stores with its row ---------------------------------------------------------------


def observed(metrics: Metrics, plan: Plan | None, seconds: float) -> dict[str, Any]:
    """What a run saw, stored with its row: its counts for the metrics, and its stale pages and drift."""
    from reconcile.report import stale_json

    body: dict[str, Any] = {"metrics": metrics.as_json(), "duration": round(seconds, 3)}
    if plan is not None:
        body["stale_count"], body["drift_count"] = len(plan.stale), len(plan.drift)
        body["stale"] = stale_json(plan.stale[:STORED_LIST], plan.generated_at)["stale"]
        body["drift"] = [drift.as_json() for drift in plan.drift[:STORED_LIST]]
    return body


# -- the snapshot exported ------------------------------------------------------------------------


def mirror_snapshot(session: Session, board: str, run_id: int | None = None) -> Snapshot:
    """The board as the mirror tells it: this run (or, when it was locked out, the last with an outcome)."""
    row = runs.get(session, run_id) if run_id is not None else None
    if row is None or row.status in runs.NO_OUTCOME:
        row = runs.last_outcome(session, board)
    snapshot = _from_row(board, row) if row is not None else Snapshot(board)
    success = runs.last_success(session, board, commands=("run",))
    snapshot.last_success = success.finished_at if success else None
    snapshot.runs = runs.count_by_status(session, board)
    snapshot.running_since, snapshot.running_known = runs.running_since(session, board), True
    snapshot.nonconverging = len(store.nonconverging(session, board, MAX_MISSES))
    board_row = session.get(BoardRow, board)
    snapshot.paused = board_row is not None and board_row.paused_at is not None
    return snapshot


def _from_row(board: str, row: RunRow) -> Snapshot:
    seen = (row.result or {}).get("observed") or {}
    return Snapshot(
        board,
        observed=Metrics.from_json(seen.get("metrics")),
        status=row.status,
        finished_at=row.finished_at,
        duration=seen.get("duration"),
        stale=seen.get("stale_count"),
        drift=seen.get("drift_count"),
    )


def process_snapshot(
    board: str, result: RunResult | None, metrics: Metrics | None, now: datetime
) -> Snapshot:
    """What this process knows alone, when the mirror cannot be read (or was never opened)."""
    plan = result.plan if result else None
    return Snapshot(
        board,
        observed=metrics or Metrics(),
        status=result.status if result and result.status != "locked" else None,
        finished_at=now,
        duration=result.duration if result else None,
        stale=len(plan.stale) if plan else None,
        drift=len(plan.drift) if plan else None,
    )


# -- the end of a run -----------------------------------------------------------------------------


def conclude(ctx: Context, result: RunResult, textfile: str | None, pushgateway: str | None) -> bool:
    """Export the run's metrics, then log its outcome line; False when the textfile could not be written."""
    with run_context(result.run_id):
        try:
            with ctx.session() as session:
                snapshot = mirror_snapshot(session, ctx.board, result.run_id)
        except (SQLAlchemyError, ReconcileError) as exc:
            log.warning(
                "metrics: the mirror cannot be read (%s); exporting this run's own counts", _first(exc)
            )
            snapshot = process_snapshot(ctx.board, result, ctx.metrics, ctx.clock.now())
        written = _export(snapshot, textfile, pushgateway)
        log_outcome(result)
    return written


def conclude_early(
    result: RunResult, textfile: str | None, pushgateway: str | None, board: str | None = None
) -> bool:
    """The same for a run that never started: its board (when the config or NOTION_DB_ID names it) failed."""
    board = board or os.environ.get("NOTION_DB_ID") or "unknown"
    written = _export(process_snapshot(board, result, None, datetime.now(UTC)), textfile, pushgateway)
    log_outcome(result)
    return written


def _export(snapshot: Snapshot, textfile: str | None, pushgateway: str | None) -> bool:
    if not (textfile or pushgateway):
        return True
    try:
        export(snapshot, textfile, pushgateway, os.environ.get("RECONCILE_INSTANCE"))
    except ReconcileError as exc:
        log.error("metrics: %s", exc)
        return False
    return True


def log_outcome(result: RunResult) -> None:
    """One line naming the outcome (SUCCESS, PARTIAL, FAILED, LOCKED, PAUSED): the run's last."""
    word = WORDS.get(result.status, result.status.upper())
    command = result.command or "run"
    fields: dict[str, Any] = {"status": result.status, "command": command}
    if result.duration is not None:
        fields["duration_ms"] = round(result.duration * 1000)
    log.log(
        LEVELS.get(result.status, logging.ERROR), "%s %s: %s", command, word, _details(result), extra=fields
    )


def _details(result: RunResult) -> str:
    if result.status in ("failed", "locked") and result.error:
        return result.error + ("; nothing was done" if result.status == "locked" else "")
    applied = result.applied
    done = len(result.plan.writes) if result.dry_run and result.plan else applied.applied
    parts = [
        f"{'would apply' if result.dry_run else 'applied'} {done}",
        f"failed {applied.failed}",
        f"deferred {applied.deferred}",
    ]
    text = (
        ", ".join(parts)
        + f"; pulled {result.pulled.github} GitHub items and {result.pulled.notion} Notion pages"
    )
    if result.duration is not None:
        text += f" in {result.duration:.1f} s"
    if result.error:
        text += f"; {result.error}"
    return text


def _first(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
