"""Timestamp formats of the two APIs, and parsing of the ones clients send."""

from __future__ import annotations

from datetime import UTC, date, datetime
from email.utils import format_datetime


def utc(moment: datetime) -> datetime:
    """The same instant in UTC (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def github_time(moment: datetime) -> str:
    """GitHub's `YYYY-MM-DDTHH:MM:SSZ`."""
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def notion_time(moment: datetime) -> str:
    """Notion's page timestamp: rounded down to the minute, with `.000Z`."""
    return utc(moment).strftime("%Y-%m-%dT%H:%M:00.000Z")


def floor_minute(moment: datetime) -> datetime:
    """The instant rounded down to the minute, as Notion stores page timestamps."""
    return utc(moment).replace(second=0, microsecond=0)


def http_date(moment: datetime) -> str:
    """An RFC 7231 `Date` header value."""
    return format_datetime(utc(moment), usegmt=True)


def parse_instant(text: str) -> datetime:
    """An ISO 8601 date or date-time as an aware UTC datetime; ValueError otherwise."""
    if not isinstance(text, str) or not text:
        raise ValueError(f"not an ISO 8601 string: {text!r}")
    if is_date_only(text):
        day = date.fromisoformat(text)
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    return utc(datetime.fromisoformat(text))


def is_date_only(text: str) -> bool:
    """Whether the string is a bare `YYYY-MM-DD`."""
    return len(text) == 10 and text[4] == "-" and text[7] == "-"


def as_datetime(value: datetime | str | None, default: datetime) -> datetime:
    """A datetime given as a datetime or ISO string, or the default when None."""
    if value is None:
        return utc(default)
    if isinstance(value, datetime):
        return utc(value)
    return parse_instant(value)
