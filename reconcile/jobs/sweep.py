"""The key-only sweep: linked pages that left the database (trashed, deleted for good, moved away).

The incremental pull sees what was edited; a page taken out of the database is not edited, it is gone
from the listing. So, on its cadence (`notion.sweep_every`), a run lists the ids of every page cheaply
(only the key property, ⌈pages/100⌉ queries), compares them with the board's links, and asks Notion
about each linked page the listing lacked (`GET /v1/pages/{id}`: in the trash, gone, or moved) before
the mirror records it. Like the other streams, a sweep that did not complete decides nothing.
"""

from __future__ import annotations

import logging

from reconcile.clients.notion import page_from_api
from reconcile.jobs.context import Context
from reconcile.jobs.dbschema import known_schema, property_id
from reconcile.jobs.schedule import done, due
from reconcile.mirror import store
from reconcile.model import NotionPage

log = logging.getLogger("reconcile.sweep")


def sweep_stream(board: str) -> str:
    return f"sweep:{board}"


def sweep(ctx: Context, *, force: bool = False) -> int | None:
    """Sweep when due (or forced); returns how many linked pages were found missing, None when not due."""
    stream = sweep_stream(ctx.board)
    if not force and not due(ctx, stream, ctx.config.notion.sweep_every):
        return None
    with ctx.session() as session:
        linked = store.linked_live_pages(session, ctx.board)
    if not linked:  # nothing linked, nothing to lose: no need to list
        with ctx.session() as session:
            done(ctx, session, stream)
        return 0
    key = _key_property(ctx)
    if key is None:
        name = ctx.config.mapping.key
        log.warning("sweep skipped: the database has no property %r (run `reconcile schema check`)", name)
        return None
    listed = {_bare(raw["id"]) for raw in ctx.notion.scan(only=[key]).pages}
    missing = [page_id for page_id in linked if _bare(page_id) not in listed]
    settled = [_ask(ctx, page_id) for page_id in missing]
    with ctx.session() as session:
        store.save_pages(session, ctx.board, [page for page in settled if page], ctx.clock.now())
        done(ctx, session, stream)
    log.info("sweep: %d pages listed, %d linked pages missing", len(listed), len(missing))
    return len(missing)


def _key_property(ctx: Context) -> str | None:
    """The key property's id, from the schema the mirror keeps; read afresh once when the kept schema
    lacks it (the property was added since, by `schema fix` or by hand)."""
    name = ctx.config.mapping.key
    found = property_id(known_schema(ctx), name)
    return found if found is not None else property_id(known_schema(ctx, refresh=True), name)


def _ask(ctx: Context, page_id: str) -> NotionPage | None:
    """The page as Notion has it now (in the trash, usually), or the mirror's copy marked gone."""
    raw = ctx.notion.get_page(page_id)
    if raw is not None:
        return page_from_api(raw, ctx.config.mapping.key)
    with ctx.session() as session:
        known = store.find_page(session, page_id)
    return None if known is None else store.marked_gone(known)


def _bare(page_id: str) -> str:
    return page_id.replace("-", "").lower()
