"""Several boards, one mirror (CONTRACT §10): each board's links, cursors, journal and lock are its own;
GitHub items are shared, and one board's pulls never make another board miss a change."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from reconcile.clients.github import item_from_api
from reconcile.clock import Clock, FakeClock, SystemClock
from reconcile.jobs.context import Context
from reconcile.jobs.refresh import refresh
from reconcile.jobs.run import RunResult, execute, pull_step
from reconcile.jobs.status import status
from reconcile.mirror.items import save_pulled
from reconcile.mirror.lock import Lease
from reconcile.mirror.tables import GitHubItemRow, LinkRow, NotionPageRow, OperationRow
from reconcile.sandbox import Sandbox
from tests.conftest import REPOS, SCHEMA, World, empty_tables

ISSUES = 6


class Board:
    """A second (or first) board of the world: its own database, the same repositories and mirror."""

    def __init__(self, world: World, database_id: str) -> None:
        self.world, self.database_id = world, database_id

    def overrides(self, **more: Any) -> dict[str, Any]:
        return {"notion__database_id": self.database_id, **more}

    def context(self, clock: Clock | None = None, **more: Any) -> Context:
        config = self.world.config(**self.overrides(**more))
        return Context.build(config, clock=clock or self.world.clock)

    def run(self, clock: Clock | None = None, **more: Any) -> RunResult:
        ctx = self.context(clock, **more)
        try:
            return execute(ctx, "run", pull_step())
        finally:
            ctx.close()

    def pages(self) -> list[dict[str, Any]]:
        return self.world.sandbox.notion.pages(self.database_id)

    def status_of(self, url: str) -> str | None:
        (page,) = [p for p in self.pages() if p["properties"]["GitHub URL"]["url"] == url]
        select_ = page["properties"]["Status"]["select"]
        return select_["name"] if select_ else None

    def config_file(self, path: Path, **more: Any) -> str:
        return str(self.world.write_config(path, **self.overrides(**more)))


def two_boards(world: World) -> tuple[Board, Board]:
    second = world.sandbox.notion.create_database(title="Team B", properties=copy.deepcopy(SCHEMA))
    return Board(world, world.database_id), Board(world, second)


class Skewed:
    """A host clock off by some seconds (wall time only)."""

    def __init__(self, clock: Clock, seconds: float) -> None:
        self.clock, self.offset = clock, timedelta(seconds=seconds)

    def now(self) -> datetime:
        return self.clock.now() + self.offset

    def monotonic(self) -> float:
        return self.clock.monotonic()

    def sleep(self, seconds: float) -> None:
        self.clock.sleep(seconds)


def test_an_item_another_board_stored_first_is_still_planned_by_this_board(
    world: World, clock: FakeClock
) -> None:
    """Board A's host clock is two hours slow (as good as a pull that committed two hours after it
    stamped its rows): the issue it stores looks older than board B's last plan. B's own pull fetches
    the same issue, finds the row unchanged, and must still plan it."""
    a, b = two_boards(world)
    slow = Skewed(clock, -7200)
    issues = [world.issue(title=f"Shared {n}") for n in range(3)]
    for _ in range(2):
        assert a.run(slow).status == "ok" and b.run().status == "ok"
        clock.advance(600)
    clock.advance(3600)
    closed = issues[1]
    world.sandbox.github.update_issue("acme/web", closed["number"], state="closed")
    clock.advance(60)

    first = a.run(slow)
    second = b.run()

    assert first.status == "ok" and second.status == "ok"
    assert a.status_of(closed["html_url"]) == "Done"
    assert b.status_of(closed["html_url"]) == "Done"
    assert second.plan is not None and [op.key for op in second.plan.writes] == [closed["html_url"]]


def test_a_slow_pull_never_brings_back_an_older_copy_of_a_shared_item(world: World, clock: FakeClock) -> None:
    a, b = two_boards(world)
    issue = world.issue(title="Before")
    ctx = a.context()
    try:
        with ctx.session() as session:
            old = item_from_api(issue)
            save_pulled(session, a.database_id, [old], clock.now())
        clock.advance(60)
        world.sandbox.github.update_issue("acme/web", issue["number"], title="After")
        new = item_from_api(world.sandbox.github.issue("acme/web", issue["number"]))
        with ctx.session() as session:
            save_pulled(session, b.database_id, [new], clock.now())  # board B's pull, the newer copy
            save_pulled(session, a.database_id, [old], clock.now())  # board A's slow pull, older
            kept = session.get(GitHubItemRow, issue["id"])
            assert kept is not None and kept.title == "After"
    finally:
        ctx.close()


def test_an_item_transferred_to_a_repository_only_another_board_follows_is_an_orphan_here(
    world: World, clock: FakeClock
) -> None:
    """Board A follows acme/web; board B follows acme/web and acme/api. The item moves to acme/api:
    B's page follows it, A's page is an orphan for A (as it would be with no board B)."""
    a, b = two_boards(world)
    only_web = {"github__repos": ["acme/web"]}
    issue = world.issue(title="Wanderer")
    assert a.run(**only_web).status == "ok" and b.run().status == "ok"
    clock.advance(120)
    moved = world.sandbox.github.transfer_issue("acme/web", issue["number"], "acme/api")

    assert b.run().status == "ok"  # B stores the item at its new place first
    full = a.context(**only_web)
    try:
        result = execute(full, "run", pull_step(full=True))
    finally:
        full.close()

    assert result.plan is not None
    assert [orphan.key for orphan in result.plan.orphans] == [issue["html_url"]]
    (kept,) = b.pages()
    assert kept["properties"]["GitHub URL"]["url"] == moved["html_url"]


def test_refreshing_another_boards_page_is_refused_and_leaves_it_alone(
    world: World, clock: FakeClock
) -> None:
    a, b = two_boards(world)
    issue = world.issue(title="Theirs")
    assert a.run().status == "ok" and b.run().status == "ok"
    clock.advance(3600)
    assert b.run().status == "ok"  # B's pulls no longer look at its page: it was not edited since
    (theirs,) = b.pages()

    ctx = a.context()
    try:
        result = refresh(ctx, page_id=theirs["id"])
    finally:
        ctx.close()

    assert result.status == "failed" and f"not a page of database {a.database_id}" in str(result.error)
    clock.advance(600)
    world.sandbox.github.update_issue("acme/web", issue["number"], state="closed")
    assert b.run().status == "ok"
    (page,) = b.pages()  # updated in place: B's page was never taken for gone
    assert page["id"] == theirs["id"] and b.status_of(issue["html_url"]) == "Done"


def test_status_shows_the_boards_own_runs_and_cursors(world: World) -> None:
    a, b = two_boards(world)
    world.issue(title="Seen by both")
    assert a.run().status == "ok" and b.run().status == "ok" and b.run().status == "ok"

    ctx = a.context()
    try:
        report = status(ctx)
    finally:
        ctx.close()

    assert len(report["runs"]) == 1
    streams = [cursor["stream"] for cursor in report["cursors"]]
    assert streams and all(a.database_id in stream and b.database_id not in stream for stream in streams)


# -- two boards on one PostgreSQL mirror, in processes of their own ------------------------------


@pytest.fixture
def live(postgres_database: str) -> Iterator[World]:
    """The real clock (runs in child processes), the same repositories for both boards, PostgreSQL."""
    empty_tables(postgres_database)
    with Sandbox(clock=SystemClock()) as sandbox:
        world = World(sandbox, postgres_database, SystemClock())
        for n in range(ISSUES):
            world.issue(
                "acme/web" if n % 2 else "acme/api", title=f"Item {n}", labels=["bug"] if n % 3 else []
            )
        yield world


def together(*configs: str) -> list[tuple[int, dict[str, Any]]]:
    """`reconcile run` of each config, all started at once; (exit code, JSON) of each."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "reconcile", "run", "--format", "json", "-c", config],
            env=child_env(),
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for config in configs
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert out.strip(), err
        results.append((process.returncode, json.loads(out)))
    return results


def child_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("NOTION_", "GITHUB_", "RECONCILE_"))}


def urls(world: World) -> set[str]:
    return {issue["html_url"] for repo in REPOS for issue in world.sandbox.github.issues(repo)}


def assert_own_pages_only(world: World, *boards: Board) -> None:
    """Every link and every journalled write of a board is about a page of that board's database."""
    ctx = world.context()
    try:
        with ctx.session() as session:
            links = session.execute(
                select(LinkRow.database_id, LinkRow.page_id, NotionPageRow.database_id).join(
                    NotionPageRow, NotionPageRow.id == LinkRow.page_id
                )
            ).all()
            writes = session.execute(
                select(OperationRow.database_id, OperationRow.page_id, OperationRow.result_page_id)
            ).all()
    finally:
        ctx.close()
    assert {board for board, _, _ in links} == {board.database_id for board in boards}
    for board, page_id, mirrored in links:
        assert mirrored == board and parent(world, page_id) == bare(board)
    assert writes
    for board, page_id, result_page_id in writes:
        for page in {page_id, result_page_id} - {None}:
            assert parent(world, str(page)) == bare(str(board))


def parent(world: World, page_id: str) -> str:
    return bare(world.sandbox.notion.page(page_id)["parent"]["database_id"])


def bare(some_id: str) -> str:
    return some_id.replace("-", "").lower()


@pytest.mark.postgres
def test_two_boards_on_one_postgres_mirror_run_side_by_side_and_each_converges(
    live: World, tmp_path: Path
) -> None:
    a, b = two_boards(live)
    configs = [a.config_file(tmp_path / "a.yaml"), b.config_file(tmp_path / "b.yaml")]

    first = together(*configs)  # both boards' first runs, started at once

    assert [code for code, _ in first] == [0, 0], first
    assert [body["applied"] for _, body in first] == [ISSUES, ISSUES]
    for board in (a, b):
        keys = [page["properties"]["GitHub URL"]["url"] for page in board.pages()]
        assert sorted(keys) == sorted(urls(live))  # one page per item, on each board

    closed = live.sandbox.github.issues("acme/web")[0]
    live.sandbox.github.update_issue("acme/web", closed["number"], state="closed")
    second = together(*configs)

    assert [(code, body["applied"]) for code, body in second] == [(0, 1), (0, 1)], second
    assert a.status_of(closed["html_url"]) == b.status_of(closed["html_url"]) == "Done"
    assert [(code, body["applied"]) for code, body in together(*configs)] == [(0, 0), (0, 0)]
    assert all(len(board.pages()) == ISSUES for board in (a, b))
    assert_own_pages_only(live, a, b)


@pytest.mark.postgres
def test_runs_of_one_board_exclude_each_other_while_another_board_runs(live: World, tmp_path: Path) -> None:
    a, b = two_boards(live)
    configs = [a.config_file(tmp_path / "a.yaml"), b.config_file(tmp_path / "b.yaml")]
    ctx = a.context()
    holder = Lease(ctx.engine, SystemClock(), a.database_id)  # a run of board A in progress
    holder.acquire()
    try:
        (locked, body_a), (done, body_b) = together(*configs)
    finally:
        holder.release()
        ctx.close()

    assert locked == 75 and body_a["status"] == "locked"
    assert done == 0 and body_b["status"] == "ok" and body_b["applied"] == ISSUES
    assert a.pages() == [] and len(b.pages()) == ISSUES
