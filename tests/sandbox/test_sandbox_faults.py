"""Fault injection, Notion rate limiting on the shared clock, and the request log."""

from __future__ import annotations

import time

import pytest
import requests
from sandbox_helpers import Api, github_client, notion_client, page_body

from reconcile.clock import FakeClock
from reconcile.sandbox import Fault, Sandbox


def test_status_fault_with_retry_after_then_ok(sb: Sandbox, notion: Api, db: str) -> None:
    sb.faults.add(
        Fault(
            api="notion",
            kind="status",
            status=429,
            method="POST",
            path=r"^/v1/pages$",
            times=2,
            retry_after=120,
        )
    )
    answers = [notion.post("/v1/pages", page_body(db, "x")) for _ in range(3)]
    assert [a.status_code for a in answers] == [429, 429, 200]
    assert answers[0].headers["Retry-After"] == "120"
    assert answers[0].json()["code"] == "rate_limited" and answers[0].json()["object"] == "error"
    assert len(sb.notion.pages(db)) == 1 and sb.writes("notion") == 1
    assert sb.count("notion", status=429) == 2 and sb.requests[0].fault == "status"


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (409, "conflict_error"),
        (500, "internal_server_error"),
        (503, "service_unavailable"),
        (529, "service_overload"),
    ],
)
def test_notion_status_faults_use_real_codes(sb: Sandbox, notion: Api, status: int, code: str) -> None:
    sb.faults.add(Fault(api="notion", kind="status", status=status, times=1))
    response = notion.get("/v1/users/me")
    assert response.status_code == status and response.json()["code"] == code
    assert ("Retry-After" in response.headers) == (status == 529)


def test_github_rate_limit_variants(sb: Sandbox, gh: Api) -> None:
    sb.faults.add(Fault(api="github", kind="status", status=403, variant="primary", times=1, retry_after=90))
    sb.faults.add(Fault(api="github", kind="status", status=403, variant="secondary", times=1))
    sb.faults.add(
        Fault(api="github", kind="status", status=403, variant="secondary", times=1, retry_after=30)
    )
    primary, secondary, secondary_after = (gh.get("/user") for _ in range(3))
    assert primary.status_code == 403 and primary.headers["x-ratelimit-remaining"] == "0"
    assert int(primary.headers["x-ratelimit-reset"]) == int(sb.clock.now().timestamp()) + 90
    assert secondary.json()["message"].startswith("You have exceeded a secondary rate limit")
    assert "retry-after" not in secondary.headers and secondary_after.headers["retry-after"] == "30"
    assert gh.get("/user").status_code == 200


def test_faults_come_before_auth(sb: Sandbox) -> None:
    sb.faults.add(Fault(api="github", kind="status", status=502, times=1))
    assert github_client(sb, "ghp_bad").get("/user").status_code == 502


def test_slow_fault_triggers_client_timeout(sb: Sandbox, gh: Api) -> None:
    sb.faults.add(Fault(api="github", kind="slow", delay=0.5, path=r"^/user$", times=1))
    with pytest.raises(requests.exceptions.ReadTimeout):
        gh.session.get(gh.base + "/user", timeout=0.1)
    assert gh.get("/user").status_code == 200


def test_stop_interrupts_a_slow_fault(clock: FakeClock) -> None:
    sb = Sandbox(clock=clock).start()
    sb.faults.add(Fault(api="github", kind="slow", delay=30))
    gh = github_client(sb)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.RequestException):
        gh.session.get(gh.base + "/user", timeout=0.2)
    sb.stop()
    assert time.monotonic() - started < 5


def test_reset_drops_the_connection_before_processing(sb: Sandbox, notion: Api, db: str) -> None:
    sb.faults.add(Fault(api="notion", kind="reset", method="POST", path=r"^/v1/pages$", times=1))
    with pytest.raises(requests.exceptions.ConnectionError):
        notion.post("/v1/pages", page_body(db, "x"))
    assert sb.notion.pages(db) == [] and sb.writes("notion") == 0
    record = sb.requests[-1]
    assert record.status is None and record.fault == "reset"


def test_lost_response_writes_but_the_client_never_hears(sb: Sandbox, notion: Api, db: str) -> None:
    sb.faults.add(Fault(api="notion", kind="lost_response", method="POST", path=r"^/v1/pages$", times=1))
    with pytest.raises(requests.exceptions.ConnectionError):
        notion.post("/v1/pages", page_body(db, "x"))
    assert len(sb.notion.pages(db)) == 1 and sb.writes("notion") == 1
    assert sb.requests[-1].status is None and sb.requests[-1].fault == "lost_response"
    assert notion.post("/v1/pages", page_body(db, "y")).status_code == 200


def test_probabilistic_faults_are_seeded(clock: FakeClock) -> None:
    def pattern(seed: int) -> list[int]:
        with Sandbox(clock=clock, seed=seed) as sb:
            sb.faults.add(Fault(api="notion", kind="status", status=500, probability=0.5))
            client = notion_client(sb)
            return [client.get("/v1/users/me").status_code for _ in range(20)]

    first = pattern(7)
    assert first == pattern(7) and {500, 200} <= set(first)
    assert first != pattern(8)


def test_notion_rate_limit_on_the_shared_clock(clock: FakeClock) -> None:
    with Sandbox(clock=clock, notion_rps=1, notion_burst=2) as sb:
        client = notion_client(sb)
        statuses = [client.get("/v1/users/me").status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        limited = client.get("/v1/users/me")
        assert limited.json()["code"] == "rate_limited" and int(limited.headers["Retry-After"]) >= 1
        clock.advance(int(limited.headers["Retry-After"]))
        assert client.get("/v1/users/me").status_code == 200
        assert sb.count("notion", status=429) == 2 and sb.count("notion") == 5


def test_request_log_counts_and_redacts(sb: Sandbox, notion: Api, gh: Api, db: str) -> None:
    notion.post("/v1/pages", page_body(db, "x"))
    notion.post(f"/v1/databases/{db}/query", {"page_size": 5})
    gh.get("/rate_limit", params={"x": "1"})
    record = sb.requests[0]
    assert record.headers["authorization"] == "REDACTED" and sb.notion_token not in str(sb.requests)
    assert record.body["parent"] == {"database_id": db} and record.time == sb.clock.now()
    assert sb.requests[-1].query == {"x": "1"}
    assert sb.count("notion") == 2 and sb.count("notion", method="POST", path=r"/query$") == 1
    assert sb.count(status=200) == 3 and sb.writes("notion") == 1  # a query is not a write
    sb.reset_counts()
    assert sb.count() == 0 and sb.requests == []


def test_fault_rules_validate_their_arguments() -> None:
    with pytest.raises(ValueError):
        Fault(api="jira", kind="status", status=500)
    with pytest.raises(ValueError):
        Fault(api="notion", kind="status")
    with pytest.raises(ValueError):
        Fault(api="notion", kind="slow", probability=2)
