"""What the status page shows, read from the mirror: runs, failures, stale pages, drift, the lock.

Plain dicts and lists for the template: reading and rendering stay apart, and a test can check the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from reconcile.jobs.context import Context
from reconcile.mirror import journal, lock, runs, store
from reconcile.mirror.tables import BoardRow, RunRow
from reconcile.model import iso
from reconcile.planner import MAX_MISSES

SHOWN_RUNS = 30
SHOWN_FAILURES = 20
CHART = {"width": 600, "height": 120, "gap": 2, "bar": 18}  # bar: the widest a bar gets
COLOURS = {
    "ok": "#2f9e44",
    "partial": "#f08c00",
    "failed": "#e03131",
    "crashed": "#e03131",
    "locked": "#adb5bd",
    "paused": "#74c0fc",
    "running": "#1971c2",
}


def notion_url(page_id: str | None) -> str | None:
    """A page's address in Notion (its id without dashes)."""
    return f"https://www.notion.so/{page_id.replace('-', '')}" if page_id else None


@dataclass
class RunView:
    id: int
    command: str
    status: str
    dry_run: bool
    started_at: datetime
    finished_at: datetime | None
    applied: int
    failed: int
    error: str | None

    @property
    def duration(self) -> float | None:
        if self.finished_at is None:
            return None
        return max(0.0, (self.finished_at - self.started_at).total_seconds())


def status_page(ctx: Context) -> dict[str, Any]:
    """Everything the page shows, in one read of the mirror."""
    with ctx.session() as session:
        recent = [_run(row) for row in runs.recent(session, ctx.board, SHOWN_RUNS)]
        failures = [_failure(row) for row in journal.failed(session, ctx.board, SHOWN_FAILURES)]
        failure_count = sum(journal.count_by_state(session, ctx.board, ("failed", "ambiguous")).values())
        planned = _last_planned(session, ctx.board)
        board = session.get(BoardRow, ctx.board)
        nonconverging = store.nonconverging(session, ctx.board, MAX_MISSES)
    holder = lock.current_holder(ctx.engine, ctx.board)
    seen = ((planned.result or {}).get("observed") or {}) if planned else {}
    return {
        "runs": recent,
        "chart": chart(list(reversed(recent))),
        "failures": failures,
        "failure_count": failure_count,
        "planned_by": planned.id if planned else None,
        "stale": [_linked(entry) for entry in seen.get("stale", [])],
        "stale_count": seen.get("stale_count", 0),
        "drift": [_linked(entry) for entry in seen.get("drift", [])],
        "drift_count": seen.get("drift_count", 0),
        "nonconverging": [{**entry, "notion_url": notion_url(entry["page_id"])} for entry in nonconverging],
        "paused": {"at": iso(board.paused_at), "reason": board.paused_reason}
        if board is not None and board.paused_at is not None
        else None,
        "lock": holder.as_json() if holder is not None else None,
    }


def empty_page() -> dict[str, Any]:
    """The page before the first run (a SQLite mirror not created yet)."""
    return {
        "runs": [],
        "chart": chart([]),
        "failures": [],
        "failure_count": 0,
        "planned_by": None,
        "stale": [],
        "stale_count": 0,
        "drift": [],
        "drift_count": 0,
        "nonconverging": [],
        "paused": None,
        "lock": None,
    }


def _run(row: RunRow) -> RunView:
    result = row.result or {}
    return RunView(
        row.id,
        row.command,
        row.status,
        row.dry_run,
        row.started_at,
        row.finished_at,
        int(result.get("applied") or 0),
        int(result.get("failed") or 0),
        row.error,
    )


def _failure(row: Any) -> dict[str, Any]:
    return {
        "run_id": row.run_id,
        "action": row.action,
        "key": row.key,
        "page_id": row.page_id,
        "notion_url": notion_url(row.page_id),
        "state": row.state,
        "error": row.error,
        "at": iso(row.updated_at),
    }


def _last_planned(session: Session, board: str) -> RunRow | None:
    """The latest run that planned (its stale pages and drift are the freshest the mirror has)."""
    for row in runs.recent(session, board, SHOWN_RUNS):
        if "stale_count" in ((row.result or {}).get("observed") or {}):
            return row
    return None


def _linked(entry: dict[str, Any]) -> dict[str, Any]:
    return {**entry, "notion_url": notion_url(entry.get("page_id"))}


def chart(ordered: list[RunView]) -> dict[str, Any]:
    """Bars for an inline SVG: one per run, oldest first, height by duration, colour by outcome."""
    width, height, gap = CHART["width"], CHART["height"], CHART["gap"]
    longest = max((run.duration or 0.0 for run in ordered), default=0.0) or 1.0
    step = min(width / max(len(ordered), 1), CHART["bar"] + gap)
    bars = []
    for index, run in enumerate(ordered):
        tall = max(2.0, (run.duration or 0.0) / longest * (height - 4))
        bars.append(
            {
                "x": round(index * step, 1),
                "y": round(height - tall, 1),
                "width": round(max(step - gap, 1.0), 1),
                "height": round(tall, 1),
                "colour": COLOURS.get(run.status, "#868e96"),
                "title": f"run {run.id} {run.command}: {run.status}"
                + (f", {run.duration:.1f} s" if run.duration is not None else "")
                + f", {run.applied} written, {run.failed} failed",
            }
        )
    return {"width": width, "height": height, "bars": bars, "longest": longest}
