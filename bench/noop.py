"""Benchmark: what a run costs when nothing changed, over 2 repos and N items (default 2,000).

Seeds quickly on a fake clock (the sandbox's rate limit off, pacer waits cost no real time), then runs the job
as cron would, one interval apart, and counts the requests each run made.
    python bench/noop.py [--items 2000] [--interval-minutes 15]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _setup import context, fill, machine

from reconcile.clock import FakeClock
from reconcile.jobs.run import RunResult, execute, pull_step
from reconcile.sandbox import Sandbox

EXPLAIN = """\
Run 1 creates every page. Run 2 is a no-op plan, but it still re-reads the pages run 1 wrote: the Notion
cursor is the time the previous pull *started* minus the lookback (5 minutes), so the job's own writes are
read back once; and its GitHub listings carry a new `since`, so no ETag matches yet. Runs 3 and 4 are the
steady state that cron sees every interval after that, and the ones measured: one conditional GitHub request
per repo (a 304, free of rate limit), one Notion query that returns nothing, and the key sweep for pages that
left the database (`notion.sweep_every: 0`, the default: every run; ⌈pages/100⌉ queries that carry only the
key property; with `sweep_every: 1h` a run between sweeps makes the one query alone)."""


def main() -> None:
    args = _arguments()
    clock = FakeClock(datetime(2026, 1, 10, 12, 0, 37, tzinfo=UTC))
    interval = timedelta(minutes=args.interval_minutes)
    with tempfile.TemporaryDirectory() as tmp, Sandbox(clock=clock) as sandbox:
        database_id = fill(sandbox, args.items, timedelta(days=90))
        print(f"machine: {machine()}")
        print(f"{args.items} items over 2 repos; runs {args.interval_minutes} minutes apart (fake clock)\n")
        for number, rps in ((1, 1000.0), (2, 3.0), (3, 3.0), (4, 3.0)):
            ctx = context(sandbox, database_id, Path(tmp) / "mirror.db", rps, clock, max_writes=args.items)
            sandbox.reset_counts()
            started = time.monotonic()
            result = execute(ctx, "run", pull_step())
            _report(number, result, sandbox, time.monotonic() - started)
            ctx.close()
            clock.advance(interval.total_seconds())
        print()
        print(EXPLAIN)


def _report(number: int, result: RunResult, sandbox: Sandbox, seconds: float) -> None:
    github = sandbox.count("github")
    not_modified = sandbox.count("github", status=304)
    notion = sandbox.count("notion")
    summary = result.plan.summary() if result.plan else {}
    print(
        f"run {number}: {result.status}; creates {summary.get('create')}, "
        f"unchanged {summary.get('unchanged')}; "
        f"GitHub requests {github} ({not_modified} were 304); Notion requests {notion} "
        f"({sandbox.writes('notion')} writes, {result.pulled.notion} pages read); {seconds:.2f} s"
    )


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--items", type=int, default=2000, help="GitHub items over the two repos (default 2000)"
    )
    parser.add_argument("--interval-minutes", type=float, default=15, help="time between runs (default 15)")
    return parser.parse_args()


if __name__ == "__main__":
    main()
