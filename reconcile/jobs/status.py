"""`reconcile status` and `reconcile reset`: what the journal and the lock say, and how to recover."""

from __future__ import annotations

from typing import Any

from reconcile.jobs.context import Context
from reconcile.jobs.run import RunResult, execute, make_plan, pull_step
from reconcile.mirror import journal, lock, runs, store
from reconcile.model import iso
from reconcile.planner import MAX_MISSES, Scope
from reconcile.report import dumps

SHOWN_RUNS = 10


def status(ctx: Context) -> dict[str, Any]:
    """Recent runs, operations not settled, the latest failures, and who holds the lock."""
    with ctx.session() as session:
        recent = runs.recent(session, ctx.board, SHOWN_RUNS)
        counts = journal.count_by_state(
            session, ctx.board, ("pending", "sent", "ambiguous", "failed", "deferred")
        )
        failures = journal.failed(session, ctx.board)
        cursors = store.cursors(session)
        stuck = store.nonconverging(session, ctx.board, MAX_MISSES)
    holder = lock.current_holder(ctx.engine, ctx.board)
    return {
        "runs": [_run(row) for row in recent],
        "operations": counts,
        "failed": [
            {
                "run_id": row.run_id,
                "action": row.action,
                "key": row.key,
                "page_id": row.page_id,
                "state": row.state,
                "error": row.error,
            }
            for row in failures
        ],
        "lock": None
        if holder is None
        else {
            "host": holder.host,
            "pid": holder.pid,
            "acquired_at": iso(holder.acquired_at),
            "heartbeat_at": iso(holder.heartbeat_at),
            "expires_at": iso(holder.expires_at),
        },
        "nonconverging": stuck,
        "cursors": [
            {"stream": row.stream, "since": iso(row.value), "last_full_pull": iso(row.full_at)}
            for row in cursors
        ],
    }


def _run(row: Any) -> dict[str, Any]:
    result = row.result or {}
    return {
        "run_id": row.id,
        "command": row.command,
        "status": row.status,
        "started_at": iso(row.started_at),
        "finished_at": iso(row.finished_at),
        "summary": result.get("summary"),
        "applied": result.get("applied"),
        "failed": result.get("failed"),
        "error": row.error,
    }


def render_status(report: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return dumps(report)
    lines = ["Recent runs:"]
    for run in report["runs"] or [{"run_id": None}]:
        if run["run_id"] is None:
            lines.append("  (none yet)")
            continue
        lines.append(
            f"  #{run['run_id']} {run['command']:<9} {run['status']:<8} {run['started_at']}"
            f"  applied {run['applied'] or 0}, failed {run['failed'] or 0}"
            f"{'  ' + run['error'] if run['error'] else ''}"
        )
    counts = report["operations"]
    lines += [
        "",
        "Operations: " + (", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "none open"),
    ]
    lines += [
        f"  {f['state']}: {f['action']} {f['key'] or f['page_id']} (run {f['run_id']}): {f['error']}"
        for f in report["failed"]
    ]
    stuck = report["nonconverging"]
    if stuck:
        lines += ["", f"Not converging ({len(stuck)}; written no more until GitHub's value changes):"]
        lines += [
            f"  {s['key'] or s['page_id']} {s['property']}: sent {s['sent']!r}, Notion kept {s['stored']!r}"
            for s in stuck
        ]
    held = report["lock"]
    lines += ["", "Cursors:"] + [
        f"  {c['stream']}: since {c['since'] or '(start)'}; last full pull {c['last_full_pull'] or 'never'}"
        for c in report["cursors"]
    ]
    lines += [
        "",
        f"Lock: held by pid {held['pid']} on {held['host']} until {held['expires_at']}"
        if held
        else "Lock: free",
    ]
    return "\n".join(lines)


def clear_locks(ctx: Context) -> list[str]:
    return lock.clear(ctx.engine, ctx.clock, ctx.board)


def retry_failed(ctx: Context) -> RunResult:
    """Plan and apply again, now, for the items and pages whose operations failed."""
    with ctx.session() as session:
        failures = journal.failed(session, ctx.board, limit=10_000)
    item_ids = {row.item_id for row in failures if row.item_id is not None}
    page_ids = {row.page_id for row in failures if row.page_id is not None}
    scope = Scope(item_ids=item_ids, page_ids=page_ids)
    result = execute(ctx, "reset", pull_step(), planner=lambda ctx: make_plan(ctx, scope))
    if result.status in ("ok", "partial"):
        with ctx.session() as session:
            for row in (row for row in failures if row.state == "failed"):
                journal.mark(session, row.id, "retried", ctx.clock.now(), error=row.error)
    return result
