"""What the planner reads, as rows: a chunk of items with the pages they need, the dirty set since the
last plan, orphan and stale candidates, counts. Nothing here loads the whole mirror at once."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, exists, func, literal, or_, select, union
from sqlalchemy.orm import Session

from reconcile.config import Config
from reconcile.mirror.store import load_applied, row_item, row_page
from reconcile.mirror.tables import GitHubItemRow, GoneItemRow, LinkRow, NotionPageRow, OperationRow
from reconcile.model import GitHubItem, NotionPage
from reconcile.planner import MirrorState

CHUNK = 2000  # items planned together: bounds the rows held at once


def _items(config: Config) -> Select[Any]:
    """The board's items: of the configured repositories and kinds, not confirmed gone."""
    return select(GitHubItemRow.__table__).where(
        GitHubItemRow.repo.in_(config.github.repos),
        GitHubItemRow.kind.in_(sorted(config.github.kinds)),
        GitHubItemRow.url.not_in(select(GoneItemRow.key)),
    )


def _pages(database_id: str) -> Select[Any]:
    return select(NotionPageRow.__table__).where(NotionPageRow.database_id == database_id)


def all_item_ids(session: Session, config: Config) -> Iterator[list[int]]:
    """Every item id of the board, in (repo, number) order, in chunks."""
    query = (
        _items(config).with_only_columns(GitHubItemRow.id).order_by(GitHubItemRow.repo, GitHubItemRow.number)
    )
    ids = list(session.scalars(query))
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def dirty_item_ids(session: Session, config: Config, since: datetime) -> set[int]:
    """Items that could need a write since `since`: pulled since, whose pages were pulled since (linked
    or carrying their key), whose operations the journal touched since (failed, deferred, settled), and
    those whose key several live pages carry (copies made by hand, reported every run)."""
    board = config.notion.database_id
    fresh_pages = select(NotionPageRow.id).where(
        NotionPageRow.database_id == board, NotionPageRow.seen_at >= since
    )
    fresh_keys = select(NotionPageRow.key).where(
        NotionPageRow.database_id == board, NotionPageRow.seen_at >= since, NotionPageRow.key.is_not(None)
    )
    journal = (
        select(OperationRow.item_id, OperationRow.page_id)
        .where(OperationRow.database_id == board, OperationRow.updated_at >= since)
        .subquery()
    )
    copied = (  # keys several live pages carry: their copies are named by every plan, not just the first
        select(NotionPageRow.key)
        .where(
            NotionPageRow.database_id == board,
            NotionPageRow.key.is_not(None),
            NotionPageRow.in_trash.is_(False),
            NotionPageRow.gone.is_(False),
        )
        .group_by(NotionPageRow.key)
        .having(func.count() > 1)
    )
    candidates = union(
        select(GitHubItemRow.id).where(GitHubItemRow.seen_at >= since),
        select(GitHubItemRow.id).where(GitHubItemRow.url.in_(copied)),
        select(LinkRow.item_id).where(LinkRow.database_id == board, LinkRow.page_id.in_(fresh_pages)),
        select(GitHubItemRow.id).where(GitHubItemRow.url.in_(fresh_keys)),
        select(journal.c.item_id).where(journal.c.item_id.is_not(None)),
        select(LinkRow.item_id).where(
            LinkRow.database_id == board, LinkRow.page_id.in_(select(journal.c.page_id))
        ),
    ).subquery()
    query = _items(config).with_only_columns(GitHubItemRow.id).where(GitHubItemRow.id.in_(select(candidates)))
    return set(session.scalars(query))


def state_for(
    session: Session, config: Config, item_ids: Collection[int], page_ids: Collection[str] = ()
) -> MirrorState:
    """These items (and pages) with everything the planner needs about them: their links, every page
    linked to them or carrying their key, and what the job last wrote to those pages."""
    board = config.notion.database_id
    ids = list(item_ids)
    items = [row_item(row) for row in session.execute(_items(config).where(GitHubItemRow.id.in_(ids)))]
    named = list(page_ids)
    if named:  # and the items those pages belong to (linked, or by key)
        keys = select(NotionPageRow.key).where(NotionPageRow.id.in_(named))
        owner_ids = select(LinkRow.item_id).where(LinkRow.database_id == board, LinkRow.page_id.in_(named))
        known = {item.id for item in items}
        more = _items(config).where(or_(GitHubItemRow.url.in_(keys), GitHubItemRow.id.in_(owner_ids)))
        items += [item for row in session.execute(more) if (item := row_item(row)).id not in known]
        ids = [item.id for item in items]
    links = {
        row.item_id: row.page_id
        for row in session.execute(
            select(LinkRow.item_id, LinkRow.page_id).where(
                LinkRow.database_id == board, LinkRow.item_id.in_(ids)
            )
        )
    }
    wanted = or_(
        NotionPageRow.id.in_([*links.values(), *named]), NotionPageRow.key.in_([item.url for item in items])
    )
    pages = {row.id: row_page(row) for row in session.execute(_pages(board).where(wanted))}
    return MirrorState(items, pages, links, load_applied(session, list(pages)))


def linked_page(session: Session, board: str, item_id: int) -> str | None:
    """The id of the page the item is linked to on this board, if any."""
    query = select(LinkRow.page_id).where(LinkRow.database_id == board, LinkRow.item_id == item_id)
    return session.scalar(query)


def orphan_candidates(session: Session, config: Config) -> tuple[list[NotionPage], dict[str, str]]:
    """Live pages whose key names an item GitHub confirmed gone and that no live item of the board is
    linked to (an item another board stored at its new place, a repository this board does not follow,
    is not this board's)."""
    board = config.notion.database_id
    owned = (
        select(literal(1))
        .select_from(LinkRow)
        .join(GitHubItemRow, GitHubItemRow.id == LinkRow.item_id)
        .where(
            LinkRow.database_id == board,
            LinkRow.page_id == NotionPageRow.id,
            GitHubItemRow.repo.in_(config.github.repos),
            GitHubItemRow.url.not_in(select(GoneItemRow.key)),
        )
    )
    gone = {row.key: row.reason for row in session.execute(select(GoneItemRow.key, GoneItemRow.reason))}
    pages = []
    for keys in _chunks(sorted(gone)):
        query = _pages(board).where(
            NotionPageRow.key.in_(keys),
            NotionPageRow.in_trash.is_(False),
            NotionPageRow.gone.is_(False),
            ~exists(owned),
        )
        pages += [row_page(row) for row in session.execute(query)]
    return pages, {str(page.key): gone[str(page.key)] for page in pages}


def stale_candidates(
    session: Session, config: Config, now: datetime
) -> tuple[list[NotionPage], dict[str, GitHubItem]]:
    """Live pages in the stale status not edited for `after_days` (and their items, where linked):
    a superset of the stale pages, which the stale rules then decide on."""
    rules, board = config.stale, config.notion.database_id
    cutoff = now - timedelta(days=rules.after_days)
    status = NotionPageRow.properties[(rules.property, "value")].as_string()
    query = _pages(board).where(
        NotionPageRow.in_trash.is_(False),
        NotionPageRow.gone.is_(False),
        NotionPageRow.last_edited_time <= cutoff,
        status == rules.status,
    )
    pages = [row_page(row) for row in session.execute(query)]
    owners: dict[str, GitHubItem] = {}
    for chunk in _chunks([page.id for page in pages]):
        query = (
            _items(config)
            .add_columns(LinkRow.page_id.label("linked_page"))
            .join(LinkRow, and_(LinkRow.item_id == GitHubItemRow.id, LinkRow.database_id == board))
            .where(LinkRow.page_id.in_(chunk))
        )
        owners.update({row.linked_page: row_item(row) for row in session.execute(query)})
    return pages, owners


def counts(session: Session, config: Config) -> tuple[int, int]:
    """(items of the board, items linked to a page): the bases of `unchanged` and max_change_ratio."""
    items = _items(config).subquery()
    total = session.scalar(select(func.count()).select_from(items)) or 0
    linked = session.scalar(
        select(func.count())
        .select_from(LinkRow)
        .join(items, items.c.id == LinkRow.item_id)
        .where(LinkRow.database_id == config.notion.database_id)
    )
    return int(total), int(linked or 0)


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]
