"""Refresh one item or one page: fetch just it from both sides, plan and apply just it."""

from __future__ import annotations

import re

from reconcile.clients.github import place_of
from reconcile.clients.notion import page_from_api
from reconcile.errors import ConfigError
from reconcile.jobs.context import Context
from reconcile.jobs.planning import make_plan
from reconcile.jobs.pull import PullResult, ask_github
from reconcile.jobs.run import RunResult, execute
from reconcile.mirror import reads, store
from reconcile.mirror.boards import owns_page
from reconcile.planner import Scope

_ITEM = re.compile(r"^([\w.-]+/[\w.-]+)#(\d+)$")


def parse_item(text: str) -> tuple[str, int]:
    """OWNER/REPO#N (or the item's URL) -> (repo, number)."""
    match = _ITEM.match(text.strip())
    place = (match.group(1), int(match.group(2))) if match else place_of(text)
    if place is None:
        raise ConfigError(f"--item: {text!r} is not OWNER/REPO#N")
    return place


def refresh(
    ctx: Context,
    *,
    item: tuple[str, int] | None = None,
    page_id: str | None = None,
    dry_run: bool = False,
    force: bool = False,
) -> RunResult:
    """Pull, plan and apply a single item or page; no other page is written."""
    if item is not None and item[0] not in ctx.config.github.repos:
        # its page (if any) is none of this job's business, and a 404 for it must not make an orphan
        repos = ", ".join(ctx.config.github.repos)
        raise ConfigError(f"--item: {item[0]} is not one of github.repos ({repos})")
    item_ids: set[int] = set()
    page_ids: set[str] = set()
    scope = Scope(item_ids=item_ids, page_ids=page_ids)  # filled in by prepare, read by the planner

    def prepare(ctx: Context) -> PullResult:
        pulled = PullResult()
        target = item
        if page_id is not None:
            found, key = _fetch_page(ctx, page_id, pulled)
            page_ids.add(found)
            target = target or (place_of(key) if key else None)
        if target is not None and target[0] in ctx.config.github.repos:  # else: not this job's business
            item_id, url = _fetch_item(ctx, *target, pulled)
            if item_id is not None:
                item_ids.add(item_id)
            for raw in ctx.notion.find_by_key(ctx.config.mapping.key, [url]):
                _save_page(ctx, raw, pulled)
                page_ids.add(raw["id"])
            if item_id is not None:
                page_ids.update(_fetch_linked(ctx, item_id, page_ids, pulled))
        return pulled

    return execute(
        ctx, "refresh", prepare, planner=lambda ctx: make_plan(ctx, scope), dry_run=dry_run, force=force
    )


def _fetch_item(ctx: Context, repo: str, number: int, pulled: PullResult) -> tuple[int | None, str]:
    """Ask GitHub for the item; store it, or record that it is gone. Returns its id and URL."""
    verdict = ask_github(ctx, repo, number)
    now = ctx.clock.now()
    with ctx.session() as session:
        known = store.find_item(session, repo, number)
        if verdict.gone is not None or verdict.item is None:
            url = known.url if known else f"https://github.com/{repo}/issues/{number}"
            store.mark_gone(session, url, repo, verdict.gone or "gone", now)
            return (known.id if known else None), url
        store.save_items(session, [verdict.item], now)
    pulled.github += 1
    return verdict.item.id, verdict.item.url


def _fetch_linked(ctx: Context, item_id: int, found: set[str], pulled: PullResult) -> list[str]:
    """The item's linked page, asked for when the key lookup did not find it alive: a page in the
    trash or deleted is not in the database's listing, and the mirror would still take it for alive."""
    with ctx.session() as session:
        linked = reads.linked_page(session, ctx.board, item_id)
    if linked is None or _bare(linked) in {_bare(page_id) for page_id in found}:
        return []
    return [_fetch_page(ctx, linked, pulled)[0]]


def _bare(page_id: str) -> str:
    return page_id.replace("-", "").lower()


def _fetch_page(ctx: Context, page_id: str, pulled: PullResult) -> tuple[str, str | None]:
    """Ask Notion for the page; store it (or mark it gone). Returns its id as Notion spells it, and key."""
    raw = ctx.notion.get_page(page_id)
    if raw is None:
        with ctx.session() as session:
            if not owns_page(session, ctx.board, page_id):  # another board's page: never mark it gone
                raise ConfigError(f"--page: {page_id} is not a page of database {ctx.board}")
            store.mark_page(session, page_id, in_trash=False, gone=True)
            known = store.find_page(session, page_id)
        return page_id, known.key if known else None
    return str(raw["id"]), _save_page(ctx, raw, pulled)


def _save_page(ctx: Context, raw: dict[str, object], pulled: PullResult) -> str | None:
    page = page_from_api(raw, ctx.config.mapping.key)
    with ctx.session() as session:
        store.save_pages(session, ctx.config.notion.database_id, [page], ctx.clock.now())
    pulled.notion += 1
    return page.key
