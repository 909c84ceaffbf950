"""One writer at a time: a lease with heartbeat and expiry (SQLite), pg_try_advisory_lock (PostgreSQL).

A lease whose holder is gone (same host, process not alive) or whose heartbeat stopped past its
expiry is taken over, so a killed run never blocks the next one for long.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType

from sqlalchemy import Connection, Engine, delete, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reconcile.clock import Clock
from reconcile.errors import Locked
from reconcile.mirror.tables import LockRow

log = logging.getLogger("reconcile.lock")

LOCK_NAME = "reconcile"
LEASE = timedelta(seconds=120)
HEARTBEAT_SECONDS = 20.0
TAKEOVER_WAIT = 10.0  # seconds to wait for PostgreSQL to drop a dead holder's session


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


class Lease:
    """The job's lock; use as a context manager around everything that writes."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        *,
        name: str = LOCK_NAME,
        lease: timedelta = LEASE,
        heartbeat: float = HEARTBEAT_SECONDS,
    ) -> None:
        self.engine, self.clock, self.name = engine, clock, name
        self.lease, self.heartbeat = lease, heartbeat
        self.token = uuid.uuid4().hex
        self.host, self.pid = socket.gethostname(), os.getpid()
        self._advisory: Connection | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
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
        if self.engine.dialect.name == "postgresql":
            self._advisory_lock()
        try:
            self._take_lease(takeover_any=self._advisory is not None)
        except BaseException:
            self._advisory_unlock()
            raise
        self._thread = threading.Thread(target=self._beat, name="reconcile-heartbeat", daemon=True)
        self._thread.start()

    def release(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        with Session(self.engine) as session, session.begin():
            session.execute(delete(LockRow).where(LockRow.name == self.name, LockRow.holder == self.token))
        self._advisory_unlock()

    # -- the lease row ------------------------------------------------------------------------

    def _take_lease(self, takeover_any: bool) -> None:
        """Insert the lease, or swap out an expired one; the database decides any race."""
        now = self.clock.now()
        row = {
            "name": self.name,
            "holder": self.token,
            "host": self.host,
            "pid": self.pid,
            "acquired_at": now,
            "heartbeat_at": now,
            "expires_at": now + self.lease,
        }
        with Session(self.engine) as session:
            current = _holder(session.get(LockRow, self.name))
            if current and not takeover_any and not self._expired(current, now):
                raise Locked(f"another run holds the lock: {current.describe()}")
            if current is None:
                won = self._insert(session, row)
            else:
                if self._expired(current, now):  # with PostgreSQL, the advisory lock already said it is ours
                    log.warning(
                        "taking over the lock of %s (%s)", current.describe(), self._why_expired(current, now)
                    )
                swap = update(LockRow).where(LockRow.name == self.name, LockRow.holder == current.holder)
                won = session.execute(swap.values(**row)).rowcount == 1  # type: ignore[attr-defined]
                session.commit()
        if not won:
            raise Locked("another run took the lock at the same moment")

    @staticmethod
    def _insert(session: Session, row: dict[str, object]) -> bool:
        try:
            session.add(LockRow(**row))
            session.commit()
        except IntegrityError:
            session.rollback()
            return False
        return True

    def _expired(self, holder: Holder, now: datetime) -> bool:
        return holder.expires_at <= now or (holder.host == self.host and not _alive(holder.pid))

    def _why_expired(self, holder: Holder, now: datetime) -> str:
        if holder.host == self.host and not _alive(holder.pid):
            return "that process is gone"
        return f"its lease expired at {holder.expires_at:%H:%M:%S}Z without a heartbeat"

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat):
            try:
                self._renew()
            except Exception as exc:  # a missed beat is survivable; the lease is several beats long
                log.warning("lock heartbeat failed: %s", exc)

    def _renew(self) -> None:
        now = self.clock.now()
        with Session(self.engine) as session, session.begin():
            done = session.execute(
                update(LockRow)
                .where(LockRow.name == self.name, LockRow.holder == self.token)
                .values(heartbeat_at=now, expires_at=now + self.lease)
            )
        if done.rowcount == 0 and not self.lost:  # type: ignore[attr-defined]
            self.lost = True
            log.error("the lock was taken over by another run; stopping writes")

    # -- PostgreSQL advisory lock -------------------------------------------------------------

    def _advisory_lock(self) -> None:
        """pg_try_advisory_lock; when the lease says its holder is gone, end that session and retry."""
        connection = self.engine.connect()
        deadline = self.clock.monotonic() + TAKEOVER_WAIT
        while not self._try_advisory(connection):
            current = current_holder(self.engine, self.name)
            gone = current is not None and self._expired(current, self.clock.now())
            if not gone or self.clock.monotonic() > deadline:
                connection.close()
                who = current.describe() if current else "a PostgreSQL session"
                raise Locked(f"another run holds the lock: {who}")
            assert current is not None
            log.warning(
                "taking over the lock of %s (%s)",
                current.describe(),
                self._why_expired(current, self.clock.now()),
            )
            with Session(self.engine) as session, session.begin():
                _end_advisory_holders(session, self.name)
            self.clock.sleep(0.2)  # PostgreSQL releases a session's locks as the session ends
        self._advisory = connection

    def _try_advisory(self, connection: Connection) -> bool:
        got = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": advisory_key(self.name)})
        result = bool(got.scalar())
        connection.commit()
        return result

    def _advisory_unlock(self) -> None:
        if self._advisory is None:
            return
        try:
            self._advisory.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": advisory_key(self.name)})
            self._advisory.commit()
        finally:
            self._advisory.close()
            self._advisory = None


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock."""
    return int.from_bytes(hashlib.sha256(f"reconcile:{name}".encode()).digest()[:8], "big", signed=True)


def current_holder(engine: Engine, name: str = LOCK_NAME) -> Holder | None:
    with Session(engine) as session:
        return _holder(session.get(LockRow, name))


def clear(engine: Engine, name: str = LOCK_NAME) -> list[str]:
    """Remove the lease row and end PostgreSQL sessions holding the advisory lock; returns what was done."""
    done = []
    with Session(engine) as session, session.begin():
        holder = _holder(session.get(LockRow, name))
        session.execute(delete(LockRow).where(LockRow.name == name))
        if holder:
            done.append(f"removed the lease of {holder.describe()}")
        if engine.dialect.name == "postgresql":
            done += _end_advisory_holders(session, name)
    return done


def _end_advisory_holders(session: Session, name: str) -> list[str]:
    key = advisory_key(name)
    high, low = (key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF
    query = text(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = :high AND objid = :low "
        "AND granted AND pid <> pg_backend_pid()"
    )
    pids = list(session.execute(query, {"high": high, "low": low}).scalars())
    for pid in pids:
        session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    return [f"ended PostgreSQL session {pid} holding the advisory lock" for pid in pids]


def _holder(row: LockRow | None) -> Holder | None:
    if row is None:
        return None
    return Holder(row.holder, row.host, row.pid, row.acquired_at, row.heartbeat_at, row.expires_at)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
