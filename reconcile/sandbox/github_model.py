"""The GitHub look-alike's records: users, labels, milestones, issues (and PRs), repositories."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# GitHub's colours for the labels every new repository gets (default=True) and a few common ones.
DEFAULT_LABELS = {
    "bug": ("d73a4a", "Something isn't working"),
    "documentation": ("0075ca", "Improvements or additions to documentation"),
    "duplicate": ("cfd3d7", "This issue or pull request already exists"),
    "enhancement": ("a2eeef", "New feature or request"),
    "good first issue": ("7057ff", "Good for newcomers"),
    "help wanted": ("008672", "Extra attention is needed"),
    "invalid": ("e4e669", "This doesn't seem right"),
    "question": ("d876e3", "Further information is requested"),
    "wontfix": ("ffffff", "This will not be worked on"),
}


@dataclass
class User:
    """A GitHub account."""

    id: int
    login: str
    type: str = "User"


@dataclass
class Label:
    """A repository label."""

    id: int
    name: str
    color: str
    description: str | None
    default: bool


@dataclass
class Milestone:
    """A repository milestone."""

    id: int
    number: int
    title: str
    created_at: datetime


@dataclass
class Issue:
    """An issue or pull request (they share one number sequence per repository)."""

    id: int
    number: int
    repo_id: int
    title: str
    body: str | None
    author: str
    state: str
    state_reason: str | None
    labels: list[str]
    assignees: list[str]
    milestone: str | None
    is_pull: bool
    draft: bool
    merged_at: datetime | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    comments: int = 0
    locked: bool = False


@dataclass
class Repo:
    """A repository and everything the issues endpoints know about it."""

    id: int
    owner: str
    name: str
    issues_enabled: bool
    created_at: datetime
    private: bool = False
    next_number: int = 1
    issues: dict[int, Issue] = field(default_factory=dict)
    moved: dict[int, int] = field(default_factory=dict)
    deleted: set[int] = field(default_factory=set)
    labels: dict[str, Label] = field(default_factory=dict)
    milestones: dict[str, Milestone] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        """`owner/name`."""
        return f"{self.owner}/{self.name}"
