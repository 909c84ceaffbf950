"""The Notion API operations behind the routes, in terms of the state (token-checked, versioned)."""

from __future__ import annotations

import copy
from typing import Any

from reconcile.sandbox.ids import normalize_id
from reconcile.sandbox.notion_errors import body_error, not_found, shown, validation
from reconcile.sandbox.notion_model import Database
from reconcile.sandbox.notion_query import run_query
from reconcile.sandbox.notion_render import (
    NO_ARCHIVED_VERSION,
    bot_json,
    data_source_json,
    database_json,
    is_new,
    list_json,
    page_json,
    person_json,
)
from reconcile.sandbox.notion_rich import plain_text
from reconcile.sandbox.notion_state import NotionState, visible

CREATE_KEYS = frozenset(
    {"parent", "properties", "children", "icon", "cover", "content", "template", "position"}
)
UPDATE_KEYS = frozenset(
    {"properties", "in_trash", "archived", "icon", "cover", "is_locked", "erase_content", "template"}
)
SCHEMA_KEYS = frozenset(
    {"title", "description", "properties", "icon", "cover", "is_inline", "archived", "in_trash", "is_locked"}
)
_PARENT_FIX = (
    "body failed validation. Fix one:\nbody.parent.page_id should be defined, instead was "
    "`undefined`.\nbody.parent.database_id should be defined, instead was `undefined`."
)


class NotionOps:
    """One method per endpoint; each returns the JSON payload (callers hold the lock)."""

    def __init__(self, state: NotionState, query_cap: int) -> None:
        self._state = state
        self._cap = query_cap

    def me(self, token: str) -> dict[str, Any]:
        """GET /v1/users/me."""
        return bot_json(self._state.bot_id(token) or "")

    def users(self, token: str) -> dict[str, Any]:
        """GET /v1/users: the person and this integration's bot."""
        people = [person_json(self._state.person_id), self.me(token)]
        return {
            "object": "list",
            "results": people,
            "next_cursor": None,
            "has_more": False,
            "type": "user",
            "user": {},
        }

    def get_database(self, token: str, raw_id: str, version: str) -> dict[str, Any]:
        """GET /v1/databases/{id}."""
        return database_json(self._database(token, raw_id), version)

    def update_database(self, token: str, raw_id: str, body: dict[str, Any], version: str) -> dict[str, Any]:
        """PATCH /v1/databases/{id} (the schema moved to data sources in 2025-09-03)."""
        db = self._database(token, raw_id)
        if is_new(version) and "properties" in body:
            raise body_error("properties", f"should be not present, instead was {shown(body['properties'])}.")
        self._update_schema(db, body, token)
        return database_json(db, version)

    def get_data_source(self, token: str, raw_id: str) -> dict[str, Any]:
        """GET /v1/data_sources/{id}."""
        return data_source_json(self._source(token, raw_id))

    def update_data_source(self, token: str, raw_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """PATCH /v1/data_sources/{id}."""
        db = self._source(token, raw_id)
        self._update_schema(db, body, token)
        return data_source_json(db)

    def query(
        self, token: str, raw_id: str, body: dict[str, Any], version: str, only: set[str] | None
    ) -> dict[str, Any]:
        """POST /v1/databases/{id}/query or /v1/data_sources/{id}/query (trashed pages excluded)."""
        db = self._source(token, raw_id) if is_new(version) else self._database(token, raw_id)
        result = run_query(db, self._state.pages_of(db), body, self._cap, self._state.now())
        pages = [page_json(page, db, version, only) for page in result.pages]
        return list_json(pages, result.next_cursor, result.has_more, version, result.capped)

    def create_page(self, token: str, body: dict[str, Any], version: str) -> dict[str, Any]:
        """POST /v1/pages (parent database_id, or data_source_id from 2025-09-03)."""
        _check_keys(body, CREATE_KEYS)
        db = self._parent(token, body.get("parent"), version)
        page = self._state.new_page(db, body.get("properties"), self._state.bot_id(token) or "")
        page.icon, page.cover = body.get("icon"), body.get("cover")
        return page_json(page, db, version)

    def get_page(self, token: str, raw_id: str, version: str, only: set[str] | None) -> dict[str, Any]:
        """GET /v1/pages/{id} (trashed pages are still readable)."""
        page = self._page(token, raw_id)
        return page_json(page, self._state.database_of(page), version, only)

    def update_page(self, token: str, raw_id: str, body: dict[str, Any], version: str) -> dict[str, Any]:
        """PATCH /v1/pages/{id}: properties, in_trash / archived, icon, cover."""
        _check_keys(body, UPDATE_KEYS)
        if "archived" in body and version >= NO_ARCHIVED_VERSION:
            raise body_error("archived", f"should be not present, instead was {shown(body['archived'])}.")
        page = self._page(token, raw_id)
        trash = body.get("in_trash", body.get("archived"))
        if trash is not None and not isinstance(trash, bool):
            raise body_error("in_trash", f"should be a boolean, instead was {shown(trash)}.")
        locked = body.get("is_locked")
        if locked is not None and not isinstance(locked, bool):
            raise body_error("is_locked", f"should be a boolean, instead was {shown(locked)}.")
        actor = self._state.bot_id(token) or ""
        if trash is False:
            page.in_trash = False
        if body.get("properties"):
            self._state.write(page, body["properties"], actor)
        page.in_trash = trash if trash is not None else page.in_trash
        page.locked = locked if locked is not None else page.locked
        page.icon = body.get("icon", page.icon)
        page.cover = body.get("cover", page.cover)
        self._state.touch(page, actor)
        return page_json(page, self._state.database_of(page), version)

    # --- helpers ----------------------------------------------------------------------------
    def _database(self, token: str, raw_id: Any) -> Database:
        return visible(self._state.find_database(raw_id), token, "database", raw_id)

    def _source(self, token: str, raw_id: Any) -> Database:
        return visible(self._state.find_source(raw_id), token, "data source", raw_id)

    def _page(self, token: str, raw_id: str) -> Any:
        page = self._state.find_page(raw_id)
        if page is None or token not in self._state.database_of(page).shared:
            raise not_found("page", normalize_id(raw_id) or raw_id)
        return page

    def _parent(self, token: str, parent: Any, version: str) -> Database:
        if parent is None:
            raise body_error("parent", "should be defined, instead was `undefined`.")
        if not isinstance(parent, dict):
            raise body_error("parent", f"should be an object, instead was {shown(parent)}.")
        if "data_source_id" in parent and is_new(version):
            return self._source(token, parent["data_source_id"])
        if "database_id" in parent:
            return self._database(token, parent["database_id"])
        if "page_id" in parent:
            raise not_found("page", normalize_id(parent["page_id"]) or str(parent["page_id"]))
        raise validation(_PARENT_FIX)

    def _update_schema(self, db: Database, body: dict[str, Any], token: str) -> None:
        _check_keys(body, SCHEMA_KEYS)
        if "title" in body:
            db.title = plain_text(_title_items(body["title"]))
        if body.get("properties") is not None:
            saved = copy.deepcopy(db.props)
            try:
                cleared = self._state.schemas.patch(db, body["properties"])
            except Exception:
                db.props = saved  # a rejected update changes nothing
                raise
            for page in self._state.pages_of(db, include_trashed=True):
                for prop_id in cleared:
                    page.values.pop(prop_id, None)
        db.last_edited_time, db.last_edited_by = self._state.now(), self._state.bot_id(token) or ""


def _check_keys(body: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise body_error(unknown[0], f"should be not present, instead was {shown(body[unknown[0]])}.")


def _title_items(title: Any) -> list[dict[str, Any]]:
    if not isinstance(title, list):
        raise body_error("title", f"should be an array, instead was {shown(title)}.")
    return [
        {"plain_text": (item.get("text") or {}).get("content", "")}
        for item in title
        if isinstance(item, dict)
    ]
