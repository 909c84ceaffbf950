"""`reconcile demo`: the whole job against the built-in sandbox, with no credentials."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from reconcile.config import config_from_dict
from reconcile.jobs.context import Context
from reconcile.jobs.run import RunResult, execute, pull_step
from reconcile.report import plan_text, render_run

Echo = Callable[[str], None]

MAPPING: dict[str, Any] = {
    "key": "GitHub URL",
    "properties": {
        "Name": {"type": "title", "value": "{title}"},
        "Status": {
            "type": "select",
            "policy": "on_change",
            "rules": [
                {"if": {"state": "closed", "state_reason": "not_planned"}, "then": "Won't Do"},
                {"if": {"state": "closed"}, "then": "Done"},
                {"if": {"kind": "pull_request"}, "then": "In Review"},
                {"if": {"assigned": True}, "then": "In Progress"},
                {"then": "Backlog"},
            ],
        },
        "Type": {
            "type": "select",
            "labels": {"bug": "Bug", "chore": "Chore", "enhancement": "Feature"},
            "default": "Task",
            "policy": "create_only",
        },
        "Priority": {
            "type": "select",
            "labels": {"priority: high": "High", "priority: low": "Low"},
            "default": "Medium",
            "policy": "on_change",
        },
        "Repository": {"type": "select", "value": "{repo}"},
        "Labels": {"type": "multi_select", "value": "{labels}"},
        "Last Updated": {"type": "date", "value": "{updated_at}"},
    },
}


def demo(directory: Path, *, rps: float = 3.0, echo: Echo = print) -> None:
    """Start the sandbox with sample data, run the job, show each step, leave the mirror behind."""
    from reconcile.sandbox import Sandbox
    from reconcile.sandbox.sample import build_sample

    directory.mkdir(parents=True, exist_ok=True)
    mirror = directory / "mirror.db"
    for leftover in directory.glob("mirror.db*"):
        leftover.unlink()
    with Sandbox(notion_rps=3.0, seed=7) as sandbox:
        sample = build_sample(sandbox)
        raw = _config(sample.repos, sample.database_id, mirror, rps)
        env = {
            "GITHUB_TOKEN": sandbox.github_token,
            "NOTION_API_KEY": sandbox.notion_token,
            "NOTION_API_URL": sandbox.notion_url,
            "GITHUB_API_URL": sandbox.github_url,
        }
        (directory / "config.yaml").write_text(_config_text(raw), encoding="utf-8")
        ctx = Context.build(config_from_dict(raw, env))
        echo(f"Sandbox up: GitHub at {sandbox.github_url}, Notion at {sandbox.notion_url} (look-alikes).")
        echo(f"Sample data: {', '.join(sample.repos)}; an empty Notion database {sample.database_id}.\n")
        _tour(ctx, sandbox, sample, echo)
        ctx.close()
    echo(f"\nThe mirror is at {mirror} (config beside it). Look inside with, for example:")
    echo(f"  sqlite3 {mirror} 'select action, state, key from operations order by id desc limit 5'")


def _tour(ctx: Context, sandbox: Any, sample: Any, echo: Echo) -> None:
    echo("== 1. What the first run would do: `reconcile plan` ==")
    dry = execute(ctx, "plan", pull_step(), dry_run=True)
    echo(plan_text(dry.plan) if dry.plan else "")
    echo(
        f"\n== 2. `reconcile run`: apply it, paced at {ctx.config.notion.requests_per_second:g} requests/s =="
    )
    first = _counted(sandbox, lambda: execute(ctx, "run", pull_step()))
    echo(f"{_last_line(first[0])}\n   {first[1]}")
    echo("\n== 3. Run again: nothing changed, so nothing is written ==")
    second = _counted(sandbox, lambda: execute(ctx, "run", pull_step()))
    echo(f"{_last_line(second[0])}\n   {second[1]}")
    echo("\n== 4. Life goes on: an issue is closed on GitHub, a person raises a priority in Notion ==")
    issue, page = _change_something(sandbox, sample)
    echo(f"   closed {issue}; set Priority to High on page {page} (on_change: a person's edit stands)")
    third = _counted(sandbox, lambda: execute(ctx, "run", pull_step()))
    echo(render_run(third[0], "text"))
    echo(f"   {third[1]}")


def _counted(sandbox: Any, step: Callable[[], RunResult]) -> tuple[RunResult, str]:
    sandbox.reset_counts()
    result = step()
    notion, github = sandbox.count(api="notion"), sandbox.count(api="github")
    writes = sandbox.writes("notion")
    return result, f"requests: Notion {notion} ({writes} writes), GitHub {github}"


def _last_line(result: RunResult) -> str:
    return render_run(result, "text").splitlines()[-1]


def _change_something(sandbox: Any, sample: Any) -> tuple[str, str]:
    repo = sample.repos[0]
    open_issue = next(
        i for i in sandbox.github.issues(repo) if i["state"] == "open" and "pull_request" not in i
    )
    sandbox.github.update_issue(repo, open_issue["number"], state="closed", state_reason="completed")
    pages = sandbox.notion.pages(sample.database_id)
    other = next(p for p in pages if p["properties"]["GitHub URL"]["url"] != open_issue["html_url"])
    sandbox.notion.human_edit(other["id"], {"Priority": {"select": {"name": "High"}}})
    return f"{repo}#{open_issue['number']}", other["id"]


def _config(repos: list[str], database_id: str, mirror: Path, rps: float) -> dict[str, Any]:
    return {
        "version": 1,
        "github": {"token": "${GITHUB_TOKEN}", "repos": list(repos)},
        "notion": {"token": "${NOTION_API_KEY}", "database_id": database_id, "requests_per_second": rps},
        "mirror": {"url": f"sqlite:///{mirror}"},
        "mapping": MAPPING,
        "stale": {"property": "Status", "status": "In Progress", "after_days": 14, "action": "report"},
    }


def _config_text(raw: dict[str, Any]) -> str:
    note = (
        "# Written by `reconcile demo` for its sandbox (which is gone now). Tokens and URLs come from\n"
        "# NOTION_API_KEY, GITHUB_TOKEN, NOTION_API_URL and GITHUB_API_URL.\n"
    )
    return note + yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)
