"""Notion's failure modes over real HTTP to the sandbox: pacing, retries, error classes, ambiguous writes."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconcile.clock import FakeClock
from reconcile.jobs.context import Context
from reconcile.jobs.pull import pull
from reconcile.jobs.run import RunResult, execute, pull_step
from reconcile.mirror import store
from reconcile.sandbox import Fault, Sandbox
from tests.conftest import World, cli

QUERY = r"/query$"
PAGES = r"^/v1/pages$"


def url_of(page: dict[str, Any]) -> str | None:
    return page["properties"]["GitHub URL"]["url"]


def title_of(page: dict[str, Any]) -> str:
    return "".join(part["plain_text"] for part in page["properties"]["Name"]["title"])


def run_with(ctx: Context, **kwargs: Any) -> RunResult:
    """A run on a context the test keeps (to look at its clients afterwards)."""
    try:
        return execute(ctx, "run", pull_step(**kwargs))
    finally:
        ctx.close()


@pytest.fixture
def warnings() -> Iterator[list[logging.LogRecord]]:
    """Warnings of the `reconcile` loggers (which may not propagate to the root logger)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("reconcile")
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


# -- 429 and the pacer ---------------------------------------------------------------------------


def test_a_429_with_a_long_retry_after_is_waited_in_full_logged_and_slows_the_pacer(
    world: World, clock: FakeClock, warnings: list[logging.LogRecord]
) -> None:
    world.issue(title="Patience")
    world.sandbox.faults.add(
        Fault(api="notion", kind="status", status=429, method="POST", path=QUERY, times=1, retry_after=150)
    )
    ctx = world.context(notion__requests_per_second=3)

    result = run_with(ctx)

    assert result.status == "ok", result.error
    assert 150.0 in clock.slept  # the full Retry-After, not capped at a minute
    assert any("429" in r.getMessage() and "150.0 s" in r.getMessage() for r in warnings)
    pacer = ctx.notion.transport.pacer
    assert pacer is not None and pacer.rate < 3  # slowed down after the rate limit
    assert world.sandbox.count("notion", status=429) == 1
    assert len(world.pages()) == 1


def test_after_a_429_the_next_requests_are_spaced_wider(world: World, clock: FakeClock) -> None:
    for n in range(4):
        world.issue(title=f"Spaced {n}")
    world.sandbox.faults.add(
        Fault(api="notion", kind="status", status=429, method="POST", path=QUERY, times=1, retry_after=2)
    )

    result = world.run(notion__requests_per_second=3)

    assert result.status == "ok", result.error
    after = clock.slept[clock.slept.index(2.0) + 1 :]
    assert after and max(after) >= 1 / 1.5 - 1e-9  # at half the configured 3/s at least once
    assert len(world.pages()) == 4


# -- retried: 409, 5xx, 529, resets, read timeouts -----------------------------------------------


@pytest.mark.parametrize("status", [409, 500, 502, 503, 504, 529])
def test_retryable_statuses_on_a_query_are_retried_and_the_run_succeeds(world: World, status: int) -> None:
    world.issue(title="Retry me")
    world.sandbox.faults.add(Fault(api="notion", kind="status", status=status, path=QUERY, times=2))

    result = world.run()

    assert result.status == "ok", result.error
    assert world.sandbox.count("notion", path=QUERY, status=status) == 2
    assert world.sandbox.count("notion", path=QUERY, status=200) == 1
    assert len(world.pages()) == 1


@pytest.mark.parametrize("status", [409, 502, 503, 529])
def test_retryable_statuses_on_an_update_are_retried(world: World, clock: FakeClock, status: int) -> None:
    issue = world.issue(title="Before")
    world.run()
    clock.advance(120)
    world.sandbox.github.update_issue("acme/web", issue["number"], title="After")
    world.sandbox.faults.add(Fault(api="notion", kind="status", status=status, method="PATCH", times=2))

    result = world.run()

    assert result.status == "ok" and result.applied.applied == 1, result.error
    assert world.sandbox.count("notion", method="PATCH") == 3
    assert title_of(world.page_for(issue["html_url"])) == "After"


def test_retries_are_bounded(world: World) -> None:
    world.issue(title="Never")
    world.sandbox.faults.add(Fault(api="notion", kind="status", status=503, path=QUERY))

    result = world.run()

    assert result.status == "failed"
    assert "503" in (result.error or "")
    assert world.sandbox.count("notion", path=QUERY) == 6  # Retry.attempts, then it gives up
    assert world.pages() == []


def test_connection_resets_on_a_read_are_retried(world: World) -> None:
    world.issue(title="Reset")
    world.sandbox.faults.add(Fault(api="notion", kind="reset", path=QUERY, times=2))

    result = world.run()

    assert result.status == "ok", result.error
    dropped = [r for r in world.sandbox.requests if r.path.endswith("/query") and r.status is None]
    assert len(dropped) == 2 and world.sandbox.count("notion", path=QUERY, status=200) == 1
    assert len(world.pages()) == 1


def test_a_read_timeout_on_a_query_is_retried(world: World) -> None:
    world.issue(title="Slow")
    world.sandbox.faults.add(Fault(api="notion", kind="slow", delay=0.6, path=QUERY, times=1))

    result = world.run(notion__timeout_seconds=0.3)

    assert result.status == "ok", result.error
    assert world.sandbox.drain()
    assert world.sandbox.count("notion", path=QUERY) == 2
    assert len(world.pages()) == 1


def test_a_read_timeout_on_an_update_is_retried(world: World, clock: FakeClock) -> None:
    issue = world.issue(title="Before")
    world.run()
    clock.advance(120)
    world.sandbox.github.update_issue("acme/web", issue["number"], title="After")
    world.sandbox.faults.add(Fault(api="notion", kind="slow", delay=0.6, method="PATCH", times=1))

    result = world.run(notion__timeout_seconds=0.3)

    assert result.status == "ok", result.error
    assert world.sandbox.drain()
    assert world.sandbox.count("notion", method="PATCH") == 2
    assert title_of(world.page_for(issue["html_url"])) == "After"


# -- never retried: 400, 401, 403, 404 -----------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "says"),
    [
        (400, "validation_error"),
        (401, "NOTION_API_KEY"),
        (403, "share the database with the integration"),
        (404, "share the database with the integration"),
    ],
)
def test_client_errors_on_the_query_are_not_retried_and_end_the_run(
    world: World, status: int, says: str
) -> None:
    world.issue(title="No")
    world.sandbox.faults.add(Fault(api="notion", kind="status", status=status, path=QUERY))

    result = world.run()

    assert result.status == "failed"
    assert says in (result.error or "")
    assert world.sandbox.count("notion") == 1
    assert world.pages() == []


@pytest.mark.parametrize("status", [400, 403])
def test_client_errors_on_an_update_fail_that_operation_once(
    world: World, clock: FakeClock, status: int
) -> None:
    first = world.issue(title="One")
    second = world.issue(title="Two")
    world.run()
    clock.advance(120)
    for issue in (first, second):
        world.sandbox.github.update_issue("acme/web", issue["number"], title=issue["title"] + "!")
    world.sandbox.faults.add(Fault(api="notion", kind="status", status=status, method="PATCH", times=1))

    result = world.run()

    assert result.status == "partial"
    assert (result.applied.applied, result.applied.failed) == (1, 1)
    assert str(status) in result.applied.failures[0].error
    assert world.sandbox.count("notion", method="PATCH") == 2  # one each, the failed one not retried
    titles = sorted(title_of(page) for page in world.pages())
    assert titles in (["One", "Two!"], ["One!", "Two"])


def test_a_value_notion_refuses_on_a_create_is_left_out_and_reported_and_the_page_is_made(
    world: World, clock: FakeClock
) -> None:
    for n in range(3):
        world.issue(title=f"Item {n}")
    message = "body failed validation: body.properties.Name.title[0].text.content.length should be ≤ `2000`"
    world.sandbox.faults.add(
        Fault(api="notion", kind="status", status=400, method="POST", path=PAGES, times=1, message=message)
    )

    result = world.run()

    assert result.status == "partial"  # exit 3: the refused value is named
    assert (result.applied.applied, result.applied.failed) == (3, 0)
    (refusal,) = result.applied.refused
    assert refusal.property == "Name" and message in refusal.error
    assert world.sandbox.count("notion", method="POST", path=PAGES) == 4  # the refused one, sent again
    assert len(world.pages()) == 3 and sorted(title_of(p) for p in world.pages()).count("") <= 1
    clock.advance(120)
    again = world.run()  # the next run writes the title the refusal left out
    assert again.status == "ok" and sorted(title_of(p) for p in world.pages()) == [
        "Item 0",
        "Item 1",
        "Item 2",
    ]


def test_a_revoked_token_ends_the_run_with_a_message_naming_the_variable_not_the_token(world: World) -> None:
    world.issue(title="Locked out")
    token = world.sandbox.notion_token
    world.sandbox.notion.revoke_token(token)

    result = world.run()

    assert result.status == "failed"
    assert "NOTION_API_KEY" in (result.error or "") and "401" in (result.error or "")
    assert token not in (result.error or "") and token not in str(result.as_json())
    assert world.sandbox.count("notion") == 1


def test_an_unshared_database_ends_the_run_with_the_sharing_hint(world: World) -> None:
    world.issue(title="Hidden")
    world.sandbox.notion.unshare(world.database_id, world.sandbox.notion_token)

    result = world.run()

    assert result.status == "failed"
    assert "share the database with the integration" in (result.error or "")
    assert world.database_id in (result.error or "")
    assert world.sandbox.count("notion") == 1


@pytest.mark.slow
def test_the_cli_exits_1_for_an_unshared_database_and_3_for_one_rejected_page(
    sandbox: Sandbox, sqlite_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    world = World(sandbox, sqlite_url, clock)
    world.issue(title="First")
    world.issue(title="Second")
    config = world.write_config(tmp_path / "config.yaml")
    world.sandbox.notion.unshare(world.database_id, world.sandbox.notion_token)

    unshared = cli("run", "-c", str(config))

    assert unshared.returncode == 1, unshared.stderr
    assert "share the database with the integration" in unshared.stdout + unshared.stderr
    world.sandbox.notion.share(world.database_id, world.sandbox.notion_token)
    world.sandbox.faults.add(
        Fault(api="notion", kind="status", status=400, method="POST", path=PAGES, times=1)
    )

    partial = cli("run", "-c", str(config), "--format", "json")

    assert partial.returncode == 3, partial.stderr
    assert '"failed": 1' in partial.stdout and "Injected validation error" in partial.stdout
    assert len(world.pages()) == 1


# -- ambiguous creates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        Fault(api="notion", kind="lost_response", method="POST", path=PAGES, times=1),
        Fault(api="notion", kind="reset", method="POST", path=PAGES, times=1),
        Fault(api="notion", kind="status", status=500, method="POST", path=PAGES, times=1),
        Fault(api="notion", kind="status", status=502, method="POST", path=PAGES, times=1),
        Fault(api="notion", kind="status", status=503, method="POST", path=PAGES, times=1),
        Fault(api="notion", kind="status", status=504, method="POST", path=PAGES, times=1),
    ],
    ids=["lost_response", "reset", "500", "502", "503", "504"],
)
def test_an_ambiguous_create_is_looked_up_before_it_is_sent_again(world: World, fault: Fault) -> None:
    issue = world.issue(title="Exactly once")
    world.sandbox.faults.add(fault)

    result = world.run()

    assert result.status == "ok", result.error
    pages = world.pages()
    assert [url_of(page) for page in pages] == [issue["html_url"]]
    done = world.sandbox.writes("notion")
    posts = world.sandbox.count("notion", method="POST", path=PAGES)
    assert done == 1 and posts == (1 if fault.kind == "lost_response" else 2)
    lookups = [r for r in world.sandbox.requests if r.path.endswith("/query") and "url" in str(r.body)]
    assert lookups, "the key was not looked up before re-sending"
    assert world.run().plan.writes == ()  # type: ignore[union-attr]


def test_a_timed_out_create_is_left_to_the_next_run_which_finds_it(world: World) -> None:
    issue = world.issue(title="Slowly")
    world.sandbox.faults.add(Fault(api="notion", kind="slow", delay=0.6, method="POST", path=PAGES, times=1))

    first = world.run(notion__timeout_seconds=0.3)

    assert first.status == "partial" and first.applied.failed == 1
    assert world.sandbox.drain()  # the gap between two cron runs: the slow create lands
    second = world.run(notion__timeout_seconds=0.3)

    assert second.status == "ok", second.error
    assert second.recovery is not None and second.recovery.resolved == [issue["html_url"]]
    assert [url_of(page) for page in world.pages()] == [issue["html_url"]]
    assert world.sandbox.count("notion", method="POST", path=PAGES) == 1
    assert world.run().plan.writes == ()  # type: ignore[union-attr]


# -- a page deleted or trashed under an update ---------------------------------------------------


@pytest.mark.parametrize("how", ["trash", "delete"])
def test_an_update_that_hits_a_trashed_or_deleted_page_recreates_it(
    world: World, clock: FakeClock, how: str
) -> None:
    world.overrides["notion__sweep_every"] = "1d"  # this is the path when no sweep is due
    issue = world.issue(title="Before")
    world.run()
    old = world.page_for(issue["html_url"])
    (world.sandbox.notion.trash_page if how == "trash" else world.sandbox.notion.delete_page)(old["id"])
    clock.advance(120)
    world.sandbox.github.update_issue("acme/web", issue["number"], title="After")

    result = world.run()

    assert result.status == "ok", result.error
    assert [op.action for op in result.plan.writes] == ["update"]  # type: ignore[union-attr]
    assert world.sandbox.count("notion", method="PATCH") == 1  # not retried
    new = world.page_for(issue["html_url"])
    assert new["id"] != old["id"] and title_of(new) == "After"
    assert links(world)[int(issue["id"])] == new["id"]
    assert world.run().plan.writes == ()  # type: ignore[union-attr]


def test_on_deleted_page_restore_takes_a_trashed_page_out_of_the_trash(
    world: World, clock: FakeClock
) -> None:
    issue = world.issue(title="Before")
    world.run()
    old = world.page_for(issue["html_url"])
    world.sandbox.notion.trash_page(old["id"])
    clock.advance(120)
    world.sandbox.github.update_issue("acme/web", issue["number"], title="After")

    result = world.run(apply__on_deleted_page="restore")

    assert result.status == "ok", result.error
    page = world.page_for(issue["html_url"])
    assert page["id"] == old["id"] and title_of(page) == "After"
    assert len(world.pages(include_trashed=True)) == 1


def test_on_deleted_page_ignore_makes_no_new_page(world: World, clock: FakeClock) -> None:
    world.overrides["notion__sweep_every"] = "1d"  # this is the path when no sweep is due
    issue = world.issue(title="Before")
    world.run()
    world.sandbox.notion.delete_page(world.page_for(issue["html_url"])["id"])
    clock.advance(120)
    world.sandbox.github.update_issue("acme/web", issue["number"], title="After")

    result = world.run(apply__on_deleted_page="ignore")
    again = world.run(apply__on_deleted_page="ignore")

    assert result.status == "ok" and result.applied.applied == 0, result.error
    assert world.sandbox.count("notion", method="PATCH") == 1
    assert again.plan is not None and again.plan.writes == ()
    assert world.pages() == [] and world.sandbox.count("notion", method="POST", path=PAGES) == 1


# -- full scans past the query cap ---------------------------------------------------------------


@pytest.mark.parametrize("version", ["2022-06-28", "2025-09-03"])
def test_a_full_scan_beyond_the_query_cap_is_windowed_and_sees_every_page_once(
    mirror_url: str, clock: FakeClock, version: str
) -> None:
    with Sandbox(clock=clock, notion_query_cap=25) as sandbox:
        world = World(sandbox, mirror_url, clock, version=version)
        issues = [world.issue(title=f"Item {n}") for n in range(80)]
        for issue in issues:  # pages made by hand over 80 minutes, each carrying its item's key
            sandbox.notion.human_create(
                world.database_id,
                {
                    "Name": {"title": [{"text": {"content": issue["title"]}}]},
                    "GitHub URL": {"url": issue["html_url"]},
                },
            )
            clock.advance(60)
        ctx = world.context(query_limit=25)
        try:
            pulled = pull(ctx, full=True)
            with ctx.session() as session:
                mirrored = store.load_pages(session, world.database_id)
        finally:
            ctx.close()

        assert pulled.notion == 80
        assert {page.key for page in mirrored.values()} == {issue["html_url"] for issue in issues}
        assert sandbox.count("notion", path=QUERY) >= 4  # 80 pages cannot come back in 3 windows of 25
        result = world.run(dry_run=True, query_limit=25, full=True)
        assert result.plan is not None and result.plan.summary()["create"] == 0


def test_an_incremental_scan_beyond_the_query_cap_is_windowed_too(mirror_url: str, clock: FakeClock) -> None:
    with Sandbox(clock=clock, notion_query_cap=10) as sandbox:
        world = World(sandbox, mirror_url, clock)
        # all 30 pages are made in one minute: more than a capped query lists by created_time (a sweep
        # would say so and fail); the incremental scan is what this test is about
        world.overrides["notion__sweep_every"] = "1d"
        for n in range(30):
            world.issue(title=f"Item {n}")
        assert world.run().status == "ok"
        clock.advance(600)
        for page in world.pages():  # 30 human edits over 30 minutes, after the cursor
            sandbox.notion.human_edit(page["id"], {"Notes": {"rich_text": [{"text": {"content": "x"}}]}})
            clock.advance(60)
        sandbox.reset_counts()

        result = world.run(query_limit=10)

        assert result.status == "ok", result.error
        assert result.pulled.notion == 30
        assert sandbox.count("notion", path=QUERY) >= 3


# -- helpers -------------------------------------------------------------------------------------


def links(world: World) -> dict[int, str]:
    """The mirror's item id -> page id links."""
    ctx = world.context()
    try:
        with ctx.session() as session:
            return store.load_links(session, world.database_id)
    finally:
        ctx.close()


def test_a_conflict_on_a_write_is_retried_after_re_reading_the_page(world: World, clock: FakeClock) -> None:
    issue = world.issue(title="Before")
    world.run()
    page_id = world.page_for(issue["html_url"])["id"]
    clock.advance(120)
    world.sandbox.github.update_issue("acme/web", issue["number"], title="After")
    world.sandbox.faults.add(Fault(api="notion", kind="status", status=409, method="PATCH", times=2))
    world.sandbox.reset_counts()

    result = world.run()

    assert result.status == "ok" and result.applied.applied == 1, result.error
    calls = [
        (r.method, r.status)
        for r in world.sandbox.requests
        if r.path.endswith(page_id.replace("-", "")) or r.path.endswith(page_id)
    ]
    assert calls == [("PATCH", 409), ("GET", 200), ("PATCH", 409), ("GET", 200), ("PATCH", 200)]


def test_a_conflict_on_a_create_looks_the_key_up_before_trying_again(world: World) -> None:
    issue = world.issue(title="Once")
    world.sandbox.faults.add(
        Fault(api="notion", kind="status", status=409, method="POST", path=PAGES, times=1)
    )

    result = world.run()

    assert result.status == "ok", result.error
    assert world.sandbox.count("notion", method="POST", path=PAGES) == 2
    assert world.sandbox.count("notion", path=QUERY) == 2  # the pull, then the key lookup
    assert len(world.pages_by_key()[issue["html_url"]]) == 1
