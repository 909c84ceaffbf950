"""GitHub's behaviour over real HTTP to the sandbox: ETags, rate limits, retries, moves, deletions, GHE."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import requests

from reconcile.clock import FakeClock
from reconcile.mirror import store
from reconcile.sandbox import Fault, Sandbox
from tests.conftest import World, cli

LISTING = r"^/repos/acme/[a-z]+/issues$"
SINGLE = r"^/repos/acme/[a-z]+/issues/\d+$"


def core_used(sandbox: Sandbox) -> int:
    """The primary budget spent so far (GET /rate_limit itself costs nothing)."""
    answer = requests.get(
        sandbox.github_url + "/rate_limit",
        headers={"Authorization": f"Bearer {sandbox.github_token}", "User-Agent": "test"},
        timeout=5,
    )
    return int(answer.json()["resources"]["core"]["used"])


def gone(world: World) -> dict[str, str]:
    ctx = world.context()
    try:
        with ctx.session() as session:
            return store.load_gone(session)
    finally:
        ctx.close()


def key_of(page: dict[str, Any]) -> str | None:
    return page["properties"]["GitHub URL"]["url"]


def github_waits(clock: FakeClock, start: int) -> list[float]:
    return clock.slept[start:]


# -- conditional requests ------------------------------------------------------------------------


def test_an_unchanged_repo_costs_one_304_that_spends_no_rate_limit(world: World) -> None:
    for n in range(3):
        world.issue(title=f"Web {n}")
        world.issue("acme/api", title=f"Api {n}")
    world.run()
    world.run()  # the first incremental listing: its URL (with `since`) gets an ETag
    used = core_used(world.sandbox)
    world.sandbox.reset_counts()

    result = world.run()

    assert result.status == "ok" and result.plan is not None and result.plan.writes == ()
    assert world.sandbox.count("github") == 2  # one request per repository ...
    assert world.sandbox.count("github", path=LISTING) == 2
    assert world.sandbox.count("github", status=304) == 2  # ... each a 304
    assert all("if-none-match" in r.headers for r in world.sandbox.requests if r.api == "github")
    assert core_used(world.sandbox) == used  # 304s do not count against the primary rate limit


def test_a_change_after_a_304_is_listed_again(world: World, clock: FakeClock) -> None:
    issue = world.issue(title="Quiet")
    world.run()
    world.run()
    clock.advance(300)
    world.sandbox.github.update_issue("acme/web", issue["number"], title="Loud")

    result = world.run()

    assert result.pulled.github == 1
    assert world.sandbox.count("github", path=r"^/repos/acme/web/issues$", status=200) == 3
    assert [op.action for op in result.plan.writes] == ["update"]  # type: ignore[union-attr]


# -- rate limits ---------------------------------------------------------------------------------


def test_a_primary_rate_limit_waits_until_the_reset_time(world: World, clock: FakeClock) -> None:
    world.issue(title="Later")
    world.sandbox.faults.add(
        Fault(
            api="github", kind="status", status=403, variant="primary", path=LISTING, times=1, retry_after=900
        )
    )
    before = len(clock.slept)

    result = world.run()

    assert result.status == "ok", result.error
    waits = github_waits(clock, before)
    assert any(900 <= wait <= 902 for wait in waits), waits
    limited, retried = [r for r in world.sandbox.requests if r.api == "github"][:2]
    assert limited.status == 403 and retried.status == 200
    assert (retried.time - limited.time).total_seconds() >= 900


def test_a_spent_budget_is_waited_out_before_the_next_request_not_after_a_403(
    clock: FakeClock, sqlite_url: str
) -> None:
    with Sandbox(clock=clock, github_hourly_limit=1) as sandbox:
        world = World(sandbox, sqlite_url, clock)
        world.issue(title="Web")
        world.issue("acme/api", title="Api")

        result = world.run()

        assert result.status == "ok", result.error
        assert sandbox.count("github", status=403) == 0
        assert any(wait >= 3600 for wait in clock.slept)  # until x-ratelimit-reset, then one second
        assert len(world.pages()) == 2


@pytest.mark.parametrize(
    ("status", "variant", "retry_after", "expected"),
    [
        (403, "secondary", 30, 30.0),
        (403, "secondary", None, 60.0),  # no retry-after, budget left: wait a minute
        (429, "secondary", 45, 45.0),
        (429, "primary", 120, 121.0),  # 429 with remaining 0: until the reset
    ],
)
def test_secondary_rate_limits_follow_githubs_order(
    world: World, clock: FakeClock, status: int, variant: str, retry_after: int | None, expected: float
) -> None:
    world.issue(title="Throttled")
    world.sandbox.faults.add(
        Fault(
            api="github",
            kind="status",
            status=status,
            variant=variant,
            path=LISTING,
            times=1,
            retry_after=retry_after,
        )
    )
    before = len(clock.slept)

    result = world.run()

    assert result.status == "ok", result.error
    waits = github_waits(clock, before)
    assert any(abs(wait - expected) <= 1 for wait in waits), waits
    assert world.sandbox.count("github", status=status) == 1 and len(world.pages()) == 1


def test_repeated_secondary_limits_back_off_further(world: World, clock: FakeClock) -> None:
    world.sandbox.faults.add(
        Fault(api="github", kind="status", status=403, variant="secondary", path=LISTING, times=3)
    )
    before = len(clock.slept)

    assert world.run().status == "ok"

    assert github_waits(clock, before)[:3] == [60.0, 120.0, 240.0]


# -- server errors and serial requests -----------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried(world: World, status: int) -> None:
    world.issue(title="Flaky")
    world.sandbox.faults.add(Fault(api="github", kind="status", status=status, path=LISTING, times=2))

    result = world.run()

    assert result.status == "ok", result.error
    assert world.sandbox.count("github", path=r"^/repos/acme/web/issues$") == 3
    assert len(world.pages()) == 1


def test_requests_are_made_one_at_a_time(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(5):
        world.issue(title=f"Web {n}")
    world.sandbox.faults.add(Fault(api="github", kind="slow", delay=0.05, times=4))
    dispatcher = world.sandbox._dispatcher
    serve = dispatcher.serve
    lock, state = threading.Lock(), {"now": 0, "most": 0}

    def counting(request: Any) -> Any:
        if request.api != "github":
            return serve(request)
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        try:
            return serve(request)
        finally:
            with lock:
                state["now"] -= 1

    monkeypatch.setattr(dispatcher, "serve", counting)

    assert world.run(full=True).status == "ok"
    assert world.sandbox.count("github") >= 2 and state["most"] == 1


# -- moved items ---------------------------------------------------------------------------------


def test_an_item_transferred_between_configured_repos_keeps_its_page(world: World, clock: FakeClock) -> None:
    issue = world.issue(title="Wanderer")
    world.run()
    page = world.page_for(issue["html_url"])
    clock.advance(120)
    moved = world.sandbox.github.transfer_issue("acme/web", issue["number"], "acme/api")

    result = world.run()

    assert result.status == "ok", result.error
    assert [op.action for op in result.plan.writes] == ["update"]  # type: ignore[union-attr]
    (now,) = world.pages()
    assert now["id"] == page["id"] and key_of(now) == moved["html_url"] != issue["html_url"]
    assert world.sandbox.count("github", path=SINGLE) == 0  # seen in the target repo's listing
    assert result.plan.orphans == ()  # type: ignore[union-attr]
    assert world.run().plan.writes == ()  # type: ignore[union-attr]


def test_a_full_run_follows_the_301_of_a_transferred_item_and_keeps_its_page(
    world: World, clock: FakeClock
) -> None:
    issue = world.issue(title="Wanderer")
    world.run()
    page = world.page_for(issue["html_url"])
    clock.advance(120)
    moved = world.sandbox.github.transfer_issue("acme/web", issue["number"], "acme/api")

    result = world.run(full=True)

    assert result.status == "ok", result.error
    assert world.sandbox.count("github", path=rf"^/repos/acme/web/issues/{issue['number']}$", status=301) == 1
    (now,) = world.pages()
    assert now["id"] == page["id"] and key_of(now) == moved["html_url"]
    assert result.plan.orphans == () and gone(world) == {}  # type: ignore[union-attr]
    assert world.run(full=True).plan.writes == ()  # type: ignore[union-attr]


def test_an_item_transferred_out_of_the_configured_repos_becomes_an_orphan_on_a_full_run(
    world: World, clock: FakeClock
) -> None:
    world.sandbox.github.add_repo("elsewhere/repo")
    issue = world.issue(title="Leaving")
    world.run()
    clock.advance(120)
    world.sandbox.github.transfer_issue("acme/web", issue["number"], "elsewhere/repo")

    incremental = world.run()
    full = world.run(full=True)

    assert incremental.plan is not None and incremental.plan.orphans == ()
    assert full.plan is not None
    (orphan,) = full.plan.orphans
    assert orphan.key == issue["html_url"] and "elsewhere/repo" in orphan.reason
    assert len(world.pages()) == 1  # reported, not archived


# -- deleted items -------------------------------------------------------------------------------


def test_a_deleted_item_is_an_orphan_only_after_a_full_pull(world: World, clock: FakeClock) -> None:
    keep = world.issue(title="Stays")
    doomed = world.issue(title="Goes")
    world.run()
    clock.advance(120)
    world.sandbox.github.delete_issue("acme/web", doomed["number"])

    incremental = world.run(apply__on_orphan="archive")

    assert incremental.plan is not None and incremental.plan.writes == () and gone(world) == {}
    full = world.run(full=True, apply__on_orphan="archive")

    assert full.status == "ok", full.error
    (op,) = full.plan.writes  # type: ignore[union-attr]
    assert op.action == "archive" and op.key == doomed["html_url"] and "deleted" in op.reason
    assert world.sandbox.count("github", path=rf"/issues/{doomed['number']}$", status=410) == 1
    assert [key_of(page) for page in world.pages()] == [keep["html_url"]]


def test_a_404_on_a_missing_item_makes_an_orphan_with_that_reason(world: World, clock: FakeClock) -> None:
    doomed = world.issue(title="Vanished")
    world.run()
    world.sandbox.github.delete_issue("acme/web", doomed["number"])
    world.sandbox.faults.add(
        Fault(api="github", kind="status", status=404, path=rf"^/repos/acme/web/issues/{doomed['number']}$")
    )

    full = world.run(full=True)

    (orphan,) = full.plan.orphans  # type: ignore[union-attr]
    assert orphan.key == doomed["html_url"] and "not found" in orphan.reason
    assert world.sandbox.count("github", path=SINGLE) == 1  # a 404 is an answer, not retried


@pytest.mark.parametrize("breakage", ["404", "revoked token", "server errors"])
def test_a_failing_listing_ends_the_run_naming_the_repo_and_takes_nothing_for_deleted(
    world: World, clock: FakeClock, breakage: str
) -> None:
    first = world.issue(title="One")
    world.issue("acme/api", title="Two")
    world.run()
    clock.advance(120)
    world.sandbox.github.delete_issue("acme/web", first["number"])
    if breakage == "revoked token":
        world.sandbox.github.revoke_token(world.sandbox.github_token)
    else:  # 404: the repository was deleted, or the token lost access to it
        status = 404 if breakage == "404" else 502
        world.sandbox.faults.add(
            Fault(api="github", kind="status", status=status, path=r"^/repos/acme/web/issues$")
        )
    world.sandbox.reset_counts()

    result = world.run(full=True, apply__on_orphan="archive")

    assert result.status == "failed" and result.plan is None
    assert "acme/web" in (result.error or "")
    assert gone(world) == {} and world.notion_writes() == 0
    listed = world.sandbox.count("github", path=r"^/repos/acme/web/issues$")
    assert listed == (6 if breakage == "server errors" else 1)  # 5xx retried; 401/404 answered once
    if breakage == "revoked token":
        assert "GITHUB_TOKEN" in (result.error or "") and world.sandbox.github_token not in (
            result.error or ""
        )


@pytest.mark.slow
def test_the_cli_exits_1_naming_a_repo_that_does_not_exist(
    sandbox: Sandbox, sqlite_url: str, tmp_path: Path
) -> None:
    world = World(sandbox, sqlite_url, sandbox.clock)
    world.issue(title="One")
    config = world.write_config(tmp_path / "config.yaml", github__repos=["acme/web", "acme/nope"])

    done = cli("run", "-c", str(config))

    assert done.returncode == 1
    assert "acme/nope" in done.stdout + done.stderr
    assert world.pages() == []


# -- GitHub Enterprise ---------------------------------------------------------------------------


def test_github_enterprise_api_urls_with_the_api_v3_prefix(world: World) -> None:
    issue = world.issue(title="On GHE")
    for n in range(120):  # more than a page: the Link header must keep the prefix too
        world.issue("acme/api", title=f"Bulk {n}")
    url = world.sandbox.github_url + "/api/v3"

    first = world.run(github__api_url=url)
    world.run(github__api_url=url)
    third = world.run(github__api_url=url)

    assert first.status == "ok", first.error
    assert first.pulled.github == 121 and len(world.pages()) == 121
    assert world.page_for(issue["html_url"])
    github = [r for r in world.sandbox.requests if r.api == "github"]
    assert github and all(r.prefix == "/api/v3" for r in github)
    assert world.sandbox.count("github", path=r"^/repositories/\d+/issues$") >= 1  # followed a Link
    assert third.plan is not None and third.plan.writes == ()
