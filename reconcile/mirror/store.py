"""Read and write the mirror: model objects in, model objects out. Callers own the transactions."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Table, Text, bindparam, cast, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from reconcile.mirror.clean import clean
from reconcile.mirror.tables import (
    CursorRow,
    GitHubItemRow,
    GoneItemRow,
    LastAppliedRow,
    LinkRow,
    NotionPageRow,
    SnapshotRow,
)
from reconcile.model import Applied, GitHubItem, NotionPage, Prop, from_json, jsonable
from reconcile.values import normalise

CHUNK = 500  # rows per statement: well under SQLite's and PostgreSQL's parameter limits
# A row pulled again is rewritten (and its seen_at moved) only when one of these changed.
ITEM_CHANGES = ("updated_at", "repo", "url", "state", "title")
PAGE_CHANGES = ("last_edited_time", "properties", "in_trash", "gone", "key", "database_id")


def upsert(
    session: Session,
    table: type[Any],
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    *,
    keep_existing: bool = False,
    changed_only: Sequence[str] = (),
) -> None:
    """Insert rows, or update them where their keys exist (SQLite and PostgreSQL alike); with
    `keep_existing`, rows whose keys exist are left as they are; with `changed_only`, only where one
    of those columns differs (so that `seen_at` says when a row last changed).

    All rows carry the same columns. One statement per shape, built once and run with executemany."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    statement = _upsert_statement(
        dialect, table.__table__, tuple(rows[0]), tuple(keys), keep_existing, tuple(changed_only)
    )
    connection = session.connection()
    for start in range(0, len(rows), CHUNK):
        connection.execute(statement, list(rows[start : start + CHUNK]))


@functools.cache
def _upsert_statement(
    dialect: str,
    table: Table,
    columns: tuple[str, ...],
    keys: tuple[str, ...],
    keep_existing: bool,
    changed_only: tuple[str, ...],
) -> Any:
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(table)
    changing = {column: statement.excluded[column] for column in columns if column not in keys}
    if not changing or keep_existing:
        return statement.on_conflict_do_nothing(index_elements=list(keys))
    where = (
        or_(*(_as_text(table.c[c]).is_distinct_from(_as_text(statement.excluded[c])) for c in changed_only))
        if changed_only
        else None
    )
    return statement.on_conflict_do_update(index_elements=list(keys), set_=changing, where=where)


def _as_text(column: Any) -> Any:
    """JSON compares as its text (PostgreSQL's json type has no equality)."""
    return cast(column, Text) if isinstance(column.type, JSON) else column


# -- GitHub items --------------------------------------------------------------------------------


def save_items(session: Session, items: Iterable[GitHubItem], seen_at: datetime) -> int:
    rows = [_item_row(clean(item), seen_at) for item in items]  # no NUL or lone surrogate past this point
    upsert(session, GitHubItemRow, rows, ["id"], changed_only=ITEM_CHANGES)
    if rows:
        session.execute(delete(GoneItemRow).where(GoneItemRow.key.in_([row["url"] for row in rows])))
    return len(rows)


def _item_row(item: GitHubItem, seen_at: datetime) -> dict[str, Any]:
    return {
        "id": item.id,
        "repo": item.repo,
        "number": item.number,
        "kind": item.kind,
        "state": item.state,
        "state_reason": item.state_reason,
        "title": item.title,
        "url": item.url,
        "merged": item.merged,
        "draft": item.draft,
        "assignees": list(item.assignees),
        "labels": list(item.labels),
        "author": item.author,
        "milestone": item.milestone,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
        "closed_at": item.closed_at,
        "merged_at": item.merged_at,
        "seen_at": seen_at,
    }


def load_items(session: Session, repos: Iterable[str] | None = None) -> list[GitHubItem]:
    """Items in the mirror (of the given repos), except those GitHub confirmed gone."""
    query = select(GitHubItemRow).where(GitHubItemRow.url.not_in(select(GoneItemRow.key)))
    if repos is not None:
        query = query.where(GitHubItemRow.repo.in_(list(repos)))
    return [row_item(row) for row in session.scalars(query)]


def find_item(session: Session, repo: str, number: int) -> GitHubItem | None:
    query = select(GitHubItemRow).where(GitHubItemRow.repo == repo, GitHubItemRow.number == number)
    row = session.scalars(query).first()
    return row_item(row) if row else None


def item_ids(session: Session, repo: str) -> dict[int, tuple[int, str]]:
    """id -> (number, url) of a repo's items in the mirror."""
    query = select(GitHubItemRow.id, GitHubItemRow.number, GitHubItemRow.url).where(
        GitHubItemRow.repo == repo
    )
    return {row.id: (row.number, row.url) for row in session.execute(query)}


def row_item(row: Any) -> GitHubItem:
    """A github_items row (ORM object or plain row) as the model's item."""
    return GitHubItem(
        id=row.id,
        repo=row.repo,
        number=row.number,
        kind=row.kind,  # type: ignore[arg-type]
        state=row.state,
        state_reason=row.state_reason,
        title=row.title,
        url=row.url,
        merged=row.merged,
        draft=row.draft,
        assignees=tuple(row.assignees or ()),
        labels=tuple(row.labels or ()),
        author=row.author,
        milestone=row.milestone,
        created_at=row.created_at,
        updated_at=row.updated_at,
        closed_at=row.closed_at,
        merged_at=row.merged_at,
    )


def mark_gone(session: Session, key: str, repo: str, reason: str, at: datetime) -> None:
    upsert(session, GoneItemRow, [{"key": key, "repo": repo, "reason": reason, "confirmed_at": at}], ["key"])


def gone_keys(session: Session, repo: str) -> set[str]:
    return set(session.scalars(select(GoneItemRow.key).where(GoneItemRow.repo == repo)))


def load_gone(session: Session) -> dict[str, str]:
    return {row.key: row.reason for row in session.scalars(select(GoneItemRow))}


# -- Notion pages --------------------------------------------------------------------------------


def save_pages(session: Session, database_id: str, pages: Sequence[NotionPage], seen_at: datetime) -> None:
    """Store pages, and a snapshot of every property value that changed since the mirror last saw it."""
    if not pages:
        return
    pages = [clean(page) for page in pages]  # cleaned like the items the mapping derives from
    before = _stored_properties(session, [page.id for page in pages])
    snapshots = [
        {
            "page_id": page.id,
            "property": name,
            "type": prop.type,
            "value": jsonable(prop.value),
            "seen_at": seen_at,
        }
        for page in pages
        for name, prop in page.properties.items()
        if before.get(page.id, {}).get(name) != _stored(prop)
    ]
    rows = [_page_row(database_id, page, seen_at) for page in pages]
    upsert(session, NotionPageRow, rows, ["id"], changed_only=PAGE_CHANGES)
    if snapshots:
        session.execute(SnapshotRow.__table__.insert(), snapshots)


def _stored(prop: Prop) -> dict[str, Any]:
    return {"type": prop.type, "value": jsonable(prop.value)}


def _stored_properties(session: Session, ids: list[str]) -> dict[str, dict[str, Any]]:
    stored: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), CHUNK):
        query = select(NotionPageRow.id, NotionPageRow.properties).where(
            NotionPageRow.id.in_(ids[start : start + CHUNK])
        )
        stored.update({row.id: row.properties or {} for row in session.execute(query)})
    return stored


def _page_row(database_id: str, page: NotionPage, seen_at: datetime) -> dict[str, Any]:
    return {
        "id": page.id,
        "database_id": database_id,
        "key": page.key,
        "properties": {name: _stored(prop) for name, prop in page.properties.items()},
        "created_time": page.created_time,
        "last_edited_time": page.last_edited_time,
        "in_trash": page.in_trash,
        "gone": page.gone,
        "seen_at": seen_at,
    }


def load_pages(session: Session, database_id: str) -> dict[str, NotionPage]:
    query = select(NotionPageRow).where(NotionPageRow.database_id == database_id)
    return {row.id: row_page(row) for row in session.scalars(query)}


def find_page(session: Session, page_id: str) -> NotionPage | None:
    row = session.get(NotionPageRow, page_id)
    return row_page(row) if row else None


def row_page(row: Any) -> NotionPage:
    """A notion_pages row (ORM object or plain row) as the model's page."""
    properties = {name: _prop(data) for name, data in (row.properties or {}).items()}
    return NotionPage(
        row.id, properties, row.created_time, row.last_edited_time, row.key, row.in_trash, row.gone
    )


def _prop(data: dict[str, Any]) -> Prop:
    return Prop(data["type"], normalise(data["type"], from_json(data.get("value"))))


def mark_page(session: Session, page_id: str, *, in_trash: bool, gone: bool = False) -> None:
    session.execute(
        update(NotionPageRow).where(NotionPageRow.id == page_id).values(in_trash=in_trash, gone=gone)
    )


def marked_gone(page: NotionPage) -> NotionPage:
    """The mirror's copy of a page that Notion no longer has (deleted for good, or moved away)."""
    return NotionPage(
        page.id, page.properties, page.created_time, page.last_edited_time, page.key, page.in_trash, gone=True
    )


def linked_live_pages(session: Session, database_id: str) -> list[str]:
    """Ids of the board's pages that an item is linked to and that the mirror holds to be live."""
    query = (
        select(LinkRow.page_id)
        .join(NotionPageRow, NotionPageRow.id == LinkRow.page_id)
        .where(
            LinkRow.database_id == database_id,
            NotionPageRow.in_trash.is_(False),
            NotionPageRow.gone.is_(False),
        )
    )
    return list(session.scalars(query))


def live_keys(session: Session, database_id: str) -> set[str]:
    """The keys the database's live pages carry."""
    query = select(NotionPageRow.key).where(
        NotionPageRow.database_id == database_id,
        NotionPageRow.key.is_not(None),
        NotionPageRow.in_trash.is_(False),
        NotionPageRow.gone.is_(False),
    )
    return {key for key in session.scalars(query) if key}


def page_ids(session: Session, database_id: str) -> list[str]:
    """Ids of the live pages the mirror knows (for deletion checks after a full scan)."""
    query = select(NotionPageRow.id).where(
        NotionPageRow.database_id == database_id,
        NotionPageRow.in_trash.is_(False),
        NotionPageRow.gone.is_(False),
    )
    return list(session.scalars(query))


def snapshot_values(session: Session, as_of: datetime) -> dict[tuple[str, str], Prop]:
    """Each (page, property)'s value as the mirror saw it at `as_of` (the last snapshot at or before it)."""
    values: dict[tuple[str, str], Prop] = {}
    query = (
        select(SnapshotRow).where(SnapshotRow.seen_at <= as_of).order_by(SnapshotRow.seen_at, SnapshotRow.id)
    )
    for row in session.scalars(query):
        values[(row.page_id, row.property)] = Prop(row.type, from_json(row.value))
    return values


# -- links and last writes -----------------------------------------------------------------------


def load_links(session: Session, database_id: str) -> dict[int, str]:
    """The board's links: GitHub item id -> page id."""
    query = select(LinkRow.item_id, LinkRow.page_id).where(LinkRow.database_id == database_id)
    return {row.item_id: row.page_id for row in session.execute(query)}


def link(session: Session, database_id: str, item_id: int, page_id: str, at: datetime) -> None:
    """Point the item at the page on this board (and no other item at that page)."""
    link_all(session, database_id, [(item_id, page_id)], at)


def link_all(session: Session, database_id: str, pairs: Sequence[tuple[int, str]], at: datetime) -> None:
    """`link` for several (item, page) pairs, a statement for each step."""
    if not pairs:
        return
    params = [{"board": database_id, "item": item_id, "page": page_id} for item_id, page_id in pairs]
    session.connection().execute(_UNLINK_OTHERS, params)
    rows = [
        {"database_id": database_id, "item_id": item_id, "page_id": page_id, "linked_at": at}
        for item_id, page_id in pairs
    ]
    upsert(session, LinkRow, rows, ["database_id", "item_id"])


_links = LinkRow.__table__
_UNLINK_OTHERS = delete(_links).where(  # any other link to the page: the page belongs to one item
    _links.c.page_id == bindparam("page"),
    (_links.c.database_id != bindparam("board")) | (_links.c.item_id != bindparam("item")),
)


def load_applied(session: Session, page_ids: Iterable[str] | None = None) -> dict[tuple[str, str], Applied]:
    """What the job last wrote per (page, property), and what Notion kept of it (of these pages)."""
    columns = LastAppliedRow.__table__.c
    query = select(
        columns.page_id, columns.property, columns.value, columns.stored, columns.has_stored, columns.misses
    )
    if page_ids is None:
        return {(row.page_id, row.property): _applied(row) for row in session.execute(query)}
    ids, applied = list(page_ids), {}
    for start in range(0, len(ids), CHUNK):
        chunk = query.where(columns.page_id.in_(ids[start : start + CHUNK]))
        applied.update({(row.page_id, row.property): _applied(row) for row in session.execute(chunk)})
    return applied


def _applied(row: Any) -> Applied:
    return Applied(from_json(row.value), from_json(row.stored), bool(row.has_stored), row.misses or 0)


def record_applied(session: Session, page_id: str, records: dict[str, Applied], at: datetime) -> None:
    record_applied_all(session, {page_id: records}, at)


def record_applied_all(session: Session, records: dict[str, dict[str, Applied]], at: datetime) -> None:
    """What the job wrote (and Notion kept) per page and property, for several pages in one statement."""
    rows = [
        {
            "page_id": page_id,
            "property": name,
            "value": jsonable(record.value),
            "stored": jsonable(record.stored),
            "has_stored": record.has_stored,
            "misses": record.misses,
            "applied_at": at,
        }
        for page_id, by_name in records.items()
        for name, record in by_name.items()
    ]
    upsert(session, LastAppliedRow, rows, ["page_id", "property"])


def nonconverging(session: Session, database_id: str, threshold: int) -> list[dict[str, Any]]:
    """Properties of the board's pages written `threshold` times in a row that Notion kept otherwise.

    Found by the index on `misses` (few rows), then narrowed to the board: never a walk of its pages."""
    found = session.execute(select(LastAppliedRow.__table__).where(LastAppliedRow.misses >= threshold))
    stuck = sorted(found, key=lambda row: (row.page_id, row.property))  # sorted here: an ORDER BY in SQL
    # would walk the primary key instead of the index on misses
    pages = select(NotionPageRow.id, NotionPageRow.key).where(
        NotionPageRow.id.in_({row.page_id for row in stuck}), NotionPageRow.database_id == database_id
    )
    keys = {row.id: row.key for row in session.execute(pages)}
    return [
        {
            "key": keys[row.page_id],
            "page_id": row.page_id,
            "property": row.property,
            "sent": row.value,
            "stored": row.stored,
        }
        for row in stuck
        if row.page_id in keys
    ]


# -- cursors -------------------------------------------------------------------------------------


def get_cursor(session: Session, stream: str) -> CursorRow | None:
    return session.get(CursorRow, stream)


def cursors(session: Session) -> list[CursorRow]:
    return list(session.scalars(select(CursorRow).order_by(CursorRow.stream)))


def set_cursor(session: Session, stream: str, at: datetime, **values: Any) -> None:
    upsert(session, CursorRow, [{"stream": stream, "updated_at": at, **values}], ["stream"])
