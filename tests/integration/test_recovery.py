"""The journal, the lock, a lost mirror, and the recovery commands (status, reset)."""

from __future__ import annotations

import json
import socket
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete, select, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from reconcile.jobs.run import RunResult
from reconcile.mirror.db import open_engine, upgrade
from reconcile.mirror.lock import advisory_key, lock_name
from reconcile.mirror.tables import Base, LinkRow, LockRow, OperationRow
from reconcile.sandbox import Fault
from tests.conftest import World, cli


def rows(world: World, model: type[Base]) -> list[object]:
    engine = create_engine(world.mirror_url)
    with Session(engine) as session:
        found = list(session.scalars(select(model)))
    engine.dispose()
    return found


def put_lock(world: World, *, host: str, pid: int, expires_in: float) -> None:
    """A lease row of another holder; on PostgreSQL lease times are the database's own clock."""
    engine = open_engine(world.mirror_url)
    upgrade(engine)
    with Session(engine) as session, session.begin():
        now = (
            session.execute(text("SELECT clock_timestamp()")).scalar_one()
            if world.mirror_url.startswith("postgresql")
            else world.clock.now()
        )
        session.execute(delete(LockRow))
        session.add(
            LockRow(
                name=lock_name(world.database_id),
                holder="someone-else",
                host=host,
                pid=pid,
                acquired_at=now,
                heartbeat_at=now,
                expires_at=now + timedelta(seconds=expires_in),
            )
        )
    engine.dispose()


def test_every_operation_is_journalled_before_its_write_is_sent(world: World) -> None:
    for n in range(4):
        world.issue(title=f"Item {n}")
    hold = world.sandbox.faults.add(
        Fault(api="notion", kind="hold", method="POST", path=r"^/v1/pages$", times=1)
    )
    outcome: list[RunResult] = []
    runner = threading.Thread(target=lambda: outcome.append(world.run(apply__batch_size=3)))
    runner.start()
    try:
        assert hold.arrived.wait(30)
        states = sorted(row.state for row in rows(world, OperationRow))  # type: ignore[attr-defined]
        # the batch is stored as on its way before its first write goes out, and settled after its last
        assert states == ["sent", "sent", "sent"]
    finally:
        hold.release()
        runner.join(60)
    (result,) = outcome
    assert result.status == "ok" and len(world.pages()) == 4  # the dropped create was looked up, then re-sent
    assert sorted(row.state for row in rows(world, OperationRow)) == ["applied"] * 4  # type: ignore[attr-defined]


def test_a_lease_held_by_a_live_run_elsewhere_locks_the_next_run_out(world: World) -> None:
    if world.mirror_url.startswith("postgresql"):
        pytest.skip("PostgreSQL runs are locked out by the advisory lock; see the next test")
    world.issue(title="Waiting")
    put_lock(world, host="other-host", pid=4242, expires_in=60)

    result = world.run()

    assert result.status == "locked" and "pid 4242 on other-host" in (result.error or "")
    assert world.notion_writes() == 0


def test_a_lock_whose_lease_expired_without_a_heartbeat_is_taken_over(world: World) -> None:
    world.issue(title="Go")
    put_lock(world, host="other-host", pid=4242, expires_in=-66)  # past its lease and the grace period
    holder = None
    if world.mirror_url.startswith("postgresql"):  # a hung holder elsewhere: its session still holds the lock
        # the session of that holder: reconcile names its lock sessions after the lease's holder token
        holder = create_engine(
            world.mirror_url,
            poolclass=NullPool,
            connect_args={"application_name": "reconcile-lock someone-else"},
        ).connect()
        holder.execute(
            text("SELECT pg_advisory_lock(:key)"), {"key": advisory_key(lock_name(world.database_id))}
        )
        holder.commit()

    result = world.run()

    assert result.status == "ok", result.error
    assert len(world.pages()) == 1
    assert rows(world, LockRow) == []  # released at the end
    if holder is not None:
        holder.close()


def test_a_postgresql_run_is_locked_out_while_another_session_holds_the_lock(world: World) -> None:
    if not world.mirror_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    put_lock(world, host=socket.gethostname(), pid=1, expires_in=60)  # pid 1 is alive
    holder = create_engine(world.mirror_url, poolclass=NullPool).connect()  # closing ends the session
    holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": advisory_key(lock_name(world.database_id))})
    holder.commit()
    try:
        assert world.run().status == "locked"
    finally:
        holder.close()


def test_a_lost_mirror_rebuilds_its_links_from_the_key_and_creates_nothing(
    world: World, tmp_path: Path
) -> None:
    for n in range(5):
        world.issue(title=f"Item {n}", labels=["priority: high"] if n % 2 else [])
    world.run()
    pages_before = {page["id"] for page in world.pages()}
    world.mirror_url = f"sqlite:///{tmp_path / 'new-mirror.db'}"  # the old mirror is gone

    result = world.run()

    assert result.plan is not None and result.plan.summary()["create"] == 0
    assert {page["id"] for page in world.pages()} == pages_before
    assert len(rows(world, LinkRow)) == 5
    assert world.run().plan.writes == ()  # type: ignore[union-attr]


def test_max_writes_per_run_defers_the_rest_to_the_next_run(world: World) -> None:
    for n in range(7):
        world.issue(title=f"Item {n}")

    first = world.run(apply__max_writes_per_run=3)
    second = world.run(apply__max_writes_per_run=3)
    third = world.run(apply__max_writes_per_run=3)

    assert (first.applied.applied, first.applied.deferred) == (3, 4)
    assert (second.applied.applied, second.applied.deferred) == (3, 1)
    assert (third.applied.applied, third.applied.deferred) == (1, 0)
    assert len(world.pages()) == 7


def test_a_plan_changing_too_much_is_refused_unless_forced(world: World) -> None:
    for n in range(12):
        world.issue(title=f"Item {n}")
    world.run()
    world.overrides = {"mapping__properties__Name__value": "[{repo}] {title}"}  # a mapping change touches all

    refused = world.run()
    forced = world.run(force=True)

    assert refused.status == "failed" and "12 of 12 linked pages" in (refused.error or "")
    assert "--force" in (refused.error or "")
    assert forced.status == "ok" and forced.applied.applied == 12


def test_status_shows_runs_failures_and_the_lock_then_reset_retries_the_failures(
    world: World, tmp_path: Path
) -> None:
    world.issue(title="Refused once")
    odd = "body failed validation: the request could not be read."  # names no property: the write fails
    pages = r"^/v1/pages$"
    world.sandbox.faults.add(
        Fault(api="notion", kind="status", status=400, method="POST", path=pages, times=1, message=odd)
    )
    assert world.run().status == "partial"
    put_lock(world, host="other-host", pid=4242, expires_in=-120)  # past the lease and its grace
    config = str(world.write_config(tmp_path / "config.yaml"))

    status = cli("status", "--format", "json", "-c", config)
    report = json.loads(status.stdout)
    assert status.returncode == 0, status.stderr
    assert report["runs"][0]["status"] == "partial"
    assert report["failed"][0]["action"] == "create" and odd in report["failed"][0]["error"]
    assert report["lock"]["host"] == "other-host"
    assert "Lock: held by pid 4242" in cli("status", "-c", config).stdout

    cleared = cli("reset", "--clear-locks", "-c", config)
    assert cleared.returncode == 0 and "removed the lease of pid 4242 on other-host" in cleared.stdout
    retried = cli("reset", "--retry-failed", "--format", "json", "-c", config)
    assert retried.returncode == 0, retried.stderr
    assert json.loads(retried.stdout)["applied"] == 1
    assert json.loads(cli("status", "--format", "json", "-c", config).stdout)["failed"] == []


def test_reset_needs_something_to_do(tmp_path: Path) -> None:
    done = cli("reset", "-c", str(tmp_path / "missing.yaml"))
    assert done.returncode == 1 and "give --clear-locks and/or --retry-failed" in done.stderr


def test_after_a_lost_mirror_a_full_pull_still_finds_orphans_by_their_keys(
    world: World, tmp_path: Path
) -> None:
    kept = world.issue(title="Kept")
    doomed = world.issue(title="Doomed")
    world.run()
    world.sandbox.github.delete_issue("acme/web", doomed["number"])
    world.mirror_url = f"sqlite:///{tmp_path / 'new-mirror.db'}"  # the mirror never saw the doomed item

    result = world.run(full=True, apply__on_orphan="archive")

    assert result.plan is not None
    assert [(op.action, op.key) for op in result.plan.writes] == [("archive", doomed["html_url"])]
    assert set(world.pages_by_key()) == {kept["html_url"]}


def test_a_write_that_ends_the_run_mid_batch_leaves_the_done_applied_and_the_unsent_deferred(
    world: World,
) -> None:
    # Apply settles a batch's outcomes together after its last write: a write that ends the run early
    # must still leave the writes before it recorded as done, and the ones never sent as not sent.
    for n in range(5):
        world.issue(title=f"Item {n}")
    world.sandbox.faults.add(
        Fault(
            api="notion",
            kind="status",
            status=401,
            code="unauthorized",
            method="POST",
            path=r"^/v1/pages$",
            after=2,
            times=1,
        )
    )

    result = world.run(apply__batch_size=5)

    assert result.status == "failed"
    states = [row.state for row in sorted(rows(world, OperationRow), key=lambda row: row.seq)]  # type: ignore[attr-defined]
    assert states == ["applied", "applied", "failed", "deferred", "deferred"]
    linked = {row.page_id for row in rows(world, LinkRow)}  # type: ignore[attr-defined]
    assert linked == {page["id"] for page in world.pages()} and len(linked) == 2

    again = world.run()

    assert again.status == "ok" and not again.recovery.resolved  # type: ignore[union-attr]
    assert sorted(len(pages) for pages in world.pages_by_key().values()) == [1] * 5  # none made twice
