"""A Notion request budget shared through the mirror database (`notion.budget`).

Boards that use one Notion integration share its rate limit, whichever process or host runs them. The
`budgets` row named by `notion.budget` (a name chosen in config, never the token) holds `next_at`, the
next free slot in seconds since the epoch. Each request reserves a slot atomically, in one statement:

    UPDATE budgets SET next_at = greatest(next_at, now) + 1/rate ... RETURNING

and waits until its slot. Together the boards therefore send no more than `requests_per_second`. A 429
pushes `next_at` past its Retry-After for every process, and this process also spaces its own requests
wider for a while (as the per-process `Pacer` does), which holds the others back too.

On PostgreSQL "now" is the database's clock, and the wait is reckoned from it, so hosts with skewed clocks
still share one timeline; SQLite (one host) uses this process's clock. Waiting goes through the Clock, so
tests need not sleep. If the mirror cannot be reached, this process paces itself alone (and says so once).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine, Float, cast, func, literal, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from reconcile.clients.http import Pacer, Pacing
from reconcile.clock import Clock
from reconcile.config import NotionConfig
from reconcile.mirror.store import upsert
from reconcile.mirror.tables import BudgetRow

log = logging.getLogger("reconcile.budget")

CALM_REQUESTS = 20  # requests without a rate limit before the pace creeps back up
SLOWEST = 8  # after rate limits, never slower than this many times the configured interval


def notion_pacing(engine: Engine, config: NotionConfig, clock: Clock) -> Pacing:
    """The shared budget when the config names one, else this process's own token bucket."""
    if config.budget:
        return SharedBudget(engine, config.budget, config.requests_per_second, clock)
    return Pacer(config.requests_per_second, clock)


class SharedBudget:
    """Pacing by slots reserved in the mirror database's `budgets` row."""

    def __init__(self, engine: Engine, name: str, rate: float, clock: Clock) -> None:
        self.engine, self.name, self.clock = engine, name, clock
        self.target = self.rate = rate
        self.calm = 0
        self.postgres = engine.dialect.name == "postgresql"
        self._alone: Pacer | None = None  # when the mirror fails: this process's own bucket
        self._ready = False

    def acquire(self) -> None:
        """Reserve the next slot and wait for it."""
        if self._alone is not None:
            self._alone.acquire()
            return
        try:
            wait = self._reserve(1.0 / self.rate)
        except SQLAlchemyError as exc:
            self._go_alone(exc)
            self.acquire()
            return
        if wait > 0:
            self.clock.sleep(wait)

    def penalise(self, wait: float = 0.0) -> None:
        """After a 429: nobody sends before its Retry-After is over; this process slows down for a while."""
        self.rate = max(self.target / SLOWEST, self.rate / 2)
        self.calm = 0
        if self._alone is not None:
            self._alone.penalise(wait)
            return
        try:
            self._push(wait)
        except SQLAlchemyError as exc:
            self._go_alone(exc)

    def reward(self) -> None:
        """After enough calm requests, creep back toward the configured rate."""
        self.calm += 1
        if self.rate < self.target and self.calm >= CALM_REQUESTS:
            self.rate = min(self.target, self.rate * 1.25)
            self.calm = 0

    # -- the budgets row ------------------------------------------------------------------------

    def _reserve(self, interval: float) -> float:
        """Take the next slot; returns the seconds until it (0 or less: go now)."""
        self._ensure()
        now = self._now()
        statement = (
            update(BudgetRow)
            .where(BudgetRow.name == self.name)
            .values(next_at=self._greatest(BudgetRow.next_at, now) + interval, updated_at=self.clock.now())
            .returning(BudgetRow.next_at, now)
        )
        with self.engine.begin() as connection:
            next_at, at = connection.execute(statement).one()
        return float(next_at) - interval - float(at)

    def _push(self, wait: float) -> None:
        """No slot before `wait` seconds from now, for anyone."""
        self._ensure()
        later = self._greatest(BudgetRow.next_at, self._now() + wait)
        statement = (
            update(BudgetRow)
            .where(BudgetRow.name == self.name)
            .values(next_at=later, updated_at=self.clock.now())
        )
        with self.engine.begin() as connection:
            connection.execute(statement)

    def _ensure(self) -> None:
        """The budget's row, created by whichever process comes first."""
        if self._ready:
            return
        row = {"name": self.name, "next_at": 0.0, "updated_at": self.clock.now()}
        with Session(self.engine) as session, session.begin():
            upsert(session, BudgetRow, [row], ["name"], keep_existing=True)
        self._ready = True

    def _now(self) -> Any:
        """Seconds since the epoch: PostgreSQL's clock (shared by every host), else this process's."""
        if self.postgres:
            return cast(func.extract("epoch", func.clock_timestamp()), Float)
        return literal(self.clock.now().timestamp(), Float)

    def _greatest(self, left: Any, right: Any) -> Any:
        return func.greatest(left, right) if self.postgres else func.max(left, right)

    def _go_alone(self, exc: SQLAlchemyError) -> None:
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        log.warning(
            "shared request budget %r: the mirror failed (%s); this process paces itself alone",
            self.name,
            first[0] if first else type(exc).__name__,
        )
        self._alone = Pacer(self.rate, self.clock)
