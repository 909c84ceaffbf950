"""Streams decided by the calendar: the sweep and the GitHub resync run when their cadence says so.
"Now" is RECONCILE_NOW when set, so backfills and tests drive the schedule."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from reconcile.jobs.context import Context
from reconcile.mirror import store


def due(ctx: Context, stream: str, every: timedelta) -> bool:
    """Whether the stream's last complete pass is at least `every` ago (0: every run)."""
    with ctx.session() as session:
        cursor = store.get_cursor(session, stream)
    last = cursor.full_at if cursor else None
    return last is None or every <= timedelta(0) or last + every <= ctx.now()


def done(ctx: Context, session: Session, stream: str) -> None:
    """Record a complete pass of the stream (in the caller's transaction, with what it found)."""
    store.set_cursor(session, stream, ctx.clock.now(), full_at=ctx.now())
