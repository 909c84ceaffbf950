"""Date values as Notion stores them: times floored to the minute, the time zone folded into the offset."""

# Recorded real writes (api-notes/notion.md §7a):
#   {"start": "2026-07-25T04:54:29.284080Z", "time_zone": "UTC"} reads back as
#   {"start": "2026-07-25T04:54:00.000+00:00", "end": null, "time_zone": null}, and a naive
#   "2026-06-27T05:57:26.066867" with "Europe/London" as "2026-06-27T05:57:00.000+01:00".
# Date-only values come back as written.

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reconcile.sandbox.notion_errors import UNDEFINED, body_error, shown
from reconcile.sandbox.stamps import is_date_only


def stored_date(value: Any, where: str) -> dict[str, Any] | None:
    """A written date value object (`{start, end?, time_zone?}` or null) in the form Notion keeps."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise body_error(where, f"should be an object or `null`, instead was {shown(value)}.")
    zone = _zone(value.get("time_zone"), f"{where}.time_zone")
    start = _stored(value.get("start", UNDEFINED), zone, f"{where}.start")
    end = value.get("end")
    return {
        "start": start,
        "end": None if end is None else _stored(end, zone, f"{where}.end"),
        "time_zone": None,
    }


def _zone(name: Any, where: str) -> tzinfo | None:
    if name is None:
        return None
    if not isinstance(name, str):
        raise body_error(where, f"should be a string or `null`, instead was {shown(name)}.")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise body_error(where, f"should be a valid IANA time zone, instead was {shown(name)}.") from None


def _stored(text: Any, zone: tzinfo | None, where: str) -> str:
    """One date or date-time string as Notion answers it."""
    if not isinstance(text, str) or not text:
        raise _not_a_date(text, where)
    try:
        if is_date_only(text):
            datetime.strptime(text, "%Y-%m-%d")
            return text
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _not_a_date(text, where) from None
    if moment.tzinfo is None:  # a naive time is local time in the given zone (UTC without one)
        moment = moment.replace(tzinfo=zone or UTC)
    return notion_date_time(moment)


def _not_a_date(text: Any, where: str) -> Exception:
    return body_error(where, f"should be a valid ISO 8601 date string, instead was {shown(text)}.")


def notion_date_time(moment: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:00.000+HH:MM`: floored to the minute, in the moment's own offset."""
    floored = moment.replace(second=0, microsecond=0)
    offset = floored.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return floored.strftime("%Y-%m-%dT%H:%M:00.000") + f"{sign}{hours:02d}:{rest:02d}"
