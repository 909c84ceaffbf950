"""The database's schema as the job knows it: read from Notion when the mirror has none (or when asked:
a write refused for a property) and kept on the board's row, so that runs do not pay for it each time."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from reconcile.jobs.context import Context
from reconcile.mirror.boards import ensure_board
from reconcile.mirror.tables import BoardRow


def known_schema(ctx: Context, *, refresh: bool = False) -> dict[str, Any]:
    """Property configs by name, from the mirror, or from Notion (then kept)."""
    with ctx.session() as session:
        cached = ensure_board(session, ctx.board, ctx.clock.now()).schema
    if cached is not None and not refresh:
        return cached
    schema = ctx.notion.schema()
    with ctx.session() as session:
        session.execute(
            update(BoardRow)
            .where(BoardRow.database_id == ctx.board)
            .values(schema=schema, schema_edited_at=ctx.clock.now())
        )
    return schema


def checked_schema(ctx: Context, *, suspect: bool = False) -> dict[str, Any]:
    """The schema for this run: the mirror's copy, read anew when there is none, when a pulled page
    suggests it changed (`suspect`: a mapped property missing or retyped on a page), or when the copy
    shows a mapped property the database lacks (a person may have fixed it: only broken boards pay)."""
    from reconcile.jobs.schema import unwritable  # the check lives with `schema check`

    schema = known_schema(ctx, refresh=suspect)
    if not suspect and unwritable(ctx.config, schema):
        schema = known_schema(ctx, refresh=True)
    return schema


def property_id(schema: dict[str, Any], name: str) -> str | None:
    config = schema.get(name)
    return str(config["id"]) if isinstance(config, dict) and config.get("id") else None
