"""Pull: GitHub items and Notion pages into the mirror, incrementally, cursors last.

Each stream (one repository, the database) stores its rows in batches and moves its cursor in the
same transaction as its last batch, only after the stream was read to the end: a crash or an error
mid-stream leaves the cursor where it was, and the next pull reads the window again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from reconcile.clients.errors import ApiError
from reconcile.clients.github import item_from_api, place_of
from reconcile.clients.notion import page_from_api
from reconcile.errors import ReconcileError
from reconcile.jobs.context import Context
from reconcile.jobs.dbschema import checked_schema
from reconcile.jobs.schedule import done, due
from reconcile.jobs.sweep import sweep, sweep_stream
from reconcile.mirror import store
from reconcile.mirror.items import save_pulled
from reconcile.model import GitHubItem, NotionPage

log = logging.getLogger("reconcile.pull")

BATCH = 500


class RepoFailed(ReconcileError):
    """A repository's listing failed: the run stops, and none of its items is taken for deleted."""


@dataclass
class PullResult:
    """What a pull fetched."""

    github: int = 0
    notion: int = 0
    not_modified: list[str] = field(default_factory=list)
    missing: int | None = None  # linked pages the sweep found gone from the database (None: no sweep)
    misfits: set[str] = field(default_factory=set)  # mapped properties some pulled page lacks or retyped

    def as_json(self) -> dict[str, int]:
        return {"github": self.github, "notion": self.notion}


def pull(
    ctx: Context, *, full: bool = False, since: datetime | None = None, until: datetime | None = None
) -> PullResult:
    """Both sides: the database first (a full pull checks its keys against GitHub), then each repository."""
    result = PullResult()
    result.notion = pull_pages(ctx, full=full, since=since, until=until, misfits=result.misfits)
    checked_schema(ctx, suspect=bool(result.misfits))
    if since is None and not full:  # a backfill looks at its window only; a full pull swept already
        result.missing = sweep(ctx)
    for repo in ctx.config.github.repos:
        fetched = pull_repo(ctx, repo, full=full, since=since, until=until)
        if fetched is None:
            result.not_modified.append(repo)
        else:
            result.github += fetched
    return result


# -- GitHub --------------------------------------------------------------------------------------


def pull_repo(
    ctx: Context,
    repo: str,
    *,
    full: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
) -> int | None:
    """One repository's issues and PRs; None when GitHub says nothing changed (304).

    A complete listing (on `--full`, and every `github.resync_every`) also confirms which items left.
    """
    stream, now, backfill = github_stream(ctx.board, repo), ctx.clock.now(), since is not None
    with ctx.session() as session:  # a 0.1 mirror's cursor, not yet per board, is taken up
        cursor = store.get_cursor(session, stream) or store.get_cursor(session, f"github:{repo}")
    full = full or (not backfill and due(ctx, stream, ctx.config.github.resync_every))
    incremental = not full and not backfill and cursor is not None
    start = since if backfill else cursor.value if incremental and cursor else None
    etag, etag_url = (cursor.etag, cursor.etag_url) if incremental and cursor else (None, None)
    try:
        listing = ctx.github.list_issues(repo, start, etag, etag_url)
        if listing.not_modified:
            log.info("github %s: not modified since %s", repo, start)
            return None
        count, newest, seen = _store_items(ctx, _items(ctx, listing.items, until), now)
        gone = _confirm_missing(ctx, repo, seen) if full else []
    except ApiError as exc:
        raise RepoFailed(f"github repository {repo}: {exc}") from None
    with ctx.session() as session:
        for key, reason in gone:
            store.mark_gone(session, key, repo, reason, now)
        if not backfill:
            value = _advance(cursor.value if cursor else None, newest, ctx.config.github.lookback_minutes)
            store.set_cursor(
                session,
                stream,
                now,
                value=value,
                etag=listing.etag if listing.single_page else None,
                etag_url=listing.url,
                full_at=ctx.now() if full else (cursor.full_at if cursor else None),
            )
    log.info("github %s: %d items%s", repo, count, " (complete listing)" if full else "")
    return count


def github_stream(board: str, repo: str) -> str:
    """Each board keeps its own cursor and ETag per repository: another board's pull never hides a change."""
    return f"github:{board}:{repo}"


def _items(ctx: Context, raw: Iterable[dict[str, Any]], until: datetime | None) -> Iterator[GitHubItem | int]:
    """Decoded items the config includes; the ids of the rest come through so deletions are not guessed."""
    wanted = ctx.config.github.kinds
    for entry in raw:
        item = item_from_api(entry)
        if item.kind in wanted and (until is None or item.updated_at <= until):
            yield item
        else:
            yield item.id


def _store_items(
    ctx: Context, entries: Iterable[GitHubItem | int], now: datetime
) -> tuple[int, datetime | None, set[int]]:
    """Store items in batches; returns how many, the newest updated_at, and every id listed."""
    count, newest, seen = 0, None, set[int]()
    batch: list[GitHubItem] = []
    for entry in entries:
        seen.add(entry if isinstance(entry, int) else entry.id)
        if isinstance(entry, GitHubItem):
            batch.append(entry)
            newest = max(newest or entry.updated_at, entry.updated_at)
        if len(batch) >= BATCH:
            count += _save_items(ctx, batch, now)
            batch = []
    return count + _save_items(ctx, batch, now), newest, seen


def _save_items(ctx: Context, items: list[GitHubItem], now: datetime) -> int:
    with ctx.session() as session:  # items are shared between boards: see mirror/items.py
        return save_pulled(session, ctx.board, items, now)


@dataclass(frozen=True)
class Verdict:
    """What GitHub says of one item asked for by number."""

    item: GitHubItem | None  # as it is now, wherever it lives
    gone: str | None = None  # why the job must take it for gone: deleted, or moved out of its repos


def ask_github(ctx: Context, repo: str, number: int) -> Verdict:
    """Look one item up; a 301 is followed, a 404/410 or a move out of the configured repos is `gone`."""
    found = ctx.github.lookup(repo, number)
    if found.issue is None:
        return Verdict(None, found.reason)
    item = item_from_api(found.issue)
    if item.repo not in ctx.config.github.repos:
        return Verdict(item, f"transferred to {item.repo}, which is not configured")
    return Verdict(item)


def _confirm_missing(ctx: Context, repo: str, seen: set[int]) -> list[tuple[str, str]]:
    """After a complete listing: ask GitHub about each item of the repo that it no longer listed."""
    gone = []
    for url, number in sorted(_unlisted(ctx, repo, seen).items()):
        verdict = ask_github(ctx, repo, number)
        if verdict.item is not None and verdict.item.id in seen:
            continue  # listed under another name: the repository was renamed, the item is here
        if verdict.gone is not None:
            gone.append((url, verdict.gone))
        elif verdict.item is not None:  # still there, or moved between configured repos: keep it
            with ctx.session() as session:
                store.save_items(session, [verdict.item], ctx.clock.now())
    return gone


def _unlisted(ctx: Context, repo: str, seen: set[int]) -> dict[str, int]:
    """Key -> number of the repo's items the mirror knows but the listing lacked, and of page keys
    into the repo that no listed item carries (pages whose items the mirror never saw, after a loss)."""
    with ctx.session() as session:
        known = store.item_ids(session, repo)
        keys = store.live_keys(session, ctx.config.notion.database_id)
        settled = store.gone_keys(session, repo)
    listed = {url for id_, (_, url) in known.items() if id_ in seen}
    unlisted = {url: number for id_, (number, url) in known.items() if id_ not in seen}
    for key in keys - listed - set(unlisted) - settled:
        place = place_of(key)
        if place is not None and place[0] == repo:
            unlisted[key] = place[1]
    return unlisted


def _advance(current: datetime | None, newest: datetime | None, lookback_minutes: float) -> datetime | None:
    """The next `since`: the newest update seen, less the lookback; never backwards."""
    if newest is None:
        return current
    proposed = newest - timedelta(minutes=lookback_minutes)
    return max(proposed, current) if current else proposed


# -- Notion --------------------------------------------------------------------------------------


def pull_pages(
    ctx: Context,
    *,
    full: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
    misfits: set[str] | None = None,
) -> int:
    """The database's pages edited since the cursor (all of them on a full pull); `misfits` collects
    the mapped properties a page came without (or with another type): the schema changed."""
    database_id = ctx.config.notion.database_id
    stream, now, backfill = f"notion:{database_id}", ctx.clock.now(), since is not None
    with ctx.session() as session:
        cursor = store.get_cursor(session, stream)
    start = since if backfill else None if full or cursor is None else cursor.value
    scan = ctx.notion.scan(start, until)
    seen: set[str] = set()
    batch: list[NotionPage] = []
    ctx.progress.start("Reading Notion pages")
    wanted = _mapped_types(ctx)
    for raw in scan.pages:
        page = page_from_api(raw, ctx.config.mapping.key)
        if misfits is not None:
            misfits.update(name for name, kind in wanted.items() if _type_of(page, name) != kind)
        seen.add(page.id)
        batch.append(page)
        ctx.progress.advance()
        if len(batch) >= BATCH:
            _save_pages(ctx, batch, now)
            batch = []
    ctx.progress.finish()
    settled = _settle_missing(ctx, seen) if start is None else []
    with ctx.session() as session:
        store.save_pages(session, database_id, [*batch, *settled], now)
        if not backfill:
            began = scan.started or now
            value = began - timedelta(minutes=ctx.config.notion.lookback_minutes)
            value = max(value, cursor.value) if cursor and cursor.value else value
            full_at = now if start is None else (cursor.full_at if cursor else None)
            store.set_cursor(session, stream, now, value=value, full_at=full_at)
        if start is None:  # a complete scan settled the missing pages: it was a sweep too
            done(ctx, session, sweep_stream(database_id))
    log.info("notion: %d pages%s", scan.count, " (full)" if start is None else "")
    return scan.count


def _mapped_types(ctx: Context) -> dict[str, str]:
    mapping = ctx.config.mapping
    return {mapping.key: "url", **{name: spec.type for name, spec in mapping.properties.items()}}


def _type_of(page: NotionPage, name: str) -> str | None:
    prop = page.properties.get(name)
    return prop.type if prop else None


def _save_pages(ctx: Context, pages: list[NotionPage], now: datetime) -> None:
    with ctx.session() as session:
        store.save_pages(session, ctx.config.notion.database_id, pages, now)


def _settle_missing(ctx: Context, seen: set[str]) -> list[NotionPage]:
    """After a full scan: pages the mirror has that the scan did not return are in the trash, or gone."""
    with ctx.session() as session:
        missing = [
            page_id
            for page_id in store.page_ids(session, ctx.config.notion.database_id)
            if page_id not in seen
        ]
        known = {page_id: store.find_page(session, page_id) for page_id in missing}
    settled = []
    for page_id, page in known.items():
        raw = ctx.notion.get_page(page_id)
        if raw is not None:
            settled.append(page_from_api(raw, ctx.config.mapping.key))
        elif page is not None:
            settled.append(store.marked_gone(page))
    return settled
