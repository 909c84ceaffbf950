"""The run's retention step: prune the board's history older than `mirror.retention`, a bounded amount
per run (a few short transactions per table), so that a first prune of a large old mirror never stalls
a run; what is left is pruned by the next runs. "Now" is RECONCILE_NOW when set."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from reconcile.jobs.context import Context
from reconcile.mirror import retention, runs
from reconcile.model import iso

log = logging.getLogger("reconcile.retention")

BATCH = 2000  # rows per transaction: short locks, bounded memory
ROUNDS = 10  # transactions per table per run: the bound on one run's work


@dataclass
class Pruned:
    """What one run pruned, and whether it caught up with the cutoff."""

    cutoff: datetime
    operations: int = 0
    runs: int = 0
    snapshots: int = 0
    complete: bool = True

    def as_json(self) -> dict[str, Any]:
        return {
            "cutoff": iso(self.cutoff),
            "operations": self.operations,
            "runs": self.runs,
            "snapshots": self.snapshots,
            "complete": self.complete,
        }


def prune(
    ctx: Context, current_run: int | None = None, *, batch: int = BATCH, rounds: int = ROUNDS
) -> Pruned:
    """Prune the board's journal, runs and snapshots older than the retention, within the bound."""
    cutoff = ctx.now() - ctx.config.mirror.retention
    pruned = Pruned(cutoff)
    with ctx.session() as session:
        retention.mark_reach(session, ctx.board, cutoff, ctx.clock.now())
        last = runs.last_success(session, ctx.board)
    keep = {run_id for run_id in (current_run, last.id if last else None) if run_id is not None}

    def operations() -> tuple[int, bool]:
        with ctx.session() as session:
            done = retention.prune_operations(session, ctx.board, cutoff, batch)
        return done, done < batch

    def old_runs() -> tuple[int, bool]:
        with ctx.session() as session:
            done = retention.prune_runs(session, ctx.board, cutoff, batch, keep)
        return done, done < batch

    def snapshots() -> tuple[int, bool]:
        with ctx.session() as session:
            return retention.prune_snapshots(session, ctx.board, cutoff, batch)

    pruned.operations, ops_done = _rounds(operations, rounds)
    pruned.runs, runs_done = _rounds(old_runs, rounds)  # after the journal: a run goes with its last entry
    pruned.snapshots, snapshots_done = _rounds(snapshots, rounds)
    pruned.complete = ops_done and runs_done and snapshots_done
    if pruned.operations or pruned.runs or pruned.snapshots:
        log.info(
            "retention: pruned %d journal entries, %d runs and %d snapshots from before %s%s",
            pruned.operations,
            pruned.runs,
            pruned.snapshots,
            iso(cutoff),
            "" if pruned.complete else " (more next run)",
        )
    return pruned


def prune_quietly(ctx: Context, current_run: int | None = None) -> Pruned | None:
    """Prune; a mirror failure here is logged and leaves the run's outcome alone (the next run retries)."""
    try:
        return prune(ctx, current_run)
    except SQLAlchemyError as exc:
        log.warning("retention: pruning failed (%s); the next run tries again", _first_line(exc))
        return None


def _rounds(step: Callable[[], tuple[int, bool]], rounds: int) -> tuple[int, bool]:
    """Run a batch step until it caught up or the rounds are spent; (rows, caught up)."""
    total = 0
    for _ in range(rounds):
        done, caught_up = step()
        total += done
        if caught_up:
            return total, True
    return total, False


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
