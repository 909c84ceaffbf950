"""Boards that use one Notion integration share its request budget through the mirror (`notion.budget`):
together they stay within `requests_per_second`, and a 429 holds every one of them back."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from reconcile.clients.http import Pacer
from reconcile.clock import FakeClock, SystemClock
from reconcile.jobs.run import RunResult
from reconcile.mirror.budget import SharedBudget, notion_pacing
from reconcile.mirror.db import open_engine, upgrade
from reconcile.mirror.tables import BudgetRow
from reconcile.sandbox import Sandbox
from tests.conftest import World, empty_tables
from tests.integration.test_boards import Board, two_boards

RATE = 3.0


@pytest.fixture
def engine(mirror_url: str) -> Iterator[Engine]:
    engine = open_engine(mirror_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def next_at(engine: Engine, name: str = "team") -> float:
    with engine.connect() as connection:
        return float(connection.execute(select(BudgetRow.next_at).where(BudgetRow.name == name)).scalar_one())


def test_processes_sharing_a_budget_take_turns_at_the_configured_rate(
    engine: Engine, clock: FakeClock
) -> None:
    first, second = SharedBudget(engine, "team", RATE, clock), SharedBudget(engine, "team", RATE, clock)
    first.acquire()
    start = next_at(engine)

    for n in range(11):
        (first if n % 2 else second).acquire()

    # twelve requests took twelve slots, one after another, 1/3 s apart, whoever sent them
    assert next_at(engine) - start == pytest.approx(11 / RATE, abs=1e-3)
    assert sum(clock.slept) >= 11 / RATE - 0.05

    slept = list(clock.slept)
    SharedBudget(engine, "another integration", RATE, clock).acquire()
    assert clock.slept == slept  # another budget's slots are its own


def test_a_rate_limit_holds_back_every_process_of_the_budget(engine: Engine, clock: FakeClock) -> None:
    first, second = SharedBudget(engine, "team", RATE, clock), SharedBudget(engine, "team", RATE, clock)
    first.acquire()

    first.penalise(30.0)  # Notion answered 429 with Retry-After: 30
    second.acquire()

    assert clock.slept[-1] >= 29.9
    assert first.rate == RATE / 2  # and the process that drew it slows down for a while


def test_without_a_budget_each_process_paces_itself(world: World, clock: FakeClock) -> None:
    ctx = world.context()
    try:
        assert isinstance(ctx.notion.transport.pacer, Pacer)
        assert isinstance(
            notion_pacing(ctx.engine, world.config(notion__budget="team").notion, clock), SharedBudget
        )
    finally:
        ctx.close()


def test_a_mirror_that_fails_leaves_the_process_pacing_itself(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'not-migrated.db'}")  # no budgets table
    budget = SharedBudget(engine, "team", RATE, clock)
    with caplog.at_level(logging.WARNING, logger="reconcile.budget"):
        for _ in range(5):
            budget.acquire()
    engine.dispose()
    assert "paces itself alone" in caplog.text and caplog.text.count("shared request budget") == 1
    assert sum(clock.slept) > 0  # its own bucket still spaces the requests


@pytest.mark.postgres
def test_two_boards_sharing_a_budget_draw_no_429_from_notion_enforcing_it(postgres_database: str) -> None:
    """Real clock: about 15 requests per board, together within 3 requests a second."""
    empty_tables(postgres_database)
    with Sandbox(clock=SystemClock(), notion_rps=RATE, notion_burst=3) as sandbox:
        world = World(sandbox, postgres_database, SystemClock())
        for n in range(12):
            world.issue("acme/web" if n % 2 else "acme/api", title=f"Item {n}")
        boards = two_boards(world)
        results: list[RunResult] = []

        def run(board: Board) -> None:
            results.append(board.run(notion__requests_per_second=RATE, notion__budget="acme-integration"))

        threads = [threading.Thread(target=run, args=(board,)) for board in boards]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)

        assert [result.status for result in results] == ["ok", "ok"], [r.error for r in results]
        assert all(len(board.pages()) == 12 for board in boards)
        assert sandbox.count("notion") >= 2 * 13
        assert sandbox.count("notion", status=429) == 0
