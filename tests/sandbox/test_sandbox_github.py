"""The GitHub look-alike over HTTP: shapes, paging, conditional requests, auth, redirects, limits."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sandbox_helpers import Api, github_client, github_validator

from reconcile.clock import FakeClock
from reconcile.sandbox import Sandbox


def seed_repo(sb: Sandbox, count: int = 5, repo: str = "acme/web") -> None:
    sb.github.add_repo(repo)
    for n in range(count):
        sb.github.create_issue(repo, f"Issue {n}")
        clock = sb.clock
        assert isinstance(clock, FakeClock)
        clock.advance(60)


def test_issues_validate_against_the_openapi_issue_schema(sb: Sandbox, gh: Api, github_spec: Any) -> None:
    sb.github.add_repo("acme/web")
    sb.github.create_issue(
        "acme/web", "Bug", body="b", labels=["bug", "priority: high"], assignees=["alice"], milestone="v1"
    )
    sb.github.create_issue("acme/web", "Closed", state="closed", state_reason="not_planned")
    sb.github.create_issue("acme/web", "PR", pull_request=True, draft=True)
    sb.github.create_issue("acme/web", "Merged", pull_request=True, merged=True)
    validator = github_validator(github_spec, "issue")
    listed = gh.get("/repos/acme/web/issues", params={"state": "all"}).json()
    assert len(listed) == 4
    for item in [*listed, gh.get("/repos/acme/web/issues/1").json()]:
        validator.validate(item)
    by_number = {item["number"]: item for item in listed}
    assert by_number[1]["labels"][0].keys() >= {
        "id",
        "node_id",
        "url",
        "name",
        "color",
        "default",
        "description",
    }
    assert by_number[1]["html_url"] == "https://github.com/acme/web/issues/1"
    assert by_number[1]["url"] == f"{sb.github_url}/repos/acme/web/issues/1"
    assert by_number[2]["state_reason"] == "not_planned" and by_number[2]["closed_at"]
    assert "pull_request" not in by_number[1] and by_number[3]["draft"] is True
    assert by_number[3]["html_url"].endswith("/pull/3")
    assert by_number[4]["pull_request"]["merged_at"] and by_number[4]["state"] == "closed"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", by_number[1]["created_at"])


def test_repository_user_and_rate_limit(sb: Sandbox, gh: Api, github_spec: Any) -> None:
    sb.github.add_repo("acme/web")
    repo = gh.get("/repos/acme/web").json()
    github_validator(github_spec, "full-repository").validate(repo)
    assert repo["full_name"] == "acme/web" and repo["has_issues"] is True
    assert gh.get("/user").json()["login"] == "sandbox-user"
    first = gh.get("/rate_limit").json()
    second = gh.get("/rate_limit")
    assert second.json()["resources"]["core"]["remaining"] == first["resources"]["core"]["remaining"] == 4998
    assert second.json()["rate"]["limit"] == 5000 and second.headers["x-ratelimit-resource"] == "core"


@pytest.mark.parametrize("per_page", [1, 7, 30, 100])
def test_following_link_next_returns_every_item_once(sb: Sandbox, gh: Api, per_page: int) -> None:
    sb.github.add_repo("acme/web")
    for n in range(45):
        sb.github.create_issue("acme/web", f"Issue {n}", state="closed" if n % 3 == 0 else "open")
    seen: list[int] = []
    response = gh.get("/repos/acme/web/issues", params={"state": "all", "per_page": per_page})
    while True:
        assert response.status_code == 200
        seen += [item["number"] for item in response.json()]
        if 'rel="next"' not in response.headers.get("Link", ""):
            break
        response = gh.get(response.links["next"]["url"])
    assert sorted(seen) == list(range(1, 46)) and len(seen) == 45


def test_link_header_format(sb: Sandbox, gh: Api) -> None:
    seed_repo(sb, 25)
    repo_id = sb.github.repo("acme/web")["id"]
    base = f"{sb.github_url}/repositories/{repo_id}/issues?state=all&per_page=10"
    first = gh.get("/repos/acme/web/issues?state=all&per_page=10")
    assert first.headers["Link"] == f'<{base}&page=2>; rel="next", <{base}&page=3>; rel="last"'
    middle = gh.get(f"{base}&page=2")
    assert middle.headers["Link"] == (
        f'<{base}&page=1>; rel="prev", <{base}&page=3>; rel="next", '
        f'<{base}&page=3>; rel="last", <{base}&page=1>; rel="first"'
    )
    last = gh.get(f"{base}&page=3")
    assert last.headers["Link"] == f'<{base}&page=2>; rel="prev", <{base}&page=1>; rel="first"'
    assert len(last.json()) == 5
    assert "Link" not in gh.get("/repos/acme/web/issues?state=all&per_page=100").headers


def test_default_state_is_open_and_sort_is_created_desc(sb: Sandbox, gh: Api) -> None:
    seed_repo(sb, 4)
    sb.github.update_issue("acme/web", 2, state="closed")
    numbers = [item["number"] for item in gh.get("/repos/acme/web/issues").json()]
    assert numbers == [4, 3, 1]
    closed = gh.get("/repos/acme/web/issues", params={"state": "closed"}).json()
    assert [item["number"] for item in closed] == [2]


def test_since_is_inclusive_on_updated_at_and_sort_updated_asc(
    sb: Sandbox, clock: FakeClock, gh: Api
) -> None:
    seed_repo(sb, 4)
    clock.advance(3600)
    sb.github.update_issue("acme/web", 1, title="edited")
    since = sb.github.issue("acme/web", 3)["updated_at"]
    items = gh.get(
        "/repos/acme/web/issues", params={"since": since, "sort": "updated", "direction": "asc"}
    ).json()
    assert [item["number"] for item in items] == [3, 4, 1]
    assert gh.get("/repos/acme/web/issues", params={"since": "yesterday"}).status_code == 422


def test_etag_gives_304_that_does_not_count(sb: Sandbox, gh: Api) -> None:
    seed_repo(sb, 2)
    first = gh.get("/repos/acme/web/issues")
    etag = first.headers["ETag"]
    assert etag.startswith('W/"')
    again = gh.get("/repos/acme/web/issues", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["x-ratelimit-remaining"] == first.headers["x-ratelimit-remaining"]
    sb.github.update_issue("acme/web", 1, title="changed")
    assert gh.get("/repos/acme/web/issues", headers={"If-None-Match": etag}).status_code == 200


def test_bad_missing_and_revoked_tokens_get_401(sb: Sandbox) -> None:
    sb.github.add_repo("acme/web")
    bad = github_client(sb, "ghp_nope").get("/repos/acme/web/issues")
    assert bad.status_code == 401
    assert bad.json() == {
        "message": "Bad credentials",
        "documentation_url": "https://docs.github.com/rest",
        "status": "401",
    }
    client = github_client(sb)
    del client.session.headers["Authorization"]
    assert client.get("/repos/acme/web/issues").status_code == 401
    sb.github.revoke_token(sb.github_token)
    assert github_client(sb).get("/user").json()["message"] == "Bad credentials"


def test_missing_user_agent_is_403(sb: Sandbox, gh: Api) -> None:
    gh.session.headers["User-Agent"] = ""
    response = gh.get("/user")
    assert response.status_code == 403 and "User-Agent header" in response.text


def test_transferred_issue_redirects_with_same_id(sb: Sandbox, gh: Api) -> None:
    seed_repo(sb, 3)
    sb.github.add_repo("acme/api")
    moved = sb.github.transfer_issue("acme/web", 2, "acme/api")
    api_id = gh.get("/repos/acme/api").json()["id"]
    response = gh.get("/repos/acme/web/issues/2", allow_redirects=False)
    assert response.status_code == 301  # to the id form, as GitHub answers (PyGithub's recordings)
    assert response.headers["Location"] == f"{sb.github_url}/repositories/{api_id}/issues/1"
    assert (
        response.json()["message"] == "Moved Permanently"
        and response.json()["url"] == response.headers["Location"]
    )
    followed = gh.get("/repos/acme/web/issues/2")
    assert followed.json()["id"] == moved["id"] and followed.json()["html_url"].endswith("acme/api/issues/1")
    assert 2 not in [item["number"] for item in gh.get("/repos/acme/web/issues").json()]


def test_deleted_unknown_and_disabled(sb: Sandbox, gh: Api) -> None:
    seed_repo(sb, 2)
    sb.github.delete_issue("acme/web", 1)
    deleted = gh.get("/repos/acme/web/issues/1")
    assert deleted.status_code == 410 and deleted.json()["message"] == "This issue was deleted"
    assert [item["number"] for item in gh.get("/repos/acme/web/issues").json()] == [2]
    assert gh.get("/repos/acme/web/issues/99").status_code == 404
    missing = gh.get("/repos/acme/nope/issues")
    assert missing.status_code == 404 and missing.json()["message"] == "Not Found"
    sb.github.set_issues_enabled("acme/web", False)
    for path in ("/repos/acme/web/issues", "/repos/acme/web/issues/2"):
        gone = gh.get(path)
        assert gone.status_code == 410 and gone.json()["message"] == "Issues are disabled for this repo"


def test_renamed_repository_redirects_keeping_the_query(sb: Sandbox, gh: Api) -> None:
    seed_repo(sb, 3)
    web_id = gh.get("/repos/acme/web").json()["id"]
    sb.github.rename_repo("acme/web", "acme/site")
    response = gh.get("/repos/acme/web/issues?state=all&per_page=2", allow_redirects=False)
    assert response.status_code == 301
    assert (
        response.headers["Location"] == f"{sb.github_url}/repositories/{web_id}/issues?state=all&per_page=2"
    )
    assert response.json() == {
        "message": "Moved Permanently",
        "url": response.headers["Location"],
        "documentation_url": response.json()["documentation_url"],
    }
    followed = gh.get("/repos/acme/web/issues?state=all&per_page=2")
    assert followed.status_code == 200 and followed.json()[0]["html_url"].startswith(
        "https://github.com/acme/site/"
    )


def test_enterprise_prefix(sb: Sandbox, gh: Api) -> None:
    seed_repo(sb, 3)
    response = gh.get("/api/v3/repos/acme/web/issues?per_page=2")
    assert response.status_code == 200
    assert response.json()[0]["url"].startswith(f"{sb.github_url}/api/v3/repos/acme/web/issues/")
    assert response.links["next"]["url"].startswith(f"{sb.github_url}/api/v3/repositories/")
    assert gh.get(response.links["next"]["url"]).status_code == 200
    assert sb.count("github", path=r"^/repos/acme/web/issues$") == 1


def test_primary_rate_limit_and_window_reset(clock: FakeClock) -> None:
    with Sandbox(clock=clock, github_hourly_limit=3) as sb:
        gh = github_client(sb)
        statuses = [gh.get("/user").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 403]
        spent = gh.get("/user")
        assert spent.headers["x-ratelimit-remaining"] == "0"
        assert spent.json()["message"].startswith("API rate limit exceeded")
        assert int(spent.headers["x-ratelimit-reset"]) == int(clock.now().timestamp()) + 3600
        assert gh.get("/rate_limit").json()["resources"]["core"]["remaining"] == 0
        clock.advance(3600)
        fresh = gh.get("/user")
        assert fresh.status_code == 200 and fresh.headers["x-ratelimit-remaining"] == "2"


def test_update_issue_state_changes(sb: Sandbox, clock: FakeClock) -> None:
    seed_repo(sb, 1)
    sb.github.create_issue("acme/web", "PR", pull_request=True)
    clock.advance(10)
    closed = sb.github.update_issue("acme/web", 1, state="closed")
    assert closed["closed_at"] == closed["updated_at"] and closed["state_reason"] == "completed"
    reopened = sb.github.update_issue("acme/web", 1, state="open")
    assert reopened["closed_at"] is None and reopened["state_reason"] == "reopened"
    merged = sb.github.update_issue("acme/web", 2, merged=True)
    assert merged["state"] == "closed" and merged["pull_request"]["merged_at"] == merged["closed_at"]
    before = sb.github.issue("acme/web", 1)["updated_at"]
    clock.advance(timedelta(minutes=5).total_seconds())
    assert sb.github.update_issue("acme/web", 1, labels=["bug"])["updated_at"] > before
