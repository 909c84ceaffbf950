"""Retention (`mirror.retention`): runs prune the board's old runs, journal entries and snapshots, a bounded
amount per run; what is still needed stays; `restore --as-of` reaches back exactly as far as retention."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reconcile.clock import FakeClock
from reconcile.jobs.prune import prune
from reconcile.jobs.restore import BeyondHistory, restore
from reconcile.mirror import journal, runs
from reconcile.mirror.tables import OperationRow, RunRow, SnapshotRow
from reconcile.model import Change, Operation, iso
from tests.conftest import World, cli

DAY = 86400.0
TITLES = {0: "Alpha", 10: "Beta", 20: "Gamma", 50: "Delta"}  # day -> the issue's title from then on
KEEP_ALL = "3650d"


@pytest.fixture
def renamed(world: World, clock: FakeClock) -> tuple[str, datetime]:
    """One issue renamed over 50 days with a run each time (history kept in full); then day 60 comes.
    Returns the issue's URL and the instant of day 0."""
    day0 = clock.now()
    issue = world.issue(title=TITLES[0])
    for day, title in TITLES.items():
        clock.advance(day * DAY - (clock.now() - day0).total_seconds())
        if day:
            world.sandbox.github.update_issue("acme/web", issue["number"], title=title)
        clock.advance(60)
        assert world.run(mirror__retention=KEEP_ALL).status == "ok"
    clock.advance(60 * DAY - (clock.now() - day0).total_seconds())
    return issue["html_url"], day0


@contextmanager
def mirror(world: World, **overrides: Any) -> Iterator[Session]:
    ctx = world.context(**overrides)
    try:
        with ctx.session() as session:
            yield session
    finally:
        ctx.close()


def counts(world: World) -> dict[str, int]:
    with mirror(world) as session:
        return {
            table.__tablename__: session.scalar(select(func.count()).select_from(table)) or 0
            for table in (RunRow, OperationRow, SnapshotRow)
        }


def names(world: World) -> list[str]:
    """The titles the mirror's history holds for the page, oldest first."""
    with mirror(world) as session:
        query = (
            select(SnapshotRow.value)
            .where(SnapshotRow.property == "Name")
            .order_by(SnapshotRow.seen_at, SnapshotRow.id)
        )
        return [str(value) for value in session.scalars(query)]


def title(world: World, url: str) -> str:
    return str(world.page_for(url)["properties"]["Name"]["title"][0]["plain_text"])


def test_a_run_prunes_history_older_than_retention_and_keeps_the_newest_value_before_it(
    world: World, clock: FakeClock, renamed: tuple[str, datetime]
) -> None:
    _, day0 = renamed
    before = counts(world)
    assert names(world) == list(TITLES.values())

    result = world.run(mirror__retention="30d")  # day 60: the cutoff is day 60 - 30 = day 30

    assert result.status == "ok"
    after = counts(world)
    # runs of days 0, 10 and 20 went with their journal entries (a create and two renames)
    assert after["runs"] == before["runs"] + 1 - 3
    assert after["operations"] == before["operations"] - 3
    # Alpha and Beta went: Gamma is the newest title at or before the cutoff, so it stays
    assert names(world) == ["Gamma", "Delta"]
    assert after["snapshots"] < before["snapshots"]
    with mirror(world) as session:
        oldest_run = session.scalar(select(func.min(RunRow.started_at)))
        assert oldest_run is not None and oldest_run > day0 + timedelta(days=30)

    clock.advance(600)
    again = counts(world)
    assert world.run(mirror__retention="30d").status == "ok"
    assert counts(world)["snapshots"] == again["snapshots"]  # nothing more to prune


def test_restore_reaches_back_exactly_as_far_as_retention(
    world: World, clock: FakeClock, renamed: tuple[str, datetime], tmp_path: Path
) -> None:
    url, day0 = renamed
    assert world.run(mirror__retention="30d").status == "ok"
    edge = clock.now() - timedelta(days=30)
    ctx = world.context(mirror__retention="30d")
    try:
        with pytest.raises(BeyondHistory, match=f"reaches back to {iso(edge)}"):
            restore(ctx, edge - timedelta(seconds=1), dry_run=True)

        done = restore(ctx, edge, force=True)  # at the edge: every value as it was then
    finally:
        ctx.close()
    assert done.status == "ok", done.error
    assert done.applied.applied == 1 and title(world, url) == "Gamma"

    config = str(world.write_config(tmp_path / "config.yaml", mirror__retention="30d"))
    env = {"RECONCILE_NOW": iso(clock.now())}
    writes = world.notion_writes()
    refused = cli("restore", "--as-of", iso(day0 + timedelta(days=20)), "-c", config, env=env)
    assert refused.returncode == 1
    assert f"reaches back to {iso(edge)}" in refused.stderr and "mirror.retention: 30d" in refused.stderr
    assert world.notion_writes() == writes


def test_pruning_keeps_what_is_still_needed(
    world: World, clock: FakeClock, renamed: tuple[str, datetime]
) -> None:
    later = clock.now() + timedelta(days=1000)  # everything is older than retention by then
    with mirror(world) as session:
        last = runs.last_success(session, world.database_id)
        assert last is not None
        key = "https://github.com/acme/web/issues/99"
        op = Operation("create", key, None, {"Name": Change(None, "Lost")}, "no page for this item")
        (ambiguous,) = journal.record(session, world.database_id, last.id, [op], clock.now(), "ambiguous")
        keys = session.execute(select(SnapshotRow.page_id, SnapshotRow.property).distinct()).all()

    ctx = world.context(now=later)
    try:
        pruned = prune(ctx)
    finally:
        ctx.close()

    assert pruned.complete and pruned.operations > 0 and pruned.snapshots > 0
    with mirror(world) as session:
        assert session.get(OperationRow, ambiguous) is not None  # unsettled: recovery needs it
        assert runs.last_success(session, world.database_id) is not None  # health reads it
        assert session.scalar(select(func.count()).select_from(RunRow)) == 1  # its run, with the entry
        assert session.scalar(select(func.count()).select_from(OperationRow)) == 1
        assert session.scalar(select(func.count()).select_from(SnapshotRow)) == len(keys)
    assert names(world) == ["Delta"]


def test_a_first_prune_of_a_large_history_is_spread_over_runs(
    world: World, clock: FakeClock, renamed: tuple[str, datetime]
) -> None:
    ctx = world.context(mirror__retention="30d")
    try:
        steps = []
        while True:
            step = prune(ctx, batch=2, rounds=1)
            steps.append(step)
            assert step.operations <= 2 and step.runs <= 2
            if step.complete:
                break
            assert len(steps) < 50
    finally:
        ctx.close()
    assert len(steps) > 2
    assert names(world) == ["Gamma", "Delta"]
    assert counts(world)["operations"] == 1  # the rename of day 50
