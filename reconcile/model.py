"""The vocabulary of the job: GitHub items, Notion pages, operations and plans (frozen dataclasses)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Kind = Literal["issue", "pull_request"]
Action = Literal["create", "update", "recreate", "archive", "stale"]
ACTIONS: tuple[Action, ...] = ("create", "update", "recreate", "archive", "stale")

# A normalised Notion property value: str | None for text, select, status, url and dates;
# a sorted tuple of str for multi_select; bool for checkbox; int | float | None for number.
Value = Any


@dataclass(frozen=True)
class GitHubItem:
    """An issue or pull request, as the mapping sees it."""

    id: int
    repo: str
    number: int
    kind: Kind
    state: str
    title: str
    url: str
    created_at: datetime
    updated_at: datetime
    state_reason: str | None = None
    merged: bool = False
    draft: bool = False
    assignees: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    author: str | None = None
    milestone: str | None = None
    closed_at: datetime | None = None
    merged_at: datetime | None = None

    @property
    def owner(self) -> str:
        return self.repo.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.repo.split("/", 1)[1]

    @property
    def assigned(self) -> bool:
        return bool(self.assignees)

    def ref(self) -> ItemRef:
        return ItemRef(repo=self.repo, number=self.number, kind=self.kind)


@dataclass(frozen=True)
class ItemRef:
    """Which GitHub item an operation is about."""

    repo: str
    number: int
    kind: Kind

    def as_json(self) -> dict[str, Any]:
        return {"repo": self.repo, "number": self.number, "kind": self.kind}


@dataclass(frozen=True)
class Prop:
    """One decoded Notion property: its type and normalised value."""

    type: str
    value: Value


@dataclass(frozen=True)
class NotionPage:
    """A page of the reconciled database, as last seen."""

    id: str
    properties: Mapping[str, Prop]
    created_time: datetime
    last_edited_time: datetime
    key: str | None = None
    in_trash: bool = False
    gone: bool = False

    @property
    def alive(self) -> bool:
        return not (self.in_trash or self.gone)

    def value(self, name: str) -> Value:
        prop = self.properties.get(name)
        return prop.value if prop else None


@dataclass(frozen=True)
class Change:
    """One property's move: what Notion has (`before`) and what it should have (`after`)."""

    before: Value
    after: Value

    def as_json(self) -> dict[str, Any]:
        return {"from": jsonable(self.before), "to": jsonable(self.after)}


@dataclass(frozen=True)
class Operation:
    """One write the plan wants (or, for `stale` under `report`, one finding)."""

    action: Action
    key: str | None
    page_id: str | None
    changes: Mapping[str, Change]
    reason: str
    item: ItemRef | None = None
    item_id: int | None = None
    restore: bool = False  # recreate by taking the page out of the trash

    @property
    def writes(self) -> bool:
        return self.action != "stale" or bool(self.changes)

    def as_json(self) -> dict[str, Any]:
        body = {
            "action": self.action,
            "key": self.key,
            "page_id": self.page_id,
            "github": self.item.as_json() if self.item else None,
            "changes": {name: change.as_json() for name, change in self.changes.items()},
            "reason": self.reason,
        }
        if self.restore:
            body["restore"] = True
        return body


@dataclass(frozen=True)
class Drift:
    """A difference the policies leave alone (informational, never written)."""

    key: str | None
    page_id: str
    property: str
    notion: Value
    expected: Value
    policy: str

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "page_id": self.page_id,
            "property": self.property,
            "notion": jsonable(self.notion),
            "expected": jsonable(self.expected),
            "policy": self.policy,
        }


@dataclass(frozen=True)
class Orphan:
    """A page whose GitHub item no longer exists."""

    key: str
    page_id: str
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "page_id": self.page_id, "reason": self.reason}


@dataclass(frozen=True)
class Applied:
    """What the job last wrote to one property of a page (or adopted), and what Notion kept of it."""

    value: Value  # the value derived from GitHub that was sent (or adopted without a write)
    stored: Value = None  # the property as Notion's answer to that write showed it
    has_stored: bool = False  # False for records from before 0.2, and adoptions of an unseen page
    misses: int = 0  # writes of `value` in a row after which Notion still held something else


@dataclass(frozen=True)
class NonConverging:
    """A property the job wrote, run after run, that Notion keeps in another form: written no more
    until the value derived from GitHub changes."""

    key: str | None
    page_id: str
    property: str
    sent: Value
    stored: Value

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "page_id": self.page_id,
            "property": self.property,
            "sent": jsonable(self.sent),
            "stored": jsonable(self.stored),
        }


@dataclass(frozen=True)
class StalePage:
    """A page in the stale status with no activity for too long."""

    page_id: str
    key: str | None
    title: str | None
    status: str | None
    last_activity: datetime
    github: GitHubItem | None = None
    notes: str | None = None  # the annotate property's current text


@dataclass(frozen=True)
class Adoption:
    """Something the mirror should remember without a write: a rebuilt link or a first `on_change` value."""

    page_id: str
    item_id: int | None = None
    property: str | None = None
    value: Value = None
    stored: Value = None  # the page's value of `property` now: an adopted value counts as written there


@dataclass(frozen=True)
class Plan:
    """The diff: what to write, what is left alone, what is stale."""

    generated_at: datetime
    database_id: str
    operations: tuple[Operation, ...] = ()
    unchanged: int = 0
    drift: tuple[Drift, ...] = ()
    orphans: tuple[Orphan, ...] = ()
    stale: tuple[StalePage, ...] = ()
    nonconverging: tuple[NonConverging, ...] = ()
    adoptions: tuple[Adoption, ...] = field(default=(), compare=False)
    linked: int = 0  # pages that belong to a GitHub item (the base of max_change_ratio)

    def summary(self) -> dict[str, int]:
        counts = Counter(op.action for op in self.operations)
        return {**{action: counts.get(action, 0) for action in ACTIONS}, "unchanged": self.unchanged}

    @property
    def writes(self) -> tuple[Operation, ...]:
        return tuple(op for op in self.operations if op.writes)

    def modifications(self) -> int:
        """Operations that change or remove existing pages (what max_change_ratio counts)."""
        return sum(1 for op in self.operations if op.action in ("update", "recreate", "archive"))


def jsonable(value: Value) -> Any:
    """A normalised value as JSON: tuples become lists."""
    if isinstance(value, tuple):
        return list(value)
    return value


def from_json(value: Any) -> Value:
    """A value read back from JSON: lists become tuples again (the inverse of `jsonable`)."""
    if isinstance(value, list):
        return tuple(value)
    return value


def iso(moment: datetime | None) -> str | None:
    """An aware datetime as `YYYY-MM-DDTHH:MM:SSZ` (milliseconds kept when present)."""
    if moment is None:
        return None
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    return text + "Z"


def parse_instant(text: str) -> datetime:
    """Parse an ISO-8601 instant; a naive one is taken as UTC."""
    moment = datetime.fromisoformat(text.strip().replace("z", "Z"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
