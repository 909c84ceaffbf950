"""Sample data for `reconcile demo`: two repositories of issues and PRs, and an empty Notion database."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reconcile.sandbox.sandbox import Sandbox

LABELS = ("bug", "chore", "enhancement", "priority: high", "priority: low", "docs")
PEOPLE = ("alice", "bob", "carol", "dmitri")
LONG_TITLE = (
    "Checkout intermittently fails for customers whose saved billing address was created before the "
    "2024 address-format migration, because the postcode validator rejects the legacy format, the retry "
    "loop then resubmits the whole basket, and the payment provider flags the duplicate authorisations as "
    "suspicious and locks the card for a day"
)
ISSUES = {
    "acme/web": (
        "Login button unresponsive on Safari",
        "Dark mode toggle forgets its setting",
        "🚀 Launch the new onboarding flow",
        LONG_TITLE,
        "Footer links point to the old blog",
        "Search results flicker while typing",
        "Add keyboard shortcuts to the editor",
        "Upgrade the bundler to the latest major",
        "Images are not lazy-loaded on the gallery page",
        "Cookie banner covers the chat widget",
        "Document the release checklist",
        "Typo on the pricing page",
    ),
    "acme/api": (
        "Rate limiter counts OPTIONS requests",
        "Pagination skips items when sorting by date",
        "Add an endpoint to export invoices as CSV",
        "Timeouts when the report has over 10k rows",
        "Deprecate the v1 webhooks",
        "Write an ADR for the event store",
        "Nightly job leaks DB connections",
        "Return 404 instead of 500 for unknown tenants",
        "Document the authentication flow",
    ),
}
PULLS = {
    "acme/web": (
        "Fix Safari login handler",
        "Lazy-load gallery images",
        "Bump the bundler",
        "Persist the dark mode setting",
        "Refactor the header component",
        "WIP: new onboarding",
    ),
    "acme/api": (
        "Exclude OPTIONS from rate limiting",
        "Stable sort for date pagination",
        "CSV export for invoices",
        "Close DB connections in the nightly job",
        "Spike: event store",
    ),
}
ISSUE_FATES = (
    "open",
    "open-assigned",
    "closed-completed",
    "open",
    "closed-not_planned",
    "open-assigned",
    "closed-completed",
)
PULL_FATES = ("open", "draft", "merged", "merged", "closed")
SCHEMA: dict[str, Any] = {
    "Name": {"title": {}},
    "GitHub URL": {"url": {}},
    "Status": {
        "select": {
            "options": [{"name": n} for n in ("Backlog", "In Progress", "In Review", "Done", "Won't Do")]
        }
    },
    "Type": {"select": {"options": [{"name": n} for n in ("Bug", "Chore", "Feature", "Task")]}},
    "Priority": {"select": {"options": [{"name": n} for n in ("High", "Medium", "Low")]}},
    "Repository": {"select": {"options": []}},
    "Labels": {"multi_select": {"options": []}},
    "Last Updated": {"date": {}},
    "Notes": {"rich_text": {}},
}


@dataclass(frozen=True)
class SampleInfo:
    """What build_sample made."""

    database_id: str
    repos: tuple[str, ...]


def build_sample(sandbox: Sandbox) -> SampleInfo:
    """Fill the sandbox with the demo data (deterministic for a given seed and clock)."""
    rng = random.Random(f"sample-{sandbox.seed}")
    now = sandbox.clock.now()
    for repo in ISSUES:
        sandbox.github.add_repo(repo)
        items = [(title, False, ISSUE_FATES[i % len(ISSUE_FATES)]) for i, title in enumerate(ISSUES[repo])]
        items += [(title, True, PULL_FATES[i % len(PULL_FATES)]) for i, title in enumerate(PULLS[repo])]
        rng.shuffle(items)
        for title, is_pull, fate in items:
            _add_item(sandbox, rng, repo, title, is_pull, fate, now)
    database_id = sandbox.notion.create_database("Engineering work", SCHEMA)
    return SampleInfo(database_id, tuple(ISSUES))


def _add_item(
    sandbox: Sandbox, rng: random.Random, repo: str, title: str, is_pull: bool, fate: str, now: datetime
) -> None:
    created = _with_seconds(now - timedelta(days=rng.uniform(2, 60)))
    updated = _with_seconds(created + (now - created) * rng.uniform(0.05, 0.95))
    closed = fate.startswith("closed") or fate == "merged"
    sandbox.github.create_issue(
        repo,
        title,
        body=rng.choice((None, f"Reported while working on {repo}.")),
        labels=rng.sample(LABELS, rng.randint(0, 2)),
        assignees=[rng.choice(PEOPLE)] if fate == "open-assigned" or (is_pull and fate != "closed") else [],
        author=rng.choice(PEOPLE),
        state="closed" if closed else "open",
        state_reason=fate.removeprefix("closed-") if closed and not is_pull else None,
        pull_request=is_pull,
        draft=fate == "draft",
        merged=fate == "merged",
        created_at=created,
        updated_at=updated,
    )


def _with_seconds(moment: datetime) -> datetime:
    """A GitHub timestamp (whole seconds) that never falls on a round minute, as real ones rarely do."""
    moment = moment.replace(microsecond=0)
    return moment if moment.second else moment.replace(second=37)
