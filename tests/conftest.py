"""Shared fixtures: the sandbox over loopback, a real SQLite file or a fresh PostgreSQL database, a World."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from reconcile.clock import Clock, FakeClock
from reconcile.config import Config, config_from_dict
from reconcile.jobs.context import Context
from reconcile.jobs.demo import MAPPING as DEMO_MAPPING
from reconcile.jobs.run import RunResult, execute, pull_step
from reconcile.mirror.db import open_engine, upgrade
from reconcile.sandbox import Sandbox
from reconcile.sandbox.sample import SCHEMA as SAMPLE_SCHEMA

PG_ADMIN = os.environ.get("RECONCILE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REPOS = ["acme/web", "acme/api"]
START = datetime(2026, 1, 10, 12, 0, 37, tzinfo=UTC)  # seconds: Notion keeps minutes

SCHEMA: dict[str, Any] = SAMPLE_SCHEMA  # the demo's database
MAPPING: dict[str, Any] = copy.deepcopy(DEMO_MAPPING)  # the demo's mapping, with Status owned by GitHub
del MAPPING["properties"]["Status"]["policy"]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def mirror_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A real SQLite file, or an emptied database on the real PostgreSQL server (migrated)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'mirror.db'}"
    url: str = request.getfixturevalue("postgres_database")
    empty_tables(url)
    return url


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """One migrated database for the session; each test starts from empty tables."""
    yield from fresh_postgres()


def empty_tables(url: str) -> None:
    from reconcile.mirror.tables import Base

    engine = create_engine(url)
    names = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        # sessions left by earlier tests (pooled connections, advisory locks) must not reach into this one
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY"))
    engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mirror.db'}"


def fresh_postgres() -> Iterator[str]:
    """A new database on the server, migrated; dropped afterwards."""
    for url in empty_postgres_database():
        engine = open_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url


def empty_postgres_database() -> Iterator[str]:
    """A new database on the server with nothing in it (what a mirror is before `db upgrade`)."""
    name = f"reconcile_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[Sandbox]:
    """The sandbox on the test's fake clock, checking every request body against the OpenAPI descriptions."""
    with Sandbox(clock=clock, validate_requests=True) as sb:
        yield sb


@pytest.fixture
def world(sandbox: Sandbox, mirror_url: str, clock: FakeClock) -> World:
    return World(sandbox, mirror_url, clock)


class World:
    """A sandbox with two repositories and a database, plus a config and contexts that point at them."""

    def __init__(
        self,
        sandbox: Sandbox,
        mirror_url: str,
        clock: Clock,
        schema: dict[str, Any] | None = None,
        version: str = "2022-06-28",
    ) -> None:
        self.sandbox, self.mirror_url, self.clock = sandbox, mirror_url, clock
        for repo in REPOS:
            sandbox.github.add_repo(repo)
        self.database_id = sandbox.notion.create_database(
            title="Work", properties=copy.deepcopy(schema or SCHEMA)
        )
        self.version = version
        self.overrides: dict[str, Any] = {}

    # -- GitHub side ---------------------------------------------------------------------------

    def issue(self, repo: str = "acme/web", **fields: Any) -> dict[str, Any]:
        fields.setdefault("title", f"Issue {uuid.uuid4().hex[:6]}")
        return self.sandbox.github.create_issue(repo, **fields)

    # -- Notion side ---------------------------------------------------------------------------

    def pages(self, include_trashed: bool = False) -> list[dict[str, Any]]:
        return self.sandbox.notion.pages(self.database_id, include_trashed=include_trashed)

    def page_for(self, url: str) -> dict[str, Any]:
        matches = [p for p in self.pages() if p["properties"]["GitHub URL"]["url"] == url]
        assert len(matches) == 1, f"{len(matches)} pages for {url}"
        return matches[0]

    def pages_by_key(self) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {}
        for page in self.pages():
            found.setdefault(page["properties"]["GitHub URL"]["url"], []).append(page)
        return found

    # -- the job -------------------------------------------------------------------------------

    def raw_config(self, **overrides: Any) -> dict[str, Any]:
        raw: dict[str, Any] = {
            "version": 1,
            "github": {
                "api_url": self.sandbox.github_url,
                "token": self.sandbox.github_token,
                "repos": list(REPOS),
            },
            "notion": {
                "api_url": self.sandbox.notion_url,
                "token": self.sandbox.notion_token,
                "database_id": self.database_id,
                "version": self.version,
                "requests_per_second": 50,
            },
            "mirror": {"url": self.mirror_url},
            "mapping": copy.deepcopy(MAPPING),
        }
        for path, value in {**self.overrides, **overrides}.items():
            _set(raw, path.split("__"), value)
        return raw

    def config(self, **overrides: Any) -> Config:
        return config_from_dict(self.raw_config(**overrides))

    def context(self, now: datetime | None = None, query_limit: int = 10_000, **overrides: Any) -> Context:
        return Context.build(
            self.config(**overrides), clock=self.clock, fixed_now=now, query_limit=query_limit
        )

    def run(
        self,
        *,
        full: bool = False,
        dry_run: bool = False,
        force: bool = False,
        now: datetime | None = None,
        **overrides: Any,
    ) -> RunResult:
        ctx = self.context(now=now, **overrides)
        try:
            return execute(ctx, "run", pull_step(full=full), dry_run=dry_run, force=force)
        finally:
            ctx.close()

    def notion_writes(self) -> int:
        return self.sandbox.writes("notion")

    def write_config(self, path: Path, **overrides: Any) -> Path:
        import yaml

        path.write_text(yaml.safe_dump(self.raw_config(**overrides), sort_keys=False), encoding="utf-8")
        return path


def _set(raw: dict[str, Any], path: list[str], value: Any) -> None:
    for part in path[:-1]:
        raw = raw.setdefault(part, {})
    raw[path[-1]] = value


def cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The installed command, in a real subprocess."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTION_", "GITHUB_", "RECONCILE_"))}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "reconcile", *args],
        env=full_env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
