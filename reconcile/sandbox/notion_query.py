"""Database / data source queries: filters, sorts, cursors and the result cap."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reconcile.sandbox.notion_errors import UNDEFINED, body_error, shown, validation
from reconcile.sandbox.notion_filters import compile_filter, sort_value, timestamp_value
from reconcile.sandbox.notion_model import Database, Page

QUERY_KEYS = frozenset(
    {"filter", "sorts", "start_cursor", "page_size", "archived", "in_trash", "result_type"}
)
PAGE_SIZE_LIMIT = 100


@dataclass
class QueryResult:
    """One page of query results."""

    pages: list[Page]
    next_cursor: str | None
    has_more: bool
    capped: bool


def run_query(db: Database, pages: list[Page], body: dict[str, Any], cap: int, now: datetime) -> QueryResult:
    """Filter, sort and cut one page of results; at most `cap` results over the whole query."""
    unknown = sorted(set(body) - QUERY_KEYS)
    if unknown:
        raise body_error(unknown[0], f"should be not present, instead was {shown(body[unknown[0]])}.")
    size = _page_size(body.get("page_size", PAGE_SIZE_LIMIT))
    offset = _decode_cursor(body.get("start_cursor"))
    keep = compile_filter(body["filter"], db, now) if body.get("filter") is not None else (lambda page: True)
    ordered = sort_pages([page for page in pages if keep(page)], db, body.get("sorts"))
    end = min(offset + size, cap, len(ordered))
    has_more = end < len(ordered) and end < cap
    capped = end >= cap and len(ordered) > cap
    return QueryResult(ordered[offset:end], _encode_cursor(end) if has_more else None, has_more, capped)


def sort_pages(pages: list[Page], db: Database, sorts: Any) -> list[Page]:
    """Pages in the order asked (newest created first when no sorts, as no order is promised)."""
    ordered = sorted(pages, key=lambda page: (page.created_time, page.seq), reverse=True)
    if sorts is None:
        return ordered
    if not isinstance(sorts, list):
        raise body_error("sorts", f"should be an array, instead was {shown(sorts)}.")
    for index in reversed(range(len(sorts))):
        key, descending = _sort_key(sorts[index], db, f"sorts[{index}]")
        ordered.sort(key=key, reverse=descending)
    return ordered


def _sort_key(spec: Any, db: Database, where: str) -> tuple[Callable[[Page], Any], bool]:
    if not isinstance(spec, dict):
        raise body_error(where, f"should be an object, instead was {shown(spec)}.")
    direction = spec.get("direction", UNDEFINED)
    if direction not in ("ascending", "descending"):
        raise body_error(
            f"{where}.direction",
            f'should be `"ascending"` or `"descending"`, instead was {shown(direction)}.',
        )
    descending = direction == "descending"
    value = _sort_value(spec, db, where)

    def key(page: Page) -> tuple[bool, tuple[Any, ...]]:
        found = value(page)
        present = found is not None
        # Empty values go last in both directions, as in Notion.
        return (present if descending else not present), ((found,) if present else ())

    return key, descending


def _sort_value(spec: dict[str, Any], db: Database, where: str) -> Callable[[Page], Any]:
    if "timestamp" in spec:
        stamp = spec["timestamp"]
        if stamp not in ("created_time", "last_edited_time"):
            raise body_error(
                f"{where}.timestamp",
                f'should be `"created_time"` or `"last_edited_time"`, instead was {shown(stamp)}.',
            )
        return lambda page: timestamp_value(page, stamp)
    name = spec.get("property", UNDEFINED)
    if not isinstance(name, str):
        raise body_error(f"{where}.property", f"should be a string, instead was {shown(name)}.")
    prop = db.prop(name)
    if prop is None:
        raise validation(f"Could not find sort property with name or id: {name}")
    return lambda page: sort_value(page, prop)


def _page_size(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise body_error("page_size", f"should be a number, instead was {shown(value)}.")
    if value > PAGE_SIZE_LIMIT:
        raise body_error("page_size", f"should be ≤ `{PAGE_SIZE_LIMIT}`, instead was `{value}`.")
    if value < 1:
        raise body_error("page_size", f"should be ≥ `1`, instead was `{value}`.")
    return value


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def _decode_cursor(cursor: Any) -> int:
    if cursor is None:
        return 0
    if not isinstance(cursor, str):
        raise body_error("start_cursor", f"should be a string or `undefined`, instead was {shown(cursor)}.")
    try:
        offset = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))["o"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise validation(f"The start_cursor provided is invalid: {cursor}") from None
    if not isinstance(offset, int) or offset < 0:
        raise validation(f"The start_cursor provided is invalid: {cursor}")
    return offset
