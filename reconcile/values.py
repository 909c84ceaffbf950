"""Notion property values: decode API JSON, normalise, compare, and encode for writes."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from reconcile.model import Prop, Value, iso, parse_instant

TEXT_TYPES = ("title", "rich_text")

# Notion's request limits (api-notes/notion.md §2).
TEXT_CHUNK = 2000  # UTF-16 code units per rich text object
MAX_ARRAY = 100  # rich text objects per property, multi_select options per value
MAX_TEXT = TEXT_CHUNK * MAX_ARRAY
MAX_OPTION_NAME = 100
MAX_URL = 2000


# -- normalising ---------------------------------------------------------------------------------


def normalise(kind: str, value: Any) -> Value:
    """The comparable, writable form of a value for a property of type `kind`."""
    if kind in TEXT_TYPES:
        return _text(value, MAX_TEXT)
    if kind in ("select", "status"):
        return option_name(value)
    if kind == "multi_select":
        return _options(value)
    if kind == "url":
        return _text(value, MAX_URL)
    if kind == "number":
        return _number(value)
    if kind == "date":
        return _date(value)
    if kind == "checkbox":
        return _checkbox(value)
    return value


def equal(kind: str, a: Value, b: Value) -> bool:
    """Whether two values of one property type mean the same thing."""
    return normalise(kind, a) == normalise(kind, b)


def option_name(value: Any) -> str | None:
    """A select/status name Notion accepts: trimmed, commas become `;`, at most 100 characters.

    A name that is only whitespace is no value: Notion refuses it ("should be a non-empty string").
    """
    text = _text(value, None)
    if text is None:
        return None
    name = utf16_prefix(text.replace(",", ";").strip(), MAX_OPTION_NAME)
    return name.rstrip() or None  # the cut may end on a space


def _text(value: Any, limit: int | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(part) for part in value)
    text = str(value)
    if limit is not None:
        text = utf16_prefix(text, limit)
    return text or None


def _options(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    parts: Iterable[Any] = [value] if isinstance(value, str) else value
    names: list[str] = []
    for part in parts:
        name = option_name(part)
        if name and name not in names:
            names.append(name)
    return tuple(sorted(names[:MAX_ARRAY]))


def _number(value: Any) -> int | float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(str(value).strip()) if isinstance(value, str) else float(value)
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    return int(number) if number.is_integer() else number


def _date(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    try:
        if len(text) == 10:  # a date without a time stays a date
            return date.fromisoformat(text).isoformat()
        return iso(parse_instant(text))
    except ValueError:  # not a date (a milestone called "Sprint 12a", say): no value
        return None


def _checkbox(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1", "on")
    return bool(value)


# -- UTF-16 arithmetic (Notion counts text length as JavaScript does) ---------------------------


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def utf16_prefix(text: str, limit: int) -> str:
    """The longest prefix of `text` within `limit` UTF-16 units, never splitting a character."""
    if len(text) * 2 <= limit:  # fast path: even all-astral text fits
        return text
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return text[:index]
    return text


def split_text(text: str, size: int = TEXT_CHUNK) -> list[str]:
    """Cut text into chunks of at most `size` UTF-16 units, never splitting a character."""
    chunks: list[str] = []
    while text:
        chunk = utf16_prefix(text, size)
        chunks.append(chunk)
        text = text[len(chunk) :]
    return chunks


# -- decoding API JSON ---------------------------------------------------------------------------


def decode(prop: dict[str, Any]) -> Prop:
    """A property value object from the API, decoded and normalised."""
    kind = prop.get("type", "")
    raw = prop.get(kind)
    decoder = _DECODERS.get(kind)
    return Prop(kind, decoder(raw) if decoder else None)


def _plain(raw: Any) -> str | None:
    return "".join(part.get("plain_text") or _content(part) for part in raw or []) or None


def _content(part: dict[str, Any]) -> str:
    return str((part.get("text") or {}).get("content") or "")


def _named(raw: Any) -> str | None:
    return raw.get("name") if isinstance(raw, dict) else None


def _names(raw: Any) -> tuple[str, ...]:
    return tuple(sorted({item.get("name") or item.get("id") or "" for item in raw or []} - {""}))


def _date_value(raw: Any) -> str | None:
    return _date(raw.get("start")) if isinstance(raw, dict) else None


def _formula(raw: Any) -> Value:
    return decode(raw).value if isinstance(raw, dict) else None


def _unique_id(raw: Any) -> str | None:
    if not isinstance(raw, dict) or raw.get("number") is None:
        return None
    prefix = raw.get("prefix")
    return f"{prefix}-{raw['number']}" if prefix else str(raw["number"])


_DECODERS: dict[str, Any] = {
    "title": _plain,
    "rich_text": _plain,
    "select": _named,
    "status": _named,
    "multi_select": _names,
    "url": lambda raw: raw or None,
    "email": lambda raw: raw or None,
    "phone_number": lambda raw: raw or None,
    "number": _number,
    "date": _date_value,
    "checkbox": bool,
    "created_time": _date,
    "last_edited_time": _date,
    "people": _names,
    "relation": _names,
    "formula": _formula,
    "unique_id": _unique_id,
    "string": lambda raw: raw or None,
    "boolean": bool,
}


# -- encoding for writes -------------------------------------------------------------------------


def encode(kind: str, value: Value) -> dict[str, Any]:
    """The API JSON that sets a property of type `kind` to `value` (null or [] clears it)."""
    value = normalise(kind, value)
    if kind in TEXT_TYPES:
        return {kind: [{"type": "text", "text": {"content": chunk}} for chunk in split_text(value or "")]}
    if kind in ("select", "status"):
        return {kind: {"name": value} if value else None}
    if kind == "multi_select":
        return {kind: [{"name": name} for name in value]}
    if kind == "date":
        return {kind: {"start": value} if value else None}
    return {kind: value}
