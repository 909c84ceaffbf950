"""Benchmark: what a run costs in requests, CPU and memory as the board grows (issue 10).

    python bench/scale.py [--items 1000 10000 100000] [--changes 5] [--runs first mapping …]

For each size, N items over 2 repositories are put in the sandbox (which this process serves over loopback)
and the job runs against it as cron would, one command at a time, each in a child process under
`/usr/bin/time -v`, so that CPU seconds (user + system, start-up and imports included) and peak RSS are the
job's own and not the sandbox's. Pacing is off (`requests_per_second` very high, the sandbox's rate limit
off), so that only the job's own cost shows. Each child runs on a fake clock set to the sandbox's, which moves
15 minutes between runs: to the job, as to the sandbox, runs are a cron interval apart (its plans look again
at what was stored in the 5 minutes before the last plan began, which back-to-back runs would all be).

  first run      an empty database and mirror: N creates
  settle         the run after it (not measured: it reads back what the first run wrote, see noop.py)
  no-op          nothing changed, no sweep or resync due (their cost is bench/sweep.py's)
  no-op + sweep  the same with the key sweep due (`notion.sweep_every: 0`, the default): ⌈N/100⌉ queries
  K changes      K items edited on GitHub: K updates
  run --full     both sides pulled completely and everything planned
  plan --no-pull the planner alone, incremental (nothing to plan) and `--full` (every item), the plan printed
                 as `plan --format json` prints it
  mapping change `plan --no-pull --format json` after a change of the mapping: every item re-planned and
                 printed as an update, nothing written; then `run --force` with `max_writes_per_run: 1000`
                 (the default): 1,000 updates, the rest journalled as deferred

`--runs` measures some of them only (first, noop, sweep, changes, full, plan, mapping): at 100,000 items the
sandbox's own queries make the whole table take hours; `--runs first mapping` needs no query of all pages.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _setup import REPOS, fill, machine, raw_config

from reconcile.clock import FakeClock
from reconcile.sandbox import Sandbox

INTERVAL = timedelta(minutes=15)
PACING_OFF = 1_000_000.0
START = datetime(2026, 1, 10, 12, 0, 37, tzinfo=UTC)


class TickingClock(FakeClock):
    """The sandbox's clock: a fake one that moves 5 ms each time it is read, so that a first run's pages get
    the spread of `created_time` a real one gives them (the key sweep windows by it)."""

    def now(self) -> datetime:
        self.advance(0.005)
        return super().now()


@dataclass
class Measured:
    label: str
    plan: str
    notion: int
    notion_writes: int
    github: int
    cpu: float
    rss_mb: float
    wall: float


def main() -> None:
    args = _arguments()
    if args.child:
        _child(Path(args.child[0]), datetime.fromisoformat(args.child[1]), args.command)
        return
    print(f"machine: {machine()}\n")
    for items in args.items:
        _size(items, args.changes, set(args.runs))


RUNS = ("first", "noop", "sweep", "changes", "full", "plan", "mapping")


def _size(items: int, changes: int, runs: set[str]) -> None:
    clock = TickingClock(START)
    with tempfile.TemporaryDirectory() as tmp, Sandbox(clock=clock) as sandbox:
        folder = Path(tmp)
        started = time.monotonic()
        database_id = fill(sandbox, items, timedelta(days=90))
        print(f"{items} items over {len(REPOS)} repos: sandbox filled in {time.monotonic() - started:.0f} s")
        config = raw_config(sandbox, database_id, folder / "mirror.db", PACING_OFF, max_writes=items)
        quiet = _with(config, notion={"sweep_every": "1d"})
        bench = _Bench(sandbox, clock, folder)
        rows = [bench.run(config, "first run (pacing off)", ["run"])]  # the others need it
        if runs & {"noop", "sweep", "changes", "full"}:
            bench.run(quiet, "settle", ["run"])
        if "noop" in runs:
            rows.append(bench.run(quiet, "no-op", ["run"]))
        if "sweep" in runs:
            rows.append(bench.run(config, "no-op + sweep", ["run"]))
        if "changes" in runs:
            for issue in _spread(sandbox, changes):
                repo = issue["repository_url"].split("/repos/", 1)[1]
                sandbox.github.update_issue(repo, issue["number"], title=issue["title"] + " (edited)")
            rows.append(bench.run(quiet, f"{changes} changes", ["run"]))
        if "full" in runs:
            rows.append(bench.run(quiet, "run --full", ["run", "--full"]))
        if "plan" in runs:
            rows.append(bench.run(quiet, "plan --no-pull", ["plan", "--no-pull"]))
            rows.append(bench.run(quiet, "plan --no-pull --full", ["plan", "--no-pull", "--full"]))
        if "mapping" in runs:
            changed = _with(
                quiet, mapping={"properties": {"Name": {"type": "title", "value": "[{repo}] {title}"}}}
            )
            rows.append(bench.run(changed, "mapping change: plan --no-pull", ["plan", "--no-pull"]))
            limited = _with(changed, apply={"max_writes_per_run": 1000})
            rows.append(bench.run(limited, "mapping change: run --force", ["run", "--force"]))
        _table(rows, first_writes=items)


class _Bench:
    def __init__(self, sandbox: Sandbox, clock: FakeClock, folder: Path) -> None:
        self.sandbox = sandbox
        self.clock = clock
        self.folder = folder

    def run(self, config: dict[str, Any], label: str, command: list[str]) -> Measured:
        """One command of the job in a child process under /usr/bin/time -v, on a fake clock set to the
        sandbox's (so that runs are an interval apart for the job's own bookkeeping too)."""
        path = self.folder / "config.json"
        path.write_text(json.dumps(config), encoding="utf-8")
        self.sandbox.reset_counts()
        argv = [
            "/usr/bin/time",
            "-v",
            sys.executable,
            __file__,
            "--child",
            str(path),
            self.clock.now().isoformat(),
        ]
        started = time.monotonic()
        done = subprocess.run([*argv, "--", *command], capture_output=True, text=True, check=False)
        wall = time.monotonic() - started
        if done.returncode != 0:
            raise SystemExit(f"{label}: exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
        body = json.loads(done.stdout)
        self.clock.advance(INTERVAL.total_seconds())
        return Measured(
            label,
            _plan(body),
            self.sandbox.count("notion"),
            self.sandbox.writes("notion"),
            self.sandbox.count("github"),
            _field(done.stderr, r"User time \(seconds\)") + _field(done.stderr, r"System time \(seconds\)"),
            _field(done.stderr, r"Maximum resident set size \(kbytes\)") / 1024,
            wall,
        )


def _child(config_path: Path, now: datetime, command: list[str]) -> None:
    """In the child: the job built from the config handed over, one command, its outcome as JSON."""
    from reconcile.cli import emit_chunks
    from reconcile.config import config_from_dict
    from reconcile.jobs.context import Context
    from reconcile.jobs.run import execute, pull_step, pulled_plan
    from reconcile.logs import setup
    from reconcile.report import plan_json_chunks

    setup("warning")
    ctx = Context.build(
        config_from_dict(json.loads(config_path.read_text(encoding="utf-8"))), clock=FakeClock(now)
    )
    full = "--full" in command
    if command[0] == "run":
        result = execute(ctx, "run", pull_step(full=full), force="--force" in command)
        if result.status != "ok":
            raise SystemExit(f"run: {result.status}: {result.error}")
        print(json.dumps(result.as_json()))
    else:  # plan --no-pull [--full] --format json: printed as the command prints it
        emit_chunks(plan_json_chunks(pulled_plan(ctx, pull_first=False, full=full)))
    ctx.close()


def _plan(body: dict[str, Any]) -> str:
    summary = body.get("summary") or {}
    parts = [f"{n} {action}" for action, n in summary.items() if n and action != "unchanged"]
    return ", ".join(parts) or "nothing"


def _field(report: str, name: str) -> float:
    found = re.search(rf"{name}: ([\d.]+)", report)
    if found is None:
        raise SystemExit(f"/usr/bin/time printed no {name!r}")
    return float(found.group(1))


def _with(config: dict[str, Any], **sections: dict[str, Any]) -> dict[str, Any]:
    """`config` with some keys of some sections replaced (one level deep)."""
    merged = dict(config)
    for section, values in sections.items():
        if section == "mapping":
            mapping = dict(config["mapping"])
            mapping["properties"] = {**mapping["properties"], **values["properties"]}
            merged["mapping"] = mapping
        else:
            merged[section] = {**config.get(section, {}), **values}
    return merged


def _spread(sandbox: Sandbox, count: int) -> list[dict[str, Any]]:
    issues = [issue for repo in REPOS for issue in sandbox.github.issues(repo)]
    return issues[:: max(1, len(issues) // count)][:count]


def _table(rows: list[Measured], first_writes: int) -> None:
    print(
        f"  {'run':<32} {'plan':<18} {'Notion':>7} {'writes':>7} {'GitHub':>6} "
        f"{'CPU s':>7} {'peak RSS MB':>11} {'wall s':>7}"
    )
    for row in rows:
        print(
            f"  {row.label:<32} {row.plan:<18} {row.notion:>7} {row.notion_writes:>7} {row.github:>6} "
            f"{row.cpu:>7.2f} {row.rss_mb:>11.0f} {row.wall:>7.2f}"
        )
    first = rows[0]
    if first.notion_writes:
        print(
            f"  first run: {1000 * first.cpu / first.notion_writes:.2f} ms CPU per write "
            f"({first_writes} items, start-up included)"
        )
    print()


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--items",
        type=int,
        nargs="+",
        default=[1000, 10000, 100000],
        help="sizes (default 1000 10000 100000)",
    )
    parser.add_argument(
        "--changes", type=int, default=5, help="items changed in the K-changes run (default 5)"
    )
    parser.add_argument(
        "--runs", nargs="+", choices=RUNS, default=list(RUNS), help="which runs (default: all)"
    )
    parser.add_argument("--child", nargs=2, metavar=("CONFIG", "NOW"), help=argparse.SUPPRESS)
    parser.add_argument("command", nargs="*", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    main()
