"""Benchmark: the two cadences of issue 9 — what the key sweep and the GitHub resync cost — and the CPU
of a run that finds trashed pages.

    python bench/sweep.py [--pages 1000 10000] [--trashed 10]

For each size, N items and their N pages are seeded on a fake clock (the sandbox's rate limit off), then the
job runs as cron would, 15 minutes apart, each run in a child process so that its CPU time is its own and not
the sandbox's (which serves it from this process):

  no-op     nothing changed; the sweep every run (`notion.sweep_every: 0`, the default)
  trashed   K pages trashed by a person meanwhile: the sweep finds them, each is looked up and recreated
  fallback  K other pages trashed and their items changed, no sweep due (`sweep_every: 1d`): each update
            meets the trash, that one item is re-planned and its page recreated
  resync    a day later: every repository listed completely (`github.resync_every: 1d`), the sweep too
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _setup import REPOS, context, fill, machine, raw_config

from reconcile.clock import FakeClock
from reconcile.jobs.run import execute, pull_step
from reconcile.sandbox import Sandbox

INTERVAL = timedelta(minutes=15)
# Every run paces as in production: on the fake clock the waits cost no real time, and the pages get the
# created_time a real first run gives them (at most ~180 a minute; the sweep's windows depend on it).
RPS = 3.0


@dataclass
class Measured:
    """One child run: what it planned and did, what it cost."""

    label: str
    summary: dict[str, int]
    applied: int
    notion: int
    queries: int
    lookups: int
    writes: int
    github: int
    cpu: float  # user + system seconds of the child process, start-up included
    run_cpu: float  # CPU seconds of `execute` alone, as the child measured it
    wall: float


def main() -> None:
    args = _arguments()
    if args.child:
        _child(Path(args.child[0]), datetime.fromisoformat(args.child[1]))
        return
    print(f"machine: {machine()}\n")
    for pages in args.pages:
        _size(pages, args.trashed)


def _size(pages: int, trashed: int) -> None:
    clock = FakeClock(datetime(2026, 1, 10, 12, 0, 37, tzinfo=UTC))
    with tempfile.TemporaryDirectory() as tmp, Sandbox(clock=clock) as sandbox:
        mirror = Path(tmp) / "mirror.db"
        database_id = fill(sandbox, pages, timedelta(days=90))
        started = time.monotonic()
        for _ in range(2):  # creates every page, then reads them back once (see noop.py)
            ctx = context(sandbox, database_id, mirror, RPS, clock, max_writes=pages)
            assert execute(ctx, "run", pull_step()).status == "ok"
            ctx.close()
            clock.advance(INTERVAL.total_seconds())
        seeded = time.monotonic() - started
        print(f"{pages} items over {len(REPOS)} repos, {pages} pages: seeded in {seeded:.0f} s")
        config = raw_config(sandbox, database_id, mirror, RPS, max_writes=pages)
        rows = [_run(sandbox, clock, Path(tmp), config, "no-op, sweep every run")]
        ids = _page_ids(sandbox, database_id)
        for page_id in ids[:: len(ids) // trashed][:trashed]:
            sandbox.notion.trash_page(page_id)
        rows.append(_run(sandbox, clock, Path(tmp), config, f"{trashed} trashed, found by the sweep"))
        rows.append(_fallback(sandbox, clock, Path(tmp), config, database_id, trashed))
        clock.advance(timedelta(days=1).total_seconds())
        rows.append(_run(sandbox, clock, Path(tmp), config, "a day later: resync and sweep"))
        _table(pages, trashed, rows)


def _fallback(
    sandbox: Sandbox, clock: FakeClock, tmp: Path, config: dict[str, Any], database_id: str, trashed: int
) -> Measured:
    """K pages trashed and their items changed while no sweep is due: the updates meet the trash."""
    later = {**config, "notion": {**config["notion"], "sweep_every": "1d"}}
    by_key = {
        page["properties"]["GitHub URL"]["url"]: page["id"] for page in sandbox.notion.pages(database_id)
    }
    issues = [issue for repo in REPOS for issue in sandbox.github.issues(repo)]
    for issue in issues[1 :: max(1, len(issues) // trashed)][:trashed]:
        sandbox.notion.trash_page(by_key[issue["html_url"]])
        repo = issue["repository_url"].split("/repos/", 1)[1]
        sandbox.github.update_issue(repo, issue["number"], title=issue["title"] + " (edited)")
    return _run(sandbox, clock, tmp, later, f"{trashed} trashed + items changed, no sweep due")


def _run(sandbox: Sandbox, clock: FakeClock, tmp: Path, config: dict[str, Any], label: str) -> Measured:
    """One run of the job in a child process, on a fake clock set to the sandbox's now."""
    path = tmp / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    sandbox.reset_counts()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(path), clock.now().isoformat()],
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    body = json.loads(done.stdout)
    assert body["status"] == "ok", body
    clock.advance(INTERVAL.total_seconds())
    return Measured(
        label,
        body["summary"],
        body["applied"],
        sandbox.count("notion"),
        sandbox.count("notion", "POST", r"/query$"),
        sandbox.count("notion", "GET", r"^/v1/pages/"),
        sandbox.writes("notion"),
        sandbox.count("github"),
        (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        body["run_cpu"],
        wall,
    )


def _child(config_path: Path, now: datetime) -> None:
    """In the child: build the job from the config handed over, run it once, print the outcome as JSON."""
    from reconcile.config import config_from_dict
    from reconcile.jobs.context import Context
    from reconcile.logs import setup

    setup("warning")
    raw = json.loads(config_path.read_text(encoding="utf-8"))
    ctx = Context.build(config_from_dict(raw), clock=FakeClock(now))
    started = time.process_time()
    result = execute(ctx, "run", pull_step())
    run_cpu = time.process_time() - started
    ctx.close()
    print(json.dumps({**result.as_json(), "run_cpu": run_cpu}))


def _page_ids(sandbox: Sandbox, database_id: str) -> list[str]:
    return sorted(str(page["id"]) for page in sandbox.notion.pages(database_id))


def _table(pages: int, trashed: int, rows: list[Measured]) -> None:
    sweep = math.ceil(pages / 100)
    print(f"  expected: a sweep lists ⌈{pages}/100⌉ = {sweep} answers; a resync Σ⌈N_repo/100⌉ per repo")
    print(
        f"  {'run':<40} {'plan':<22} {'done':>4} {'Notion':>6} {'query':>6} {'GET':>4} {'write':>6} "
        f"{'GitHub':>6} {'CPU s':>6} {'run CPU':>7} {'wall s':>6}"
    )
    for row in rows:
        plan = ", ".join(f"{n} {action}" for action, n in row.summary.items() if n and action != "unchanged")
        print(
            f"  {row.label:<40} {plan or 'nothing':<22} {row.applied:>4} {row.notion:>6} {row.queries:>6} "
            f"{row.lookups:>4} {row.writes:>6} {row.github:>6} "
            f"{row.cpu:>6.2f} {row.run_cpu:>7.2f} {row.wall:>6.2f}"
        )
    print()


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--pages", type=int, nargs="+", default=[1000, 10000], help="sizes (default 1000 10000)"
    )
    parser.add_argument("--trashed", type=int, default=10, help="pages trashed per scenario (default 10)")
    parser.add_argument("--child", nargs=2, metavar=("CONFIG", "NOW"), help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    main()
