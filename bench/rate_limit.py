"""Benchmark: N creates at requests_per_second against a sandbox that enforces Notion's rate limit.

Real clock, real HTTP on loopback. Prints wall time, writes/second and how many 429s the sandbox sent.
    python bench/rate_limit.py [--items 300] [--rps 3] [--burst 10]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from _setup import context, fill, machine

from reconcile.jobs.run import execute, pull_step
from reconcile.sandbox import Sandbox


def main() -> None:
    args = _arguments()
    logging.basicConfig(level=logging.WARNING, format="  log: %(levelname)s %(message)s")
    with (
        tempfile.TemporaryDirectory() as tmp,
        Sandbox(notion_rps=args.rps, notion_burst=args.burst) as sandbox,
    ):
        database_id = fill(sandbox, args.items, timedelta(days=30))
        ctx = context(sandbox, database_id, Path(tmp) / "mirror.db", args.rps)
        started = time.monotonic()
        result = execute(ctx, "run", pull_step())
        wall = time.monotonic() - started
        ctx.close()
        writes = [r for r in sandbox.requests if r.api == "notion" and r.wrote]
        span = (writes[-1].time - writes[0].time).total_seconds() if len(writes) > 1 else 0.0
        pages = sandbox.notion.pages(database_id)
        print(f"machine: {machine()}")
        print(
            f"sandbox: Notion limit {args.rps:g} requests/s, bursts of {args.burst}; "
            f"job: notion.requests_per_second = {args.rps:g}"
        )
        print(
            f"run: status {result.status}, {result.applied.applied} applied, {result.applied.failed} failed"
        )
        print(f"creates: {len(writes)} writes, {len(pages)} pages in the database")
        print(f"wall time of the run: {wall:.1f} s")
        print(
            f"writes/second: {len(writes) / wall:.2f} over the whole run, "
            f"{(len(writes) - 1) / span:.2f} from the first write to the last"
        )
        print(f"429s from the sandbox: {sandbox.count('notion', status=429)}")
        print(
            f"Notion requests in all: {sandbox.count('notion')}; GitHub requests: {sandbox.count('github')}"
        )


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=300, help="GitHub items, hence creates (default 300)")
    parser.add_argument(
        "--rps", type=float, default=3.0, help="Notion's limit and the job's pace (default 3)"
    )
    parser.add_argument(
        "--burst", type=int, default=10, help="bursts the sandbox allows beyond the rate (default 10)"
    )
    return parser.parse_args()


if __name__ == "__main__":
    main()
