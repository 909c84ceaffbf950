"""GitHub's recorded answers (PyGithub's replay data): issue objects, and the renamed-repository 301."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from reconcile.clients.github import GitHubClient, item_from_api
from reconcile.clock import FakeClock
from reconcile.config import GitHubConfig
from reconcile.sandbox import Sandbox
from tests.fidelity.recordings_io import load

ITEMS = load("github_items.json")
REDIRECT = load("github_redirect.json")


def expect(repo: str, kind: str, state: str, reason: str | None, **more: Any) -> dict[str, Any]:
    """What a recorded issue object must become (fields not named take their empty value)."""
    empty = {"draft": False, "merged": False, "labels": (), "assignees": (), "milestone": None}
    return {"repo": repo, "kind": kind, "state": state, "state_reason": reason, **empty, **more}


# In the order of github_items.json (see its _source entries).
EXPECTED = [
    expect(
        "openframeworks/openFrameworks",
        "issue",
        "open",
        None,
        labels=("core",),
        assignees=("ofTheo",),
        milestone="0.10.1",
    ),
    expect("openframeworks/openFrameworks", "pull_request", "open", None),
    expect("PyGithub/PyGithub", "pull_request", "open", None, draft=True),
    expect("PyGithub/PyGithub", "issue", "closed", "completed"),
    expect(
        "PyGithub/PyGithub",
        "issue",
        "closed",
        "completed",
        labels=("bug", "question"),
        assignees=("jacquev6",),
        milestone="Version 1.4",
    ),
    expect(  # a PATCH answer without repository_url: the repository comes from html_url
        "PyGithub/PyGithub",
        "pull_request",
        "closed",
        "not_planned",
        labels=("Bug",),
        assignees=("jacquev6", "stuglaser"),
        milestone="Version 1.0: coherent public interface",
    ),
    expect("PyGithub/PyGithub", "pull_request", "closed", None, merged=True),
]


@pytest.mark.parametrize(
    ("entry", "expected"),
    list(zip(ITEMS, EXPECTED, strict=True)),
    ids=[f"#{e['item']['number']}" for e in ITEMS],
)
def test_recorded_issue_objects_read_as_items(entry: dict[str, Any], expected: dict[str, Any]) -> None:
    raw = entry["item"]
    item = item_from_api(raw)
    assert {name: getattr(item, name) for name in expected} == expected
    assert item.number == raw["number"] and item.url == raw["html_url"] and item.id == raw["id"]
    assert item.updated_at == datetime.fromisoformat(raw["updated_at"]).astimezone(UTC)


# -- the renamed repository -----------------------------------------------------------------------


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(clock=FakeClock()) as sb:
        yield sb


def client(sandbox: Sandbox, repos: list[str]) -> GitHubClient:
    config = GitHubConfig(api_url=sandbox.github_url, token=sandbox.github_token, repos=repos)
    return GitHubClient(config, FakeClock())


def test_the_sandbox_answers_a_renamed_repository_as_github_did(sandbox: Sandbox) -> None:
    repo = sandbox.github.add_repo("acme/web")
    sandbox.github.rename_repo("acme/web", "acme/site")
    headers = {"Authorization": f"Bearer {sandbox.github_token}", "User-Agent": "test"}
    answer = requests.get(
        f"{sandbox.github_url}/repos/acme/web", headers=headers, allow_redirects=False, timeout=5
    )
    assert answer.status_code == REDIRECT["status"] == 301
    # the recorded Location names the repository by id: https://api.github.com/repositories/112116543
    assert REDIRECT["location"].endswith(f"/repositories/{REDIRECT['repository']['id']}")
    assert answer.headers["Location"] == f"{sandbox.github_url}/repositories/{repo['id']}"
    assert set(answer.json()) == set(REDIRECT["body"])
    assert (
        answer.json()["message"] == REDIRECT["body"]["message"]
        and answer.json()["url"] == answer.headers["Location"]
    )


def test_the_client_follows_the_301_to_the_repository_id(sandbox: Sandbox) -> None:
    sandbox.github.add_repo("acme/web")
    sandbox.github.create_issue("acme/web", "Moved with its repository")
    sandbox.github.rename_repo("acme/web", "acme/site")
    github = client(sandbox, ["acme/web"])

    assert github.repository("acme/web")["full_name"] == "acme/site"
    listing = github.list_issues("acme/web")
    (item,) = [item_from_api(raw) for raw in listing.items]
    assert item.repo == "acme/site" and item.url.endswith("/acme/site/issues/1")
    assert sandbox.count("github", path=r"^/repos/acme/web/issues$", status=301) == 1
    assert sandbox.count("github", path=r"^/repositories/\d+/issues$", status=200) == 1
    found = github.lookup("acme/web", 1).issue
    assert found is not None and found["html_url"].endswith("/acme/site/issues/1")
