"""The demo's data set: requests a first run and the no-op runs after it make, from the sandbox's count.

    python bench/demo_counts.py

Real clock, the sandbox enforcing Notion's limit (3/s, bursts of 10), the job at 3 requests/s.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from reconcile.config import config_from_dict
from reconcile.jobs.context import Context
from reconcile.jobs.demo import _config
from reconcile.jobs.run import execute, pull_step
from reconcile.logs import setup
from reconcile.sandbox import Sandbox
from reconcile.sandbox.sample import build_sample


def main() -> None:
    setup("warning")
    mirror = Path(tempfile.mkdtemp()) / "mirror.db"
    with Sandbox(notion_rps=3.0, seed=7) as sandbox:
        sample = build_sample(sandbox)
        env = {
            "GITHUB_TOKEN": sandbox.github_token,
            "NOTION_API_KEY": sandbox.notion_token,
            "NOTION_API_URL": sandbox.notion_url,
            "GITHUB_API_URL": sandbox.github_url,
        }
        ctx = Context.build(config_from_dict(_config(sample.repos, sample.database_id, mirror, 3.0), env))
        print(
            f"{'run':<22} {'plan':<12} {'Notion':>7} {'writes':>7} {'GitHub':>7} {'304s':>5} {'seconds':>8}"
        )
        for label in ("1 (fresh mirror)", "2 (no-op)", "3 (no-op)"):
            sandbox.reset_counts()
            started = time.monotonic()
            result = execute(ctx, "run", pull_step())
            summary = result.plan.summary() if result.plan else {}
            plan = f"{summary.get('create', 0)} creates" if summary.get("create") else "no writes"
            print(
                f"{label:<22} {plan:<12} {sandbox.count(api='notion'):>7} {sandbox.writes('notion'):>7} "
                f"{sandbox.count(api='github'):>7} {sandbox.count(api='github', status=304):>5} "
                f"{time.monotonic() - started:>8.1f}"
            )
        ctx.close()


if __name__ == "__main__":
    main()
