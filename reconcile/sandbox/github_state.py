"""The GitHub look-alike's state and the Python API tests use to shape it (`sandbox.github`)."""

from __future__ import annotations

import hashlib
import itertools
import threading
from datetime import datetime
from typing import Any

from reconcile.clock import Clock
from reconcile.sandbox.github_model import DEFAULT_LABELS, Issue, Label, Milestone, Repo, User
from reconcile.sandbox.github_render import issue_json, milestone_json, repo_json, user_json
from reconcile.sandbox.stamps import as_datetime

STATE_REASONS = (None, "completed", "reopened", "not_planned", "duplicate")
_UPDATABLE = frozenset(
    {
        "title",
        "body",
        "state",
        "state_reason",
        "labels",
        "assignees",
        "milestone",
        "draft",
        "merged",
        "updated_at",
    }
)


class GitHubState:
    """Repositories, issues and tokens; every method takes the sandbox lock."""

    def __init__(self, clock: Clock, lock: threading.RLock, api_url: str) -> None:
        self._clock = clock
        self._lock = lock
        self.api_url = api_url
        self._repos: dict[int, Repo] = {}
        self._names: dict[str, int] = {}
        self._renamed: dict[str, int] = {}
        self._users: dict[str, User] = {}
        self._tokens: dict[str, str] = {}
        self._where: dict[int, int] = {}
        self._repo_ids = itertools.count(100_000_001)
        self._issue_ids = itertools.count(2_000_000_001)
        self._other_ids = itertools.count(5_000_001)
        self._user_ids = itertools.count(7001)

    # --- tokens and users -------------------------------------------------------------------
    def add_token(self, token: str, login: str = "sandbox-user") -> str:
        """Make a token valid, acting as `login`."""
        with self._lock:
            self.user(login)
            self._tokens[token] = login
        return token

    def revoke_token(self, token: str) -> None:
        """Make a token invalid (401 Bad credentials from then on)."""
        with self._lock:
            self._tokens.pop(token, None)

    def login_for(self, token: str) -> str | None:
        """The login a token acts as, or None when it is not valid."""
        with self._lock:
            return self._tokens.get(token)

    def user(self, login: str, kind: str = "User") -> User:
        """The account with that login, created on first use."""
        with self._lock:
            if login not in self._users:
                self._users[login] = User(next(self._user_ids), login, kind)
            return self._users[login]

    # --- repositories -----------------------------------------------------------------------
    def add_repo(self, full_name: str, issues_enabled: bool = True, private: bool = False) -> dict[str, Any]:
        """Create a repository; returns its API object."""
        owner, name = _split(full_name)
        with self._lock:
            if full_name.lower() in self._names:
                raise ValueError(f"repository {full_name} already exists")
            self.user(owner, "Organization")
            repo = Repo(next(self._repo_ids), owner, name, issues_enabled, self._now(), private)
            self._repos[repo.id] = repo
            self._names[full_name.lower()] = repo.id
            self._renamed.pop(full_name.lower(), None)
            return self.render_repo(repo, self.api_url)

    def rename_repo(self, old: str, new: str) -> dict[str, Any]:
        """Rename (or move) a repository; the old name answers 301 from then on."""
        owner, name = _split(new)
        with self._lock:
            repo = self._repo(old)
            if new.lower() in self._names and new.lower() != old.lower():
                raise ValueError(f"repository {new} already exists")
            del self._names[old.lower()]
            repo.owner, repo.name = owner, name
            self.user(owner, "Organization")
            self._names[new.lower()] = repo.id
            self._renamed.pop(new.lower(), None)
            self._renamed[old.lower()] = repo.id
            return self.render_repo(repo, self.api_url)

    def set_issues_enabled(self, full_name: str, enabled: bool) -> None:
        """Turn the repository's issues on or off (off: the issues endpoints answer 410)."""
        with self._lock:
            self._repo(full_name).issues_enabled = enabled

    def repo(self, full_name: str) -> dict[str, Any]:
        """The repository's API object."""
        with self._lock:
            return self.render_repo(self._repo(full_name), self.api_url)

    # --- issues -----------------------------------------------------------------------------
    def create_issue(
        self,
        repo: str,
        title: str,
        body: str | None = None,
        labels: list[str] | None = None,
        assignees: list[str] | None = None,
        author: str = "octocat",
        milestone: str | None = None,
        state: str = "open",
        state_reason: str | None = None,
        pull_request: bool = False,
        draft: bool = False,
        merged: bool = False,
        created_at: datetime | str | None = None,
        updated_at: datetime | str | None = None,
    ) -> dict[str, Any]:
        """Open an issue (or PR) with the next number; returns its API object."""
        _check_state(state, state_reason)
        if merged and not pull_request:
            raise ValueError("only a pull request can be merged")
        with self._lock:
            target = self._repo(repo)
            created = _seconds(as_datetime(created_at, self._now()))
            updated = _seconds(as_datetime(updated_at, created))
            closed = merged or state == "closed"
            reason = state_reason if state_reason or not closed or pull_request else "completed"
            issue = Issue(
                id=next(self._issue_ids),
                number=target.next_number,
                repo_id=target.id,
                title=title,
                body=body,
                author=self.user(author).login,
                state="closed" if closed else "open",
                state_reason=reason,
                labels=self._labels(target, labels or []),
                assignees=[self.user(login).login for login in assignees or []],
                milestone=self._milestone(target, milestone),
                is_pull=pull_request,
                draft=draft,
                merged_at=updated if merged else None,
                created_at=created,
                updated_at=updated,
                closed_at=updated if closed else None,
            )
            target.next_number += 1
            target.issues[issue.number] = issue
            self._where[issue.id] = target.id
            return self.render_issue(target, issue, self.api_url)

    def update_issue(self, repo: str, number: int, **fields: Any) -> dict[str, Any]:
        """Change an issue as a person would on github.com; bumps updated_at (to now by default)."""
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise TypeError(f"update_issue() got unexpected fields: {sorted(unknown)}")
        with self._lock:
            target, issue = self._issue(repo, number)
            now = self._now()
            self._apply_fields(target, issue, fields)
            if "state" in fields or "state_reason" in fields:
                self._set_state(issue, fields.get("state", issue.state), fields.get("state_reason"), now)
            if fields.get("merged"):
                self._merge(issue, now)
            issue.updated_at = _seconds(as_datetime(fields.get("updated_at"), now))
            return self.render_issue(target, issue, self.api_url)

    def delete_issue(self, repo: str, number: int) -> None:
        """Delete an issue: no longer listed, and its single GET answers 410."""
        with self._lock:
            target, issue = self._issue(repo, number)
            del target.issues[number]
            target.deleted.add(number)
            self._where.pop(issue.id, None)

    def transfer_issue(self, repo: str, number: int, target_repo: str) -> dict[str, Any]:
        """Move an issue to another repository: new number, same id; the old URL answers 301."""
        with self._lock:
            source, issue = self._issue(repo, number)
            target = self._repo(target_repo)
            if issue.is_pull:
                raise ValueError("pull requests cannot be transferred")
            del source.issues[number]
            source.moved[number] = issue.id
            issue.number, issue.repo_id = target.next_number, target.id
            issue.labels = self._labels(target, issue.labels)
            issue.milestone = None
            issue.updated_at = self._now()
            target.next_number += 1
            target.issues[issue.number] = issue
            self._where[issue.id] = target.id
            return self.render_issue(target, issue, self.api_url)

    def issue(self, repo: str, number: int) -> dict[str, Any]:
        """One issue's API object (KeyError when it is not in that repository)."""
        with self._lock:
            target, issue = self._issue(repo, number)
            return self.render_issue(target, issue, self.api_url)

    def issues(self, repo: str) -> list[dict[str, Any]]:
        """Every issue and PR of the repository, open and closed, by number."""
        with self._lock:
            target = self._repo(repo)
            return [self.render_issue(target, target.issues[n], self.api_url) for n in sorted(target.issues)]

    # --- lookups for the routes -------------------------------------------------------------
    def find(self, full_name: str) -> Repo | None:
        """The repository currently called that, or None."""
        repo_id = self._names.get(full_name.lower())
        return self._repos.get(repo_id) if repo_id is not None else None

    def renamed(self, full_name: str) -> Repo | None:
        """The repository formerly called that, or None."""
        repo_id = self._renamed.get(full_name.lower())
        return self._repos.get(repo_id) if repo_id is not None else None

    def by_id(self, repo_id: int) -> Repo | None:
        """The repository with that id, or None."""
        return self._repos.get(repo_id)

    def locate(self, issue_id: int) -> tuple[Repo, Issue] | None:
        """Where an issue lives now, or None when it is gone."""
        repo_id = self._where.get(issue_id)
        if repo_id is None:
            return None
        repo = self._repos[repo_id]
        found = next((i for i in repo.issues.values() if i.id == issue_id), None)
        return (repo, found) if found else None

    def render_issue(self, repo: Repo, issue: Issue, api: str) -> dict[str, Any]:
        """The issue's API object with URLs under `api`."""
        logins = {issue.author, *issue.assignees}
        people = {login: user_json(self.user(login), api) for login in logins}
        milestone = None
        if issue.milestone is not None:
            creator = user_json(self.user(repo.owner), api)
            milestone = milestone_json(repo.milestones[issue.milestone], repo, creator, api)
        return issue_json(issue, repo, people, milestone, api)

    def render_repo(self, repo: Repo, api: str) -> dict[str, Any]:
        """The repository's API object with URLs under `api`."""
        return repo_json(repo, user_json(self.user(repo.owner, "Organization"), api), api)

    # --- internals --------------------------------------------------------------------------
    def _now(self) -> datetime:
        return _seconds(self._clock.now())

    def _repo(self, full_name: str) -> Repo:
        repo = self.find(full_name)
        if repo is None:
            raise KeyError(f"no repository {full_name}")
        return repo

    def _issue(self, full_name: str, number: int) -> tuple[Repo, Issue]:
        repo = self._repo(full_name)
        if number not in repo.issues:
            raise KeyError(f"no issue #{number} in {full_name}")
        return repo, repo.issues[number]

    def _labels(self, repo: Repo, names: list[str]) -> list[str]:
        for name in names:
            key = name.lower()
            if key not in repo.labels:
                color, description = DEFAULT_LABELS.get(key, (_color(name), None))
                repo.labels[key] = Label(
                    next(self._other_ids), name, color, description, key in DEFAULT_LABELS
                )
        return [repo.labels[name.lower()].name for name in dict.fromkeys(names)]

    def _milestone(self, repo: Repo, title: str | None) -> str | None:
        if title is not None and title not in repo.milestones:
            number = len(repo.milestones) + 1
            repo.milestones[title] = Milestone(next(self._other_ids), number, title, self._now())
        return title

    def _apply_fields(self, repo: Repo, issue: Issue, fields: dict[str, Any]) -> None:
        for name in ("title", "body", "draft"):
            if name in fields:
                setattr(issue, name, fields[name])
        if "labels" in fields:
            issue.labels = self._labels(repo, list(fields["labels"]))
        if "assignees" in fields:
            issue.assignees = [self.user(login).login for login in fields["assignees"]]
        if "milestone" in fields:
            issue.milestone = self._milestone(repo, fields["milestone"])

    def _set_state(self, issue: Issue, state: str, reason: str | None, now: datetime) -> None:
        _check_state(state, reason)
        if state == "closed" and issue.state != "closed":
            issue.closed_at = now
            reason = reason or (None if issue.is_pull else "completed")
        elif state == "open" and issue.state == "closed":
            issue.closed_at = None
            reason = reason or (None if issue.is_pull else "reopened")
        elif reason is None:
            reason = issue.state_reason
        issue.state, issue.state_reason = state, reason

    def _merge(self, issue: Issue, now: datetime) -> None:
        if not issue.is_pull:
            raise ValueError("only a pull request can be merged")
        issue.merged_at = now
        if issue.state != "closed":
            issue.state, issue.closed_at = "closed", now


def _split(full_name: str) -> tuple[str, str]:
    owner, _, name = full_name.partition("/")
    if not owner or not name or "/" in name:
        raise ValueError(f"expected owner/name, got {full_name!r}")
    return owner, name


def _check_state(state: str, reason: str | None) -> None:
    if state not in ("open", "closed"):
        raise ValueError(f"state must be 'open' or 'closed', not {state!r}")
    if reason not in STATE_REASONS:
        raise ValueError(f"state_reason must be one of {STATE_REASONS}, not {reason!r}")


def _seconds(moment: datetime) -> datetime:
    # GitHub shows whole seconds; storing more would make `since` disagree with what clients see.
    return moment.replace(microsecond=0)


def _color(name: str) -> str:
    return hashlib.sha1(name.lower().encode()).hexdigest()[:6]
