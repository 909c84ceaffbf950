"""JSON shapes of the Notion look-alike for API versions 2022-06-28 and 2025-09-03."""

from __future__ import annotations

import copy
import re
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from reconcile.sandbox.notion_filters import stored
from reconcile.sandbox.notion_model import Database, Page, Prop
from reconcile.sandbox.notion_rich import plain_text, text_object
from reconcile.sandbox.notion_schema import config_json
from reconcile.sandbox.stamps import notion_time, utc

NEW_VERSION = "2025-09-03"
NO_ARCHIVED_VERSION = "2026-03-11"  # `archived` is gone; `in_trash` stays


def is_new(version: str) -> bool:
    """Whether a Notion-Version has data sources (2025-09-03 and later)."""
    return version >= NEW_VERSION


def user_ref(user_id: str) -> dict[str, str]:
    """A partial user object."""
    return {"object": "user", "id": user_id}


def notion_url(title: str, object_id: str) -> str:
    """A notion.so link like the real ones (title slug, then the id without dashes)."""
    slug = "-".join(re.findall(r"[A-Za-z0-9]+", title))
    compact = object_id.replace("-", "")
    return f"https://www.notion.so/{slug}-{compact}" if slug else f"https://www.notion.so/{compact}"


def page_json(page: Page, db: Database, version: str, only: set[str] | None = None) -> dict[str, Any]:
    """A page object; `only` limits properties to those ids (filter_properties)."""
    props = {
        prop.name: _property_value(page, prop)
        for prop in db.props.values()
        if only is None or prop.id in only or unquote(prop.id) in only
    }
    title = next((plain_text(stored(page, p)) for p in db.props.values() if p.type == "title"), "")
    data = {
        "object": "page",
        "id": page.id,
        "created_time": notion_time(page.created_time),
        "last_edited_time": notion_time(page.last_edited_time),
        "created_by": user_ref(page.created_by),
        "last_edited_by": user_ref(page.last_edited_by),
        "cover": copy.deepcopy(page.cover),
        "icon": copy.deepcopy(page.icon),
        "parent": _page_parent(db, version),
        "archived": page.in_trash,
        "in_trash": page.in_trash,
        # Recorded pages (2022-06-28 to 2026-03-11) carry both; a trashed page has is_archived false.
        "is_archived": False,
        "is_locked": page.locked,
        "properties": props,
        "url": notion_url(title, page.id),
        "public_url": None,
    }
    if version >= NO_ARCHIVED_VERSION:
        del data["archived"]
    return data


def _page_parent(db: Database, version: str) -> dict[str, Any]:
    if is_new(version):
        return {"type": "data_source_id", "data_source_id": db.data_source_id, "database_id": db.id}
    return {"type": "database_id", "database_id": db.id}


def _property_value(page: Page, prop: Prop) -> dict[str, Any]:
    if prop.type in ("created_time", "last_edited_time"):
        value: Any = notion_time(getattr(page, prop.type))
    elif prop.type in ("created_by", "last_edited_by"):
        value = user_ref(getattr(page, prop.type))
    else:
        value = copy.deepcopy(stored(page, prop))
    data = {"id": prop.id, "type": prop.type, prop.type: value}
    if prop.type == "relation":
        data["has_more"] = False
    return data


def _common(db: Database) -> dict[str, Any]:
    return {
        "created_time": notion_time(db.created_time),
        "last_edited_time": notion_time(db.last_edited_time),
        "created_by": user_ref(db.created_by),
        "last_edited_by": user_ref(db.last_edited_by),
        "title": [text_object(db.title)],
        "description": [],
        "icon": None,
        "cover": None,
        "is_inline": False,
        "archived": False,
        "in_trash": False,
        "url": notion_url(db.title, db.id),
        "public_url": None,
    }


def database_json(db: Database, version: str) -> dict[str, Any]:
    """A database object: with the schema (2022-06-28) or with its data sources (2025-09-03)."""
    workspace = {"type": "workspace", "workspace": True}
    data = {"object": "database", "id": db.id, **_common(db), "parent": workspace}
    if is_new(version):
        data["is_locked"] = False
        data["data_sources"] = [{"id": db.data_source_id, "name": db.title}]
        del data["archived"]
        # Recorded 2025-09-03+ database objects keep their times to the millisecond (pages and data
        # sources are floored to the minute): "2026-06-27T17:00:44.080+00:00".
        data["created_time"] = precise_time(db.created_time)
        data["last_edited_time"] = precise_time(db.last_edited_time)
    else:
        data["properties"] = schema_json(db)
    return data


def precise_time(moment: datetime) -> str:
    """A timestamp to the millisecond, as 2025-09-03 database objects carry it."""
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc(moment).microsecond // 1000:03d}+00:00"


def data_source_json(db: Database) -> dict[str, Any]:
    """A data source object (2025-09-03): the schema lives here."""
    return {
        "object": "data_source",
        "id": db.data_source_id,
        **_common(db),
        "properties": schema_json(db),
        "parent": {"type": "database_id", "database_id": db.id},
        "database_parent": {"type": "workspace", "workspace": True},
    }


def schema_json(db: Database) -> dict[str, Any]:
    """Property configs keyed by name."""
    return {prop.name: config_json(prop) for prop in db.props.values()}


def list_json(
    results: list[dict[str, Any]], next_cursor: str | None, has_more: bool, version: str, capped: bool
) -> dict[str, Any]:
    """A paginated list of pages as a query returns it."""
    kind = "page_or_data_source" if is_new(version) else "page_or_database"
    data: dict[str, Any] = {
        "object": "list",
        "results": results,
        "next_cursor": next_cursor,
        "has_more": has_more,
        "type": kind,
        kind: {},
    }
    if capped and is_new(version):
        data["request_status"] = {"type": "incomplete", "incomplete_reason": "query_result_limit_reached"}
    return data


def bot_json(bot_id: str) -> dict[str, Any]:
    """The integration's bot user (GET /v1/users/me)."""
    return {
        "object": "user",
        "id": bot_id,
        "name": "Sandbox integration",
        "avatar_url": None,
        "type": "bot",
        "bot": {
            "owner": {"type": "workspace", "workspace": True},
            "workspace_name": "Sandbox workspace",
            "workspace_limits": {"max_file_upload_size_in_bytes": 5_242_880},
        },
    }


def person_json(person_id: str) -> dict[str, Any]:
    """The workspace's one human member."""
    return {
        "object": "user",
        "id": person_id,
        "name": "Sam Sandbox",
        "avatar_url": None,
        "type": "person",
        "person": {"email": "sam@sandbox.example"},
    }
