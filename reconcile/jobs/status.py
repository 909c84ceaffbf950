"""`reconcile status` and `reconcile reset`: what the journal and the lock say, and how to recover."""

from __future__ import annotations

from typing import Any

from reconcile.jobs.context import Context
from reconcile.jobs.planning import make_plan
from reconcile.jobs.run import RunResult, execute, pull_step
from reconcile.mirror import boards, journal, lock, runs, store
from reconcile.model import iso
from reconcile.planner import MAX_MISSES, Scope
from reconcile.report import dumps, item_link

SHOWN_RUNS = 10


def status(ctx: Context) -> dict[str, Any]:
    """Recent runs, operations not settled, the latest failures, and who holds the lock."""
    with ctx.session() as session:
        recent = runs.recent(session, ctx.board, SHOWN_RUNS)
        counts = journal.count_by_state(
            session, ctx.board, ("pending", "sent", "ambiguous", "failed", "deferred")
        )
        failures = journal.failed(session, ctx.board)
        cursors = [row for row in store.cursors(session) if _of_board(row.stream, ctx.board)]
        stuck = store.nonconverging(session, ctx.board, MAX_MISSES)
        pause = boards.paused(session, ctx.board)
    holder = lock.current_holder(ctx.engine, ctx.board)
    return {
        "database_id": ctx.board,
        "paused": pause.as_json() if pause else None,
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
        "lock": holder.as_json() if holder is not None else None,
        "nonconverging": stuck,
        "cursors": [
            {"stream": row.stream, "since": iso(row.value), "last_full_pull": iso(row.full_at)}
            for row in cursors
        ],
    }


def _of_board(stream: str, board: str) -> bool:
    """Whether a stream is the board's own (notion:B, github:B:repo, sweep:B): other boards' are theirs."""
    return board in stream.split(":")


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
    if fmt == "markdown":
        return _markdown(report)
    pause = report["paused"]
    lines = [_paused_line(pause), "", "Recent runs:"]
    for run in report["runs"] or [{"run_id": None}]:
        if run["run_id"] is None:
            lines.append("  (none yet)")
            continue
        lines.append(
            f"  #{run['run_id']} {run['command']:<9} {run['status']:<8} {run['started_at']}"
            f"  applied {run['applied'] or 0}, failed {run['failed'] or 0}"
            f"{'  ' + run['error'] if run['error'] else ''}"
        )
    lines += ["", _operations_line(report["operations"])]
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
    lines += ["", "Cursors:"] + [
        f"  {c['stream']}: since {c['since'] or '(start)'}; last full pull {c['last_full_pull'] or 'never'}"
        for c in report["cursors"]
    ]
    lines += ["", _lock_line(report["lock"])]
    return "\n".join(lines)


def _paused_line(pause: dict[str, Any] | None) -> str:
    if pause is None:
        return "Board: running (not paused)"
    why = f": {pause['reason']}" if pause["reason"] else ""
    return f"Board: PAUSED since {pause['since']}{why} (`reconcile resume` lifts it)"


def _operations_line(counts: dict[str, int]) -> str:
    return "Operations: " + (", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "none open")


def _lock_line(held: dict[str, Any] | None) -> str:
    if held is None:
        return "Lock: free"
    return f"Lock: held by pid {held['pid']} on {held['host']} until {held['expires_at']}"


def _markdown(report: dict[str, Any]) -> str:
    lines = [f"### reconcile status — {report['database_id']}", "", _paused_line(report["paused"]), ""]
    lines += ["| run | command | status | started | applied | failed | error |", "|" + "---|" * 7]
    lines += [
        f"| {r['run_id']} | {r['command']} | {r['status']} | {r['started_at']} | {r['applied'] or 0} | "
        f"{r['failed'] or 0} | {(r['error'] or '').replace('|', '/')} |"
        for r in report["runs"]
    ]
    lines += ["", _operations_line(report["operations"]), ""]
    lines += [
        f"- {f['state']}: {f['action']} {item_link(f['key']) if f['key'] else f['page_id']}: {f['error']}"
        for f in report["failed"]
    ]
    lines += ["", _lock_line(report["lock"])]
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
