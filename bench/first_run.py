"""Benchmark: a first run's CPU per write — the job's own thread, not the sandbox serving it.

    python bench/first_run.py [--items 10000]

N items over 2 repositories, an empty database and mirror; one `run` creates N pages with pacing off. The
figure is the CPU time of the thread that runs the job (`time.thread_time`), which leaves out the sandbox's
server threads in the same process and the interpreter's start-up: the pull, the plan and every write with
its journal and mirror bookkeeping, divided by the writes. To compare with another version of the code, run
the same script with that checkout first on the path:

    PYTHONPATH=/path/to/other/checkout python bench/first_run.py --items 10000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from _setup import context, fill, machine
from scale import PACING_OFF, START, TickingClock

import reconcile
from reconcile.jobs.run import execute, pull_step
from reconcile.logs import setup
from reconcile.sandbox import Sandbox


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=10_000, help="items and pages (default 10000)")
    items = parser.parse_args().items
    setup("warning")
    print(f"machine: {machine()}; code: {Path(reconcile.__file__).parent.parent}")
    clock = TickingClock(START)
    with tempfile.TemporaryDirectory() as tmp, Sandbox(clock=clock) as sandbox:
        database_id = fill(sandbox, items, timedelta(days=90))
        ctx = context(sandbox, database_id, Path(tmp) / "mirror.db", PACING_OFF, clock, max_writes=items)
        started = time.thread_time()
        result = execute(ctx, "run", pull_step())
        cpu = time.thread_time() - started
        ctx.close()
        writes = sandbox.writes("notion")
    print(
        f"{items} items: {result.status}, {writes} writes, {cpu:.2f} s CPU, "
        f"{1000 * cpu / max(writes, 1):.2f} ms CPU per write"
    )


if __name__ == "__main__":
    main()
