"""One writer per board: a lease with heartbeat and expiry, plus pg_try_advisory_lock on PostgreSQL.

The rules, written down once:
- Each board (Notion database) has its own lock: a lease row named after it, and on PostgreSQL an
  advisory lock whose key is derived from that name. Advisory locks live in one database; clean-up
  looks only at the current database, and ends only a session that is provably the expired holder's
  (its `application_name` carries the holder's token).
- A lease is taken over when its holder is gone (same host, process not alive) or when it expired and
  then a grace period passed: the longest a request may take, so that a write the old holder had in
  flight has landed (and can be found by its key) before the new holder looks.
- The holder proves its lease right before every write (`check`): a run that was frozen past its
  lease (SIGSTOP, a paused VM) finds on waking that the lease is no longer its own, and writes nothing.
- Lease times come from the mirror database's clock where it has one (PostgreSQL), so that hosts with
  skewed clocks agree; the holder measures its own validity on its monotonic clock.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, delete, select, text, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from reconcile.clock import Clock
from reconcile.errors import Locked
from reconcile.mirror.tables import LockRow
from reconcile.model import iso

log = logging.getLogger("reconcile.lock")

LEASE = timedelta(seconds=120)
GRACE = timedelta(seconds=65)  # the longest a write may be in flight: Notion's 60 s timeout, and a margin
HEARTBEAT_SECONDS = 20.0
RENEW_SHARE = 0.25  # `check` renews inline when less than this share of the lease is left
TAKEOVER_WAIT = 10.0  # seconds to wait for PostgreSQL to drop an ended holder's session
APPLICATION = "reconcile-lock"  # application_name prefix of the sessions that hold advisory locks


class LeaseLost(Locked):
    """The lease is no longer this run's: another run may be writing; this one must not."""


def lock_name(board: str) -> str:
    return f"reconcile:{board}"


@dataclass(frozen=True)
class Holder:
    """Who holds (or held) the lock."""

    holder: str
    host: str
    pid: int
    acquired_at: datetime
    heartbeat_at: datetime
    expires_at: datetime

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host} since {self.acquired_at:%Y-%m-%d %H:%M:%S}Z"

    def as_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "pid": self.pid,
            "acquired_at": iso(self.acquired_at),
            "heartbeat_at": iso(self.heartbeat_at),
            "expires_at": iso(self.expires_at),
        }

    def gone(self, now: datetime, grace: timedelta) -> str | None:
        """Why this holder may be taken over, or None while it may still be writing."""
        if self.host == socket.gethostname() and not _alive(self.pid):
            return "that process is gone"
        if self.expires_at + grace <= now:
            return f"its lease expired at {self.expires_at:%H:%M:%S}Z without a heartbeat"
        return None


class Lease:
    """A board's lock; use as a context manager around everything that writes."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        board: str,
        *,
        lease: timedelta = LEASE,
        grace: timedelta = GRACE,
        heartbeat: float = HEARTBEAT_SECONDS,
    ) -> None:
        self.engine, self.clock, self.name = engine, clock, lock_name(board)
        self.lease, self.grace, self.heartbeat = lease, grace, heartbeat
        self.token = uuid.uuid4().hex
        self.host, self.pid = socket.gethostname(), os.getpid()
        self.postgres = engine.dialect.name == "postgresql"
        self._connection: Connection | None = None  # PostgreSQL: the session holding the advisory lock
        self._using = threading.Lock()  # the heartbeat and `check` share that session
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._valid_until = 0.0  # monotonic seconds until which the lease is surely ours
        self.lost = False

    def __enter__(self) -> Lease:
        self.acquire()
        return self

    def __exit__(
        self, *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]
    ) -> None:
        self.release()

    def acquire(self) -> None:
        """Take the lock or raise Locked naming the holder."""
        try:
            if self.postgres:
                self._connection = self.engine.connect()
                self._advisory_lock(self._connection)
            with self._use() as connection:
                self._take_lease(connection)
        except BaseException:
            self._close()
            raise
        self._thread = threading.Thread(target=self._beat, name="reconcile-heartbeat", daemon=True)
        self._thread.start()

    def release(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        mine = delete(LockRow).where(LockRow.name == self.name, LockRow.holder == self.token)
        try:
            with self._use() as connection:
                connection.execute(mine)
                connection.commit()
        except (SQLAlchemyError, LeaseLost):  # the held session ended: remove our lease (if still ours) anew
            with self.engine.begin() as connection:
                connection.execute(mine)
        finally:
            self._close()

    @contextmanager
    def _use(self) -> Iterator[Connection]:
        """The connection for lease work: on PostgreSQL the session holding the advisory lock (so that
        a lease outlives that session by not a single renewal), on SQLite a fresh one."""
        if not self.postgres:
            with self.engine.connect() as connection:
                yield connection
            return
        with self._using:
            if self._connection is None:
                raise LeaseLost("the session holding the lock is closed")
            yield self._connection

    def check(self) -> None:
        """Prove the lease is still this run's, right before a write; raise LeaseLost if it is not."""
        margin = self.lease.total_seconds() * RENEW_SHARE
        if not self.lost and self.clock.monotonic() >= self._valid_until - margin:
            self._renew()
        if self.lost or self.clock.monotonic() >= self._valid_until:
            self.lost = True
            raise LeaseLost("the lock's lease is no longer this run's; stopping before the next write")

    # -- the lease row ------------------------------------------------------------------------

    def _take_lease(self, connection: Connection) -> None:
        """Insert the lease, or swap out one whose holder is gone; the database decides any race."""
        started = self.clock.monotonic()
        now = self._now(connection)
        current = _holder(connection.execute(select(LockRow).where(LockRow.name == self.name)).first())
        row = {
            "name": self.name,
            "holder": self.token,
            "host": self.host,
            "pid": self.pid,
            "acquired_at": now,
            "heartbeat_at": now,
            "expires_at": now + self.lease,
        }
        if current is None:
            won = self._insert(connection, row)
        else:
            why = current.gone(now, self.grace)
            if why is None:
                connection.rollback()
                raise Locked(f"another run holds the lock: {current.describe()}")
            log.warning("taking over the lock of %s (%s)", current.describe(), why)
            swap = update(LockRow).where(
                LockRow.name == self.name,
                LockRow.holder == current.holder,
                LockRow.expires_at == current.expires_at,  # a holder that renewed meanwhile keeps it
            )
            won = connection.execute(swap.values(**row)).rowcount == 1
            connection.commit()
        if not won:
            raise Locked("another run took the lock at the same moment")
        self._valid_until = started + self.lease.total_seconds()

    @staticmethod
    def _insert(connection: Connection, row: dict[str, object]) -> bool:
        try:
            connection.execute(LockRow.__table__.insert().values(**row))
            connection.commit()
        except IntegrityError:
            connection.rollback()
            return False
        return True

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat):
            self._renew()

    def _renew(self) -> None:
        """Push the lease's expiry forward; finding it no longer ours means it was taken over."""
        started = self.clock.monotonic()
        try:
            with self._use() as connection:
                now = self._now(connection)
                done = connection.execute(
                    update(LockRow)
                    .where(LockRow.name == self.name, LockRow.holder == self.token)
                    .values(heartbeat_at=now, expires_at=now + self.lease)
                )
                connection.commit()
        except LeaseLost:
            self._lose("the session holding the lock is closed")
            return
        except SQLAlchemyError as exc:
            if self.postgres and self._session_ended():  # the advisory lock went with the session
                self._lose("the session holding the lock ended")
            else:  # a missed beat is survivable; the lease is several beats long
                log.warning("lock heartbeat failed: %s", str(exc).strip().splitlines()[0])
            return
        if done.rowcount == 1:
            self._valid_until = started + self.lease.total_seconds()
        else:
            self._lose("the lock was taken over by another run")

    def _session_ended(self) -> bool:
        connection = self._connection
        if connection is None:
            return True
        try:
            connection.rollback()
        except SQLAlchemyError:
            return True
        return connection.invalidated

    def _lose(self, why: str) -> None:
        if not self.lost:
            self.lost = True
            log.error("%s; stopping writes", why)

    def _now(self, connection: Connection) -> datetime:
        """The lease clock: PostgreSQL's own, else this host's."""
        if self.postgres:
            moment: datetime = connection.execute(text("SELECT clock_timestamp()")).scalar_one()
            return moment
        return self.clock.now()

    # -- PostgreSQL advisory lock -------------------------------------------------------------

    def _advisory_lock(self, connection: Connection) -> None:
        """pg_try_advisory_lock; when the lease says its holder is gone, end that holder's session."""
        connection.execute(text("SELECT set_config('application_name', :name, false)"), {"name": self._app()})
        connection.commit()
        deadline = self.clock.monotonic() + TAKEOVER_WAIT
        while not _try_advisory(connection, self.name):
            current = _holder(connection.execute(select(LockRow).where(LockRow.name == self.name)).first())
            connection.commit()
            why = current.gone(self._now(connection), self.grace) if current else None
            if current is None or why is None or self.clock.monotonic() > deadline:
                who = current.describe() if current else "a PostgreSQL session"
                raise Locked(f"another run holds the lock: {who}")
            log.warning("taking over the lock of %s (%s)", current.describe(), why)
            _end_sessions_of(connection, self.name, current.holder)
            self.clock.sleep(0.2)  # PostgreSQL releases a session's locks as the session ends

    def _app(self) -> str:
        return f"{APPLICATION} {self.token}"

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            if self.postgres:
                connection.execute(text("SELECT pg_advisory_unlock_all()"))
                connection.commit()
        except SQLAlchemyError:
            pass  # a session that ended has released its locks already
        finally:
            connection.close()


def _try_advisory(connection: Connection, name: str) -> bool:
    got = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": advisory_key(name)})
    result = bool(got.scalar())
    connection.commit()
    return result


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock."""
    return int.from_bytes(hashlib.sha256(f"reconcile:{name}".encode()).digest()[:8], "big", signed=True)


def _advisory_sessions(connection: Connection, name: str) -> list[tuple[int, str]]:
    """(pid, application_name) of the sessions of *this* database holding the board's advisory lock."""
    key = advisory_key(name)
    query = text(
        "SELECT l.pid, coalesce(a.application_name, '') FROM pg_locks l "
        "JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.pid <> pg_backend_pid() "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND l.classid = :high AND l.objid = :low AND l.objsubid = 1"
    )
    rows = connection.execute(query, {"high": (key >> 32) & 0xFFFFFFFF, "low": key & 0xFFFFFFFF}).all()
    return [(int(pid), str(app)) for pid, app in rows]


def _end_sessions_of(connection: Connection, name: str, holder: str) -> list[str]:
    """End the sessions holding the advisory lock that belong to this holder (by application_name)."""
    done = []
    for pid, app in _advisory_sessions(connection, name):
        if app == f"{APPLICATION} {holder}":
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            done.append(f"ended PostgreSQL session {pid} holding the advisory lock")
    connection.commit()
    return done


def current_holder(engine: Engine, board: str) -> Holder | None:
    with engine.connect() as connection:
        return _holder(connection.execute(select(LockRow).where(LockRow.name == lock_name(board))).first())


def clear(engine: Engine, clock: Clock, board: str, grace: timedelta = GRACE) -> list[str]:
    """Remove the board's lock when its holder is gone; a live holder is named and left alone."""
    name = lock_name(board)
    with engine.connect() as connection:
        holder = _holder(connection.execute(select(LockRow).where(LockRow.name == name)).first())
        now = (
            connection.execute(text("SELECT clock_timestamp()")).scalar_one() if _pg(engine) else clock.now()
        )
        if holder is not None and holder.gone(now, grace) is None:
            return [_left_alone(holder, now, grace)]
        done = []
        if holder is not None:
            connection.execute(delete(LockRow).where(LockRow.name == name, LockRow.holder == holder.holder))
            connection.commit()
            done.append(f"removed the lease of {holder.describe()}")
            if _pg(engine):
                done += _end_sessions_of(connection, name, holder.holder)
        elif _pg(engine) and _advisory_sessions(connection, name):
            done.append("a PostgreSQL session holds the advisory lock with no lease; left alone")
    return done


def _left_alone(holder: Holder, now: datetime, grace: timedelta) -> str:
    """Why `reset --clear-locks` does not touch a holder that may still write."""
    until = f"{holder.expires_at:%H:%M:%S}Z"
    if holder.expires_at > now:
        state = f"the lock is held by a live run: {holder.describe()}, lease until {until}"
    else:
        state = f"the lease of {holder.describe()} expired at {until}, but a write it sent may still land"
    free_at = holder.expires_at + grace
    return f"{state}; left alone (free from {free_at:%Y-%m-%d %H:%M:%S}Z, or once that process ends)"


def _pg(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def _holder(row: object | None) -> Holder | None:
    if row is None:
        return None
    return Holder(
        row.holder,  # type: ignore[attr-defined]
        row.host,  # type: ignore[attr-defined]
        row.pid,  # type: ignore[attr-defined]
        row.acquired_at,  # type: ignore[attr-defined]
        row.heartbeat_at,  # type: ignore[attr-defined]
        row.expires_at,  # type: ignore[attr-defined]
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
