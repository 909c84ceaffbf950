"""`reconcile health`: config, tokens (a real call to each API), mirror, schema, last successful run."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from reconcile.config import load_config
from reconcile.errors import ReconcileError
from reconcile.jobs.context import Context
from reconcile.jobs.schema import compare
from reconcile.mirror import runs
from reconcile.mirror.db import current_revision, head_revision
from reconcile.model import iso
from reconcile.report import dumps


def health(config_path: str | None, fixed_now: datetime | None = None) -> dict[str, Any]:
    """Each part's status; overall "ok" only when every part is."""
    try:
        config = load_config(config_path)
        ctx = Context.build(config, fixed_now=fixed_now, migrate=False)
    except ReconcileError as exc:
        unknown = {"status": "unknown"}
        parts = {part: dict(unknown) for part in ("notion", "github", "mirror", "schema", "last_run")}
        return {"status": "error", "config": {"status": "error", "error": str(exc)}, **parts}
    report: dict[str, Any] = {"config": {"status": "ok"}}
    report["notion"] = _probe(lambda: _notion(ctx))
    report["github"] = _probe(lambda: _github(ctx))
    report["mirror"] = _probe(lambda: _mirror(ctx))
    report["schema"] = (
        _probe(lambda: _schema(ctx)) if report["notion"]["status"] == "ok" else {"status": "unknown"}
    )
    report["last_run"] = (
        _probe(lambda: _last_run(ctx)) if report["mirror"]["status"] == "ok" else {"status": "unknown"}
    )
    parts = ("config", "notion", "github", "mirror", "schema")
    report["status"] = "ok" if all(report[part]["status"] == "ok" for part in parts) else "error"
    ctx.close()
    return {"status": report.pop("status"), **report}


def _probe(check: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return {"status": "ok", **check()}
    except ReconcileError as exc:
        return {"status": "error", "error": str(exc)}


def _notion(ctx: Context) -> dict[str, Any]:
    me = ctx.notion.me()
    database = ctx.notion.database()
    title = "".join(part.get("plain_text", "") for part in database.get("title") or [])
    return {"bot": me.get("name"), "database": title or ctx.config.notion.database_id}


def _github(ctx: Context) -> dict[str, Any]:
    login = ctx.github.user().get("login") if ctx.config.github.token else None
    for repo in ctx.config.github.repos:
        ctx.github.repository(repo)
    return {"login": login, "repos": list(ctx.config.github.repos)}


def _mirror(ctx: Context) -> dict[str, Any]:
    current, head = current_revision(ctx.engine), head_revision()
    if current != head:
        raise ReconcileError(
            f"mirror is at revision {current or 'none'}, not {head}: run `reconcile db upgrade`"
        )
    return {"revision": current}


def _schema(ctx: Context) -> dict[str, Any]:
    problems = compare(ctx.config, ctx.notion.schema())
    if problems:
        raise ReconcileError(f"{len(problems)} schema problems: run `reconcile schema check`")
    return {}


def _last_run(ctx: Context) -> dict[str, Any]:
    with ctx.session() as session:
        last = runs.last_success(session, ctx.board)
    if last is None:
        return {"status": "none", "finished_at": None}
    age = (ctx.now() - last.finished_at).total_seconds() if last.finished_at else None
    return {"run_id": last.id, "finished_at": iso(last.finished_at), "age_seconds": age}


def render_health(report: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return dumps(report)
    lines = [f"Health: {report['status']}"]
    for part, detail in report.items():
        if isinstance(detail, dict):
            extra = detail.get("error") or ", ".join(
                f"{k} {v}" for k, v in detail.items() if k != "status" and v
            )
            lines.append(f"  {part:<9} {detail['status']:<7} {extra}")
    return "\n".join(lines)
