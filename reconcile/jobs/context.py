"""What every job needs: the config, the mirror, the clients, the clock and the metrics."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from reconcile.clients.github import GitHubClient
from reconcile.clients.notion import QUERY_RESULT_LIMIT, NotionClient
from reconcile.clock import Clock, SystemClock
from reconcile.config import Config
from reconcile.logs import add_secrets
from reconcile.metrics import Metrics
from reconcile.mirror import store
from reconcile.mirror.budget import notion_pacing
from reconcile.mirror.db import ensure_schema, open_engine
from reconcile.mirror.lock import HEARTBEAT_SECONDS, Lease
from reconcile.planner import MirrorState
from reconcile.progress import Progress, Silent

SECRET_VARIABLES = ("NOTION_API_KEY", "GITHUB_TOKEN")


@dataclass
class Context:
    """One command's world."""

    config: Config
    engine: Engine
    clock: Clock
    notion: NotionClient
    github: GitHubClient
    metrics: Metrics = field(default_factory=Metrics)
    fixed_now: datetime | None = None  # RECONCILE_NOW
    progress: Progress = field(default_factory=Silent)  # long steps report here (a bar on a terminal)

    @classmethod
    def build(
        cls,
        config: Config,
        *,
        clock: Clock | None = None,
        fixed_now: datetime | None = None,
        query_limit: int = QUERY_RESULT_LIMIT,
        migrate: bool = True,
    ) -> Context:
        """Clients and mirror for this config; SQLite mirrors are migrated on first use."""
        clock = clock or SystemClock()
        add_secrets(
            secret.get_secret_value() for secret in (config.notion.token, config.github.token) if secret
        )
        add_secrets(os.environ.get(name) for name in SECRET_VARIABLES)  # as set, before config stripped them
        metrics = Metrics()
        engine = open_engine(config.mirror.url)
        if migrate:
            ensure_schema(engine)
        notion = NotionClient(
            config.notion,
            clock,
            observe=metrics.request,
            query_limit=query_limit,
            pacer=notion_pacing(engine, config.notion, clock),  # shared with other boards when named
        )
        github = GitHubClient(config.github, clock, observe=metrics.request)
        return cls(config, engine, clock, notion, github, metrics, fixed_now)

    @property
    def board(self) -> str:
        """The board this command works on: its Notion database id (keys links, journal, runs, lock)."""
        return self.config.notion.database_id

    def lease(self) -> Lease:
        """The board's lock, with a grace period as long as the longest write may be in flight."""
        lease = self.config.mirror.lock_lease
        grace = timedelta(seconds=self.config.notion.timeout_seconds + 5)
        heartbeat = min(HEARTBEAT_SECONDS, lease.total_seconds() / 6)
        return Lease(self.engine, self.clock, self.board, lease=lease, grace=grace, heartbeat=heartbeat)

    @contextmanager
    def writing(self) -> Iterator[Lease]:
        """Hold the board's lock, and make every Notion write prove it right before it is sent."""
        with self.lease() as lease:
            self.notion.fence = lease.check
            try:
                yield lease
            finally:
                self.notion.fence = None

    def now(self) -> datetime:
        """ "Now" for plans, stale rules and reports (RECONCILE_NOW when set)."""
        return self.fixed_now or self.clock.now()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose work is committed on success and rolled back on error."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    def mirror_state(self) -> MirrorState:
        """Everything the planner needs, read from the mirror in one transaction."""
        github = self.config.github
        with self.session() as session:
            return MirrorState(
                items=[item for item in store.load_items(session, github.repos) if item.kind in github.kinds],
                pages=store.load_pages(session, self.config.notion.database_id),
                links=store.load_links(session, self.board),
                applied=store.load_applied(session),
                gone=store.load_gone(session),
            )

    def close(self) -> None:
        self.engine.dispose()
