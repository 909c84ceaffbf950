"""Never two writers: locks per board and per mirror database, leases proven before every write.

- Two mirror databases on one PostgreSQL server, and two boards in one mirror, never touch each
  other's locks (clean-up, `reset --clear-locks`, takeovers).
- A run frozen past its lease (SIGSTOP) is taken over; when it wakes it makes no further write.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text, update
from sqlalchemy.pool import NullPool

from reconcile.clock import FakeClock, SystemClock
from reconcile.errors import Locked
from reconcile.mirror import lock
from reconcile.mirror.db import open_engine, upgrade
from reconcile.mirror.lock import Lease, LeaseLost, advisory_key, lock_name
from reconcile.mirror.tables import LockRow
from reconcile.sandbox import Sandbox
from tests.conftest import World, fresh_postgres
from tests.integration.test_crash import ITEMS, assert_converged, creates, start

BOARD = "board-a"


@pytest.fixture
def two_postgres_mirrors() -> Iterator[tuple[Engine, Engine]]:
    first, second = fresh_postgres(), fresh_postgres()
    engines = open_engine(next(first)), open_engine(next(second))
    yield engines
    for engine in engines:
        engine.dispose()
    for generator in (first, second):
        next(generator, None)


def expire(engine: Engine, board: str, seconds_ago: float) -> None:
    """Make the board's lease look expired `seconds_ago` (as a holder that stopped would leave it)."""
    with engine.begin() as connection:
        now = connection.execute(text("SELECT clock_timestamp()")).scalar_one()
        connection.execute(
            update(LockRow)
            .where(LockRow.name == lock_name(board))
            .values(expires_at=now - timedelta(seconds=seconds_ago))
        )


def holds_advisory(engine: Engine, board: str) -> bool:
    """Whether some session of this database holds the board's advisory lock."""
    with create_engine(engine.url, poolclass=NullPool).connect() as probe:
        got = probe.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": advisory_key(lock_name(board))})
        free = bool(got.scalar())
        if free:
            probe.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": advisory_key(lock_name(board))})
        return not free


@pytest.mark.postgres
def test_clearing_or_taking_over_a_lock_on_one_mirror_database_never_frees_anothers(
    two_postgres_mirrors: tuple[Engine, Engine],
) -> None:
    mine, theirs = two_postgres_mirrors
    clock = SystemClock()
    running = Lease(mine, clock, BOARD)
    running.acquire()
    try:
        # on the other database, the same board's lock is held by a run that died long ago
        stuck = Lease(theirs, clock, BOARD)
        stuck.acquire()
        stuck._stop.set()  # it stops renewing; its session still holds the advisory lock
        expire(theirs, BOARD, seconds_ago=600)

        lock.clear(theirs, clock, BOARD)  # reset --clear-locks there
        with Lease(theirs, clock, BOARD):  # and a takeover there
            pass

        assert holds_advisory(mine, BOARD)  # this database's run still holds its lock ...
        with pytest.raises(Locked):  # ... and locks the next run out
            Lease(mine, clock, BOARD).acquire()
        running.check()  # and still proves its lease
    finally:
        running.release()


@pytest.mark.postgres
def test_clearing_locks_leaves_a_live_holder_alone_and_ends_only_the_expired_holders_session(
    postgres_database: str,
) -> None:
    engine = open_engine(postgres_database)
    clock = FakeClock()  # the holder's own clock (lease times are PostgreSQL's)
    with engine.begin() as connection:
        connection.execute(LockRow.__table__.delete())
    live = Lease(engine, clock, BOARD)
    live.acquire()
    try:
        (said,) = lock.clear(engine, clock, BOARD)
        assert "held by a live run" in said and holds_advisory(engine, BOARD)
        live._stop.set()
        expire(engine, BOARD, seconds_ago=600)
        done = lock.clear(engine, clock, BOARD)
        assert any("ended PostgreSQL session" in line for line in done)
        assert not holds_advisory(engine, BOARD)
        clock.advance(600)  # the holder wakes up
        with pytest.raises(LeaseLost):
            live.check()  # its lease is gone: it may not write again
    finally:
        live.release()
        engine.dispose()


def test_two_boards_in_one_mirror_lock_independently(mirror_url: str) -> None:
    engine = open_engine(mirror_url)
    upgrade(engine)
    clock = FakeClock()
    try:
        with Lease(engine, clock, "board-a"), Lease(engine, clock, "board-b"):
            with pytest.raises(Locked):
                Lease(engine, clock, "board-a").acquire()
            assert "left alone" in lock.clear(engine, clock, "board-b")[0]
            assert lock.current_holder(engine, "board-a") is not None
    finally:
        engine.dispose()


def test_a_holder_whose_lease_was_taken_over_cannot_prove_it(sqlite_url: str) -> None:
    engine = open_engine(sqlite_url)
    clock = FakeClock()
    try:
        upgrade(engine)
        first = Lease(engine, clock, BOARD, lease=timedelta(seconds=30), grace=timedelta(seconds=10))
        first.acquire()
        first._stop.set()  # frozen: no heartbeat
        first.check()  # fine while the lease lasts
        clock.advance(41)  # past the lease and the grace
        with Lease(engine, clock, BOARD, grace=timedelta(seconds=10)), pytest.raises(LeaseLost):
            first.check()
        first.release()
    finally:
        engine.dispose()


def test_a_holder_past_its_lease_that_nobody_took_over_renews_and_goes_on(sqlite_url: str) -> None:
    engine = open_engine(sqlite_url)
    clock = FakeClock()
    try:
        upgrade(engine)
        with Lease(engine, clock, BOARD, lease=timedelta(seconds=30)) as only:
            only._stop.set()
            clock.advance(100)  # a long pause, but no other run came
            only.check()
            assert not only.lost
    finally:
        engine.dispose()


# -- a frozen holder, for real ------------------------------------------------------------------


@pytest.fixture
def live_short(mirror_url: str) -> Iterator[World]:
    """A world on the real clock whose runs hold 3-second leases (and 2-second request timeouts)."""
    with Sandbox(clock=SystemClock(), seed=5) as sandbox:
        world = World(sandbox, mirror_url, SystemClock())
        world.overrides = {
            "apply__batch_size": 5,
            "mirror__lock_lease": "3s",
            "notion__timeout_seconds": 2,
        }
        for n in range(ITEMS):
            world.issue("acme/web" if n % 2 else "acme/api", title=f"Item {n}")
        yield world


@pytest.mark.slow
def test_a_run_frozen_mid_apply_is_taken_over_and_writes_nothing_when_it_wakes(
    live_short: World, tmp_path: Path
) -> None:
    world = live_short
    held = world.sandbox.faults.add(creates(after=3, process=True))  # the 4th create lands, its answer waits
    (tmp_path / "a").mkdir()
    frozen = start(world, tmp_path / "a", "run")
    try:
        assert held.arrived.wait(60), frozen.communicate(timeout=30)
        frozen.send_signal(signal.SIGSTOP)
        held.release()  # the answer reaches a stopped process: a write in flight that landed
        world.sandbox.faults.clear()

        taker = _run_until_not_locked(world, tmp_path / "b")
        assert taker.returncode == 0, taker.stderr
        assert "taking over the lock" in taker.stderr
        writes_before_waking = world.notion_writes()
    finally:
        frozen.send_signal(signal.SIGCONT)
    _, err = frozen.communicate(timeout=60)
    assert world.notion_writes() == writes_before_waking, err  # woke, and wrote nothing more
    assert frozen.returncode != 0
    assert_converged(world)


def _run_until_not_locked(world: World, where: Path) -> _Done:
    """Start runs until one is not locked out (the frozen holder's lease and grace run out in ~10 s)."""
    where.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + 60
    while True:
        process = start(world, where, "run")
        out, err = process.communicate(timeout=60)
        if process.returncode != 75 or time.monotonic() > deadline:
            return _Done(process.returncode, out, err)


class _Done:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr
