"""Stale rules: pages stuck in one status with no activity on either side (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from reconcile.config import StaleConfig
from reconcile.model import Change, GitHubItem, NotionPage, Operation, StalePage


def find_stale(
    pages: Iterable[NotionPage], owners: Mapping[str, GitHubItem], rules: StaleConfig, now: datetime
) -> list[StalePage]:
    """Live pages in `rules.status` whose last activity is older than `rules.after_days`."""
    cutoff = now - timedelta(days=rules.after_days)
    found = []
    for page in pages:
        status = page.value(rules.property)
        if not page.alive or status != rules.status:
            continue
        item = owners.get(page.id)
        activity = max(page.last_edited_time, item.updated_at) if item else page.last_edited_time
        if activity <= cutoff:
            notes = page.value(rules.annotate_property) if rules.annotate_property else None
            found.append(StalePage(page.id, page.key, title_of(page), status, activity, item, notes))
    return sorted(found, key=lambda stale: (stale.last_activity, stale.page_id))


def stale_operations(stale: Iterable[StalePage], rules: StaleConfig, now: datetime) -> list[Operation]:
    """One `stale` operation per stale page, with the changes its action asks for."""
    return [
        Operation(
            "stale",
            page.key,
            page.page_id,
            _changes(page, rules, now),
            _reason(page, rules, now),
            page.github.ref() if page.github else None,
            page.github.id if page.github else None,
        )
        for page in stale
    ]


def _changes(page: StalePage, rules: StaleConfig, now: datetime) -> dict[str, Change]:
    if rules.action == "set_status":
        return {rules.property: Change(page.status, rules.set_status)}
    if rules.action == "annotate" and rules.annotate_property:
        return {rules.annotate_property: Change(page.notes, annotated(page.notes, page, now))}
    return {}


def _reason(page: StalePage, rules: StaleConfig, now: datetime) -> str:
    days = (now - page.last_activity).days
    return f"{rules.status} with no activity for {days} days (since {page.last_activity.date().isoformat()})"


def annotated(notes: str | None, page: StalePage, now: datetime) -> str:
    """The page's notes with a stale remark appended."""
    remark = (
        f"reconcile {now.date().isoformat()}: stale — no activity since "
        f"{page.last_activity.date().isoformat()}"
    )
    return f"{notes}\n{remark}" if notes else remark


def title_of(page: NotionPage) -> str | None:
    """The page's title property, whatever it is called."""
    return next((prop.value for prop in page.properties.values() if prop.type == "title"), None)
