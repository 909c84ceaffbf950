"""Stale rules: pages stuck in one status with no activity on either side (pure)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from reconcile.config import StaleConfig
from reconcile.model import Change, GitHubItem, NotionPage, Operation, StalePage

# The remark `annotate` appends: "reconcile 2026-01-24 12:00 UTC: stale — no activity since 2026-01-10".
_REMARK = re.compile(r"^reconcile (\d{4}-\d{2}-\d{2})(?: (\d{2}:\d{2}) UTC)?: stale\b", re.MULTILINE)


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
        notes = page.value(rules.annotate_property) if rules.annotate_property else None
        activity = last_activity(page, item, notes)
        if activity <= cutoff:
            found.append(StalePage(page.id, page.key, title_of(page), status, activity, item, notes))
    return sorted(found, key=lambda stale: (stale.last_activity, stale.page_id))


def last_activity(page: NotionPage, item: GitHubItem | None, notes: str | None = None) -> datetime:
    """The later of the page's last edit, its item's last update and our own last stale remark.

    The remark counts because annotating is an edit made at "now", and "now" may be RECONCILE_NOW,
    far from the clock that stamped last_edited_time: without it the same page is annotated each run.
    """
    moments = [page.last_edited_time, *([item.updated_at] if item else []), *remarked(notes)]
    return max(moments)


def remarked(notes: str | None) -> list[datetime]:
    """When this job annotated the page stale, from its remarks in the notes."""
    found = []
    for match in _REMARK.finditer(notes or ""):
        try:  # a person may have typed something that looks like a remark but is no date
            moment = datetime.fromisoformat(f"{match.group(1)}T{match.group(2) or '00:00'}")
        except ValueError:
            continue
        found.append(moment.replace(tzinfo=UTC))
    return found


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
        f"reconcile {now.astimezone(UTC):%Y-%m-%d %H:%M} UTC: stale — no activity since "
        f"{page.last_activity.date().isoformat()}"
    )
    return f"{notes}\n{remark}" if notes else remark


def title_of(page: NotionPage) -> str | None:
    """The page's title property, whatever it is called."""
    return next((prop.value for prop in page.properties.values() if prop.type == "title"), None)
