"""`reconcile health`: config, tokens (a real call to each API), mirror, schema, and whether runs succeed.

Unhealthy when any part is: a token refused, the database not shared, the mirror not upgraded, the schema
off, the last `run` failed, or the last successful `run` is older than `health.max_age` ("now" is
RECONCILE_NOW when set). Only `run` counts: a `refresh` or a dry run says nothing about the schedule.
A SQLite mirror not created yet is fine (the first run creates it), and so is no run yet (a new setup).

The checks come in two halves so that `serve` can cache the one that spends API calls: `api_checks`
(Notion, GitHub, schema) and `mirror_checks` (mirror, last run), joined by `combine`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from reconcile.config import load_config
from reconcile.errors import ReconcileError
from reconcile.jobs.context import Context
from reconcile.jobs.schema import compare
from reconcile.mirror import runs
from reconcile.mirror.db import current_revision, head_revision
from reconcile.model import iso
from reconcile.report import dumps

PARTS = ("config", "notion", "github", "mirror", "schema", "last_run")
FAILED_RUNS = ("failed", "crashed")


def health(config_path: str | None, fixed_now: datetime | None = None) -> dict[str, Any]:
    """Each part's status; overall "ok" only when every part is."""
    try:
        config = load_config(config_path)
        ctx = Context.build(config, fixed_now=fixed_now, migrate=False)
    except ReconcileError as exc:
        return config_error(str(exc))
    try:
        return combine(api_checks(ctx), mirror_checks(ctx))
    finally:
        ctx.close()


def config_error(message: str) -> dict[str, Any]:
    unknown = {"status": "unknown"}
    parts = {part: dict(unknown) for part in PARTS[1:]}
    return {"status": "error", "config": {"status": "error", "error": message}, **parts}


def combine(api: dict[str, Any], mirror: dict[str, Any]) -> dict[str, Any]:
    """The report in CONTRACT §6's shape: overall status first, then each part."""
    parts = {"config": {"status": "ok"}, **api, **mirror}
    status = "ok" if all(parts[part]["status"] == "ok" for part in PARTS) else "error"
    return {"status": status, **{part: parts[part] for part in PARTS}}


def api_checks(ctx: Context) -> dict[str, Any]:
    """The parts that call the APIs (a token each): notion, github, schema."""
    notion = _probe(lambda: _notion(ctx))
    return {
        "notion": notion,
        "github": _probe(lambda: _github(ctx)),
        "schema": _probe(lambda: _schema(ctx)) if notion["status"] == "ok" else {"status": "unknown"},
    }


def mirror_checks(ctx: Context) -> dict[str, Any]:
    """The parts read from the mirror alone: mirror, last_run."""
    if not_created(ctx):
        return {
            "mirror": {"status": "ok", "note": "not created yet: the first run creates it"},
            "last_run": {"status": "ok", "run_id": None, "finished_at": None, "note": "no run yet"},
        }
    mirror = _probe(lambda: _mirror(ctx))
    last = _probe(lambda: _last_run(ctx)) if mirror["status"] == "ok" else {"status": "unknown"}
    return {"mirror": mirror, "last_run": last}


def not_created(ctx: Context) -> bool:
    """A SQLite mirror whose file does not exist yet (looking must not create it)."""
    url = ctx.engine.url
    return url.get_backend_name() == "sqlite" and bool(url.database) and not Path(str(url.database)).exists()


def _probe(check: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return {"status": "ok", **check()}
    except _Unhealthy as exc:
        return {"status": "error", "error": str(exc), **exc.found}
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
    found: dict[str, Any] = {"login": login, "repos": list(ctx.config.github.repos)}
    budget = ctx.github.rate_limit()
    if budget is not None:
        reset = budget.get("reset")
        found["rate_limit"] = {
            "limit": budget.get("limit"),
            "remaining": budget.get("remaining"),
            "reset_at": iso(datetime.fromtimestamp(reset, UTC)) if isinstance(reset, int) else None,
        }
    return found


def _schema(ctx: Context) -> dict[str, Any]:
    problems = compare(ctx.config, ctx.notion.schema())
    if problems:
        raise ReconcileError(f"{len(problems)} schema problems: run `reconcile schema check`")
    return {}


def _mirror(ctx: Context) -> dict[str, Any]:
    current, head = current_revision(ctx.engine), head_revision()
    if current == head:
        return {"revision": current}
    if ctx.engine.dialect.name == "sqlite":  # `run` migrates SQLite on first use
        return {"revision": current, "note": f"migrated to {head} by the next run"}
    raise ReconcileError(f"mirror is at revision {current or 'none'}, not {head}: run `reconcile db upgrade`")


def _last_run(ctx: Context) -> dict[str, Any]:
    """The last successful `run` and its age against health.max_age; the last `run`'s outcome."""
    with ctx.session() as session:
        success = runs.last_success(session, ctx.board, commands=("run",))
        last = runs.last_outcome(session, ctx.board, commands=("run",))
    max_age = ctx.config.health.max_age
    found: dict[str, Any] = {
        "run_id": success.id if success else None,
        "finished_at": iso(success.finished_at) if success else None,
        "age_seconds": None,
        "max_age_seconds": max_age.total_seconds(),
    }
    if last is not None:
        found["last"] = {
            "run_id": last.id,
            "status": last.status,
            "finished_at": iso(last.finished_at),
            "error": last.error,
        }
    if success is not None and success.finished_at is not None:
        found["age_seconds"] = round((ctx.now() - success.finished_at).total_seconds())
    problem = _problem(success, last, found["age_seconds"], max_age)
    if problem:
        raise _Unhealthy(problem, found)
    if last is None:
        found["note"] = "no run yet"
    return found


def _problem(success: Any, last: Any, age: float | None, max_age: timedelta) -> str | None:
    if last is not None and last.status in FAILED_RUNS:
        return f"the last run (#{last.id}) {last.status}: {last.error or 'no message'}"
    if last is not None and success is None:
        return "no run has succeeded yet"
    if age is not None and age > max_age.total_seconds():
        limit = _ago(max_age.total_seconds())
        return f"the last successful run was {_ago(age)} ago, more than health.max_age ({limit})"
    return None


class _Unhealthy(ReconcileError):
    """A part that answered, with what it found, but is not healthy."""

    def __init__(self, message: str, found: dict[str, Any]) -> None:
        super().__init__(message)
        self.found = found


def _ago(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}" if seconds % size == 0 else f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


# -- text -----------------------------------------------------------------------------------------


def render_health(report: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return dumps(report)
    lines = [f"Health: {report['status']}"]
    for part in PARTS:
        detail = report.get(part) or {"status": "unknown"}
        lines.append(f"  {part:<9} {detail['status']:<7} {describe(part, detail)}".rstrip())
    return "\n".join(lines)


def describe(part: str, detail: dict[str, Any]) -> str:
    """One line for a part, for people: no Python reprs."""
    if detail.get("error"):
        return str(detail["error"])
    if detail.get("note") and part != "last_run":
        return str(detail["note"])
    return _DESCRIBE.get(part, lambda d: "")(detail)


def _describe_notion(d: dict[str, Any]) -> str:
    return f"database “{d.get('database')}” as {d.get('bot') or 'the integration'}"


def _describe_github(d: dict[str, Any]) -> str:
    text = f"{', '.join(d.get('repos') or [])}" + (f" as {d['login']}" if d.get("login") else "")
    budget = d.get("rate_limit")
    if budget:
        text += f"; rate limit {budget['remaining']}/{budget['limit']} left"
        text += f", resets {budget['reset_at']}" if budget.get("reset_at") else ""
    return text


def _describe_last_run(d: dict[str, Any]) -> str:
    if d.get("note") and not d.get("run_id"):
        return str(d["note"])
    text = f"#{d['run_id']} succeeded at {d['finished_at']}"
    if d.get("age_seconds") is not None:
        text += f" ({_ago(d['age_seconds'])} ago; max {_ago(d['max_age_seconds'])})"
    last = d.get("last")
    if last and last["run_id"] != d["run_id"]:
        text += f"; last run #{last['run_id']} {last['status']}"
    return text


_DESCRIBE: dict[str, Callable[[dict[str, Any]], str]] = {
    "config": lambda d: "loaded",
    "notion": _describe_notion,
    "github": _describe_github,
    "mirror": lambda d: f"revision {d.get('revision')}",
    "schema": lambda d: "matches the mapping",
    "last_run": _describe_last_run,
}
