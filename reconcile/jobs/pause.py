"""`reconcile pause` / `resume`: stop and restart writes to the board (the state is kept in the mirror)."""

from __future__ import annotations

from reconcile.jobs.context import Context
from reconcile.mirror import boards
from reconcile.mirror.boards import Pause


def pause_board(ctx: Context, reason: str | None = None) -> Pause:
    """Pause the board: until `resume`, every command that writes to Notion writes nothing."""
    with ctx.session() as session:
        return boards.pause(session, ctx.board, ctx.clock.now(), reason)


def resume_board(ctx: Context) -> Pause | None:
    """Lift the pause; returns the pause lifted (None: the board was not paused)."""
    with ctx.session() as session:
        return boards.resume(session, ctx.board)


def is_paused(ctx: Context) -> Pause | None:
    """The board's pause (for `health` and the `reconcile_paused` metric), or None."""
    with ctx.session() as session:
        return boards.paused(session, ctx.board)
