"""Notion property values: decode API JSON, normalise, compare, and encode for writes."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reconcile.model import Prop, Value

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
    """A date or date-time at Notion's precision: dates stay dates, instants are floored to the minute.

    Notion keeps a date-time to the minute (api-notes/notion.md §7a), so an instant with seconds equals
    the instant Notion answers with; a range is `start/end` (ISO 8601 interval notation).
    """
    if value is None or value == "":
        return None
    if isinstance(value, dict):
        return _date_object(value)
    if isinstance(value, datetime):
        return _minute(value)
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    if "/" in text:
        start, _, end = text.partition("/")
        return _range(_date(start), _date(end))
    return _date_text(text, None)


def _date_object(raw: dict[str, Any]) -> str | None:
    """A date value object `{start, end, time_zone}`: the zone names the offset of naive times."""
    zone = raw.get("time_zone")
    start = _date_text(str(raw.get("start") or "").strip(), zone)
    end = _date_text(str(raw.get("end") or "").strip(), zone) if raw.get("end") else None
    return _range(start, end)


def _range(start: str | None, end: str | None) -> str | None:
    if start is None:
        return None
    return f"{start}/{end}" if end else start


def _date_text(text: str, zone: Any) -> str | None:
    if not text:
        return None
    try:
        if len(text) == 10:  # a date without a time stays a date
            return date.fromisoformat(text).isoformat()
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:  # not a date (a milestone called "Sprint 12a", say): no value
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_zone(zone))
    return _minute(moment)


def _zone(name: Any) -> Any:
    """The time zone Notion folds into a naive time's offset (UTC when none or unknown)."""
    if isinstance(name, str) and name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return UTC
    return UTC


def _minute(moment: datetime) -> str:
    """An instant in UTC, floored to the minute, as `YYYY-MM-DDTHH:MM:00Z`."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:00Z")


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


def decode(prop: Any) -> Prop:
    """A property value object from the API, decoded and normalised; an unknown type decodes to None."""
    if not isinstance(prop, dict):
        return Prop("", None)
    kind = str(prop.get("type") or "")
    decoder = _DECODERS.get(kind)
    return Prop(kind, decoder(prop.get(kind)) if decoder else None)


def _plain(raw: Any) -> str | None:
    """Rich text as its plain text: every part (text, mention, equation) in order."""
    if not isinstance(raw, list):
        return None
    return "".join(_part_text(part) for part in raw if isinstance(part, dict)) or None


def _part_text(part: dict[str, Any]) -> str:
    if isinstance(part.get("plain_text"), str):
        return str(part["plain_text"])
    kind = part.get("type", "text")
    inner = part.get(kind) if isinstance(part.get(kind), dict) else {}
    if kind == "equation":
        return str(inner.get("expression") or "")
    return str(inner.get("content") or "") if kind == "text" else ""


def _named(raw: Any) -> str | None:
    return raw.get("name") if isinstance(raw, dict) else None


def _names(raw: Any) -> tuple[str, ...]:
    """Options, people or pages: their names (ids when there is no name), as a sorted set."""
    if not isinstance(raw, list):
        return ()
    items = [item for item in raw if isinstance(item, dict)]
    return tuple(sorted({str(item.get("name") or item.get("id") or "") for item in items} - {""}))


def _user(raw: Any) -> str | None:
    names = _names([raw])
    return names[0] if names else None


def _text_value(raw: Any) -> str | None:
    return raw if isinstance(raw, str) and raw else None


def _formula(raw: Any) -> Value:
    """A formula's or rollup's result, decoded as the type it reports (string, number, boolean, date)."""
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
    "url": _text_value,
    "email": _text_value,
    "phone_number": _text_value,
    "number": _number,
    "date": _date,
    "checkbox": bool,
    "created_time": _date,
    "last_edited_time": _date,
    "created_by": _user,
    "last_edited_by": _user,
    "people": _names,
    "relation": _names,
    "formula": _formula,
    "rollup": _formula,
    "unique_id": _unique_id,
    "string": _text_value,
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
        return {kind: _date_write(value)}
    return {kind: value}


def _date_write(value: str | None) -> dict[str, Any] | None:
    """A date value object; a range `start/end` is written with its end, so Notion's `end` is set too."""
    if not value:
        return None
    start, _, end = value.partition("/")
    return {"start": start, "end": end or None}
