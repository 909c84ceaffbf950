"""What both benchmarks need: a sandbox filled with items, an empty database, and a job context for it."""

from __future__ import annotations

import platform
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

from reconcile.clock import Clock
from reconcile.config import config_from_dict
from reconcile.jobs.context import Context
from reconcile.jobs.demo import MAPPING
from reconcile.sandbox import Sandbox
from reconcile.sandbox.sample import SCHEMA

REPOS = ("acme/web", "acme/api")
LABELS = (["bug"], ["enhancement", "priority: high"], [], ["chore"], ["priority: low"])


def fill(sandbox: Sandbox, items: int, spread: timedelta) -> str:
    """`items` issues and PRs over the two repos, updated evenly over `spread` up to now; a database."""
    now = sandbox.clock.now()
    for repo in REPOS:
        sandbox.github.add_repo(repo)
    for n in range(items):
        stamp = now - spread + spread * (n + 1) / items
        sandbox.github.create_issue(
            REPOS[n % 2],
            title=f"Item {n}",
            labels=LABELS[n % len(LABELS)],
            assignees=["alice"] if n % 3 == 0 else [],
            pull_request=n % 4 == 0,
            created_at=stamp,
        )
    return sandbox.notion.create_database("Engineering work", SCHEMA)


def context(
    sandbox: Sandbox,
    database_id: str,
    mirror: Path,
    rps: float,
    clock: Clock | None = None,
    max_writes: int = 1000,
) -> Context:
    """The job pointed at the sandbox, with a SQLite mirror."""
    return Context.build(
        config_from_dict(raw_config(sandbox, database_id, mirror, rps, max_writes)), clock=clock
    )


def raw_config(
    sandbox: Sandbox, database_id: str, mirror: Path, rps: float, max_writes: int = 1000
) -> dict[str, Any]:
    """The config (as plain data, so that a child process can be handed it) for the job on the sandbox."""
    return {
        "version": 1,
        "github": {"api_url": sandbox.github_url, "token": sandbox.github_token, "repos": list(REPOS)},
        "notion": {
            "api_url": sandbox.notion_url,
            "token": sandbox.notion_token,
            "database_id": database_id,
            "requests_per_second": rps,
        },
        "mirror": {"url": f"sqlite:///{mirror}"},
        "mapping": MAPPING,
        "apply": {"max_writes_per_run": max_writes},
    }


def machine() -> str:
    """One line about where the figures come from."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout
    system = f"{platform.system()} {platform.release()}"
    return f"{cpu}; Python {platform.python_version()}; {system}; commit {commit.strip() or '?'}"
