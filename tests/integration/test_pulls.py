"""Pulls: --full finds deletions on both sides, backfills leave the cursors alone, cursors move last."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from reconcile.clock import FakeClock
from reconcile.jobs.pull import github_stream
from reconcile.jobs.run import RunResult, execute, pull_step
from reconcile.mirror import store
from reconcile.sandbox import Fault, Sandbox
from tests.conftest import World, cli

Cursor = tuple[Any, ...]


def cursors(world: World) -> dict[str, Cursor]:
    """Every saved cursor, all its columns."""
    ctx = world.context()
    try:
        with ctx.session() as session:
            streams = {
                f"github:{repo}": github_stream(world.database_id, repo) for repo in ("acme/web", "acme/api")
            }
            streams[f"notion:{world.database_id}"] = f"notion:{world.database_id}"
            found = {name: store.get_cursor(session, stream) for name, stream in streams.items()}
            return {
                stream: (row.value, row.etag, row.etag_url, row.full_at, row.updated_at)
                for stream, row in found.items()
                if row is not None
            }
    finally:
        ctx.close()


def backfill(world: World, since: datetime, until: datetime | None = None) -> RunResult:
    ctx = world.context()
    try:
        return execute(ctx, "backfill", pull_step(since=since, until=until))
    finally:
        ctx.close()


def title_of(page: dict[str, Any]) -> str:
    return "".join(part["plain_text"] for part in page["properties"]["Name"]["title"])


def key_of(page: dict[str, Any]) -> str | None:
    return page["properties"]["GitHub URL"]["url"]


# -- run --full ----------------------------------------------------------------------------------


def test_a_full_run_detects_deletions_on_both_sides(world: World, clock: FakeClock) -> None:
    world.overrides["notion__sweep_every"] = "1d"  # the scheduled sweep and resync are not due yet
    trashed = world.issue(title="Page trashed")
    erased = world.issue(title="Page deleted")
    doomed = world.issue("acme/api", title="Issue deleted")
    world.run()
    world.sandbox.notion.trash_page(world.page_for(trashed["html_url"])["id"])
    world.sandbox.notion.delete_page(world.page_for(erased["html_url"])["id"])
    world.sandbox.github.delete_issue("acme/api", doomed["number"])
    clock.advance(120)

    incremental = world.run()
    full = world.run(full=True)

    assert incremental.plan is not None and incremental.plan.writes == () and incremental.plan.orphans == ()
    assert full.status == "ok", full.error
    ops = sorted((op.action, op.key) for op in full.plan.writes)  # type: ignore[union-attr]
    assert ops == sorted([("recreate", trashed["html_url"]), ("recreate", erased["html_url"])])
    assert [(o.key, "deleted" in o.reason) for o in full.plan.orphans] == [  # type: ignore[union-attr]
        (doomed["html_url"], True)
    ]
    live = {key_of(page): title_of(page) for page in world.pages()}
    assert live == {
        trashed["html_url"]: "Page trashed",
        erased["html_url"]: "Page deleted",
        doomed["html_url"]: "Issue deleted",  # an orphan is reported, not archived
    }
    again = world.run(full=True)
    assert again.plan is not None and again.plan.writes == ()


def test_a_full_run_sees_a_page_put_back_from_the_trash_by_hand(world: World, clock: FakeClock) -> None:
    issue = world.issue(title="Back again")
    world.run()
    page = world.page_for(issue["html_url"])
    world.sandbox.notion.trash_page(page["id"])
    world.run(full=True)  # recreated
    world.sandbox.notion.restore_page(page["id"])  # now two live pages carry the key
    clock.advance(120)

    result = world.run(full=True)

    assert result.status == "ok", result.error
    assert result.plan is not None and result.plan.writes == ()  # the newer, linked page stays the one
    assert len(world.pages_by_key()[issue["html_url"]]) == 2


# -- backfill ------------------------------------------------------------------------------------


def test_a_backfill_re_reads_its_window_and_leaves_the_cursors_alone(world: World, clock: FakeClock) -> None:
    early = world.issue(title="Early")
    late = world.issue(title="Late")
    world.run()
    world.run()
    saved = cursors(world)
    assert len(saved) == 3
    clock.advance(3600)
    window_start = clock.now()
    world.sandbox.github.update_issue("acme/web", early["number"], title="Early, edited")
    clock.advance(3600)
    window_end = clock.now()
    clock.advance(3600)
    world.sandbox.github.update_issue("acme/web", late["number"], title="Late, edited")
    world.sandbox.reset_counts()

    result = backfill(world, window_start - timedelta(minutes=5), window_end)

    assert result.status == "ok", result.error
    assert cursors(world) == saved
    assert title_of(world.page_for(early["html_url"])) == "Early, edited"
    assert title_of(world.page_for(late["html_url"])) == "Late"  # edited after --until
    listing = next(r for r in world.sandbox.requests if r.api == "github")
    assert listing.query["since"] == (window_start - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "if-none-match" not in listing.headers  # a backfill never trusts an ETag
    query = next(r for r in world.sandbox.requests if r.path.endswith("/query"))
    assert "on_or_after" in str(query.body) and "on_or_before" in str(query.body)
    after = world.run()
    assert title_of(world.page_for(late["html_url"])) == "Late, edited"
    assert after.plan is not None and [op.key for op in after.plan.writes] == [late["html_url"]]


@pytest.mark.slow
def test_the_backfill_command_leaves_the_cursors_alone(
    sandbox: Sandbox, sqlite_url: str, tmp_path: Path
) -> None:
    world = World(sandbox, sqlite_url, sandbox.clock)
    issue = world.issue(title="Old")
    world.run()
    saved = cursors(world)
    sandbox.clock.advance(600)  # type: ignore[attr-defined]
    world.sandbox.github.update_issue("acme/web", issue["number"], title="New")
    config = world.write_config(tmp_path / "config.yaml")

    done = cli("backfill", "-c", str(config), "--since", "2026-01-10T11:00:00Z", "--format", "json")

    assert done.returncode == 0, done.stderr
    assert '"applied": 1' in done.stdout
    assert cursors(world) == saved
    assert title_of(world.page_for(issue["html_url"])) == "New"


# -- cursors move only after the whole stream is stored ------------------------------------------


def test_a_github_listing_that_fails_on_page_two_leaves_the_cursor_and_the_next_run_converges(
    world: World, clock: FakeClock
) -> None:
    issues = [world.issue(title=f"Item {n}") for n in range(105)]
    assert world.run().status == "ok"
    clock.advance(600)
    for issue in issues[-3:]:  # sorted by update, these come last: on the listing's second page
        world.sandbox.github.update_issue("acme/web", issue["number"], title=issue["title"] + " (new)")
    saved = cursors(world)
    world.sandbox.reset_counts()
    world.sandbox.faults.add(
        Fault(api="github", kind="status", status=502, path=r"^/repositories/\d+/issues$")
    )

    failed = world.run()

    assert failed.status == "failed" and "acme/web" in (failed.error or "")
    assert world.sandbox.count("github", path=r"^/repositories/\d+/issues$") == 6
    assert cursors(world)["github:acme/web"] == saved["github:acme/web"]  # the Notion stream completed first
    world.sandbox.faults.clear()
    converged = world.run()

    assert converged.status == "ok", converged.error
    assert converged.plan is not None and len(converged.plan.writes) == 3
    assert sum(title_of(page).endswith("(new)") for page in world.pages()) == 3
    assert cursors(world)["github:acme/web"] != saved["github:acme/web"]
    assert world.run().plan.writes == ()  # type: ignore[union-attr]


def test_a_first_listing_that_fails_midway_saves_no_cursor(world: World) -> None:
    for n in range(105):
        world.issue(title=f"Item {n}")
    world.sandbox.faults.add(
        Fault(api="github", kind="status", status=500, path=r"^/repositories/\d+/issues$")
    )

    assert world.run().status == "failed"
    assert [stream for stream in cursors(world) if stream.startswith("github:")] == []
    world.sandbox.faults.clear()
    assert world.run().status == "ok"
    assert len(world.pages()) == 105


def test_a_notion_scan_that_fails_on_its_second_page_leaves_the_notion_cursor(
    world: World, clock: FakeClock
) -> None:
    for n in range(105):
        world.issue(title=f"Item {n}")
    first = world.run()
    assert first.status == "ok", first.error
    clock.advance(60)
    stream = f"notion:{world.database_id}"
    saved = cursors(world)[stream]
    # the next scan re-reads the 105 pages just written (two answers); the second one fails
    world.sandbox.faults.add(Fault(api="notion", kind="status", status=500, path=r"/query$", after=1))

    failed = world.run()

    assert failed.status == "failed", failed.as_json()
    assert world.sandbox.count("notion", path=r"/query$", status=500) == 6
    assert cursors(world)[stream] == saved
    world.sandbox.faults.clear()
    converged = world.run()
    assert converged.status == "ok", converged.error
    assert cursors(world)[stream] != saved
    assert converged.pulled.notion == 105 and len(world.pages()) == 105


# -- a renamed repository -----------------------------------------------------------------------


def test_a_renamed_repo_is_followed_and_nothing_is_taken_for_deleted(
    world: World, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    issue = world.issue(title="Home")
    world.run()
    page = world.page_for(issue["html_url"])
    clock.advance(120)
    world.sandbox.github.rename_repo("acme/web", "acme/site")

    with caplog.at_level(logging.WARNING, logger="reconcile.github"):
        stale_name = world.run(full=True, apply__on_orphan="archive")

    assert stale_name.status == "ok", stale_name.error
    assert "acme/web has moved (renamed or transferred); update github.repos" in caplog.text
    assert stale_name.plan is not None and stale_name.plan.writes == ()
    assert world.sandbox.count("github", path=r"^/repos/acme/web/issues$", status=301) == 1
    renamed = world.run(github__repos=["acme/site", "acme/api"])

    assert renamed.status == "ok", renamed.error
    (now,) = world.pages()
    assert now["id"] == page["id"] and key_of(now) == "https://github.com/acme/site/issues/1"
