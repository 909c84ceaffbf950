"""First runs and `db upgrade` at once: migrations serialise; every loser waits or exits 75, never 1."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from reconcile.mirror.db import current_revision, head_revision, open_engine
from reconcile.sandbox import Sandbox
from tests.conftest import World, cli, empty_postgres_database

pytestmark = pytest.mark.slow

RACERS = 5


def race(*args: str, env: dict[str, str] | None = None) -> list[subprocess.CompletedProcess[str]]:
    """The same command started RACERS times at once, each in its own process."""
    with ThreadPoolExecutor(RACERS) as pool:
        return list(pool.map(lambda _: cli(*args, env=env, timeout=300), range(RACERS)))


def test_first_runs_at_once_on_a_new_sqlite_mirror_each_run_or_exit_75(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    world = World(sandbox, f"sqlite:///{tmp_path / 'new' / 'mirror.db'}", sandbox.clock)
    (tmp_path / "new").mkdir()
    for n in range(3):
        world.issue(title=f"Issue {n}")
    config = world.write_config(tmp_path / "config.yaml")

    done = race("run", "-c", str(config))

    codes = sorted(process.returncode for process in done)
    assert set(codes) <= {0, 75}, [process.stderr for process in done if process.returncode not in (0, 75)]
    assert 0 in codes
    assert all("already exists" not in process.stderr for process in done)
    assert {key: len(pages) for key, pages in world.pages_by_key().items()} == {
        key: 1 for key in world.pages_by_key()
    }
    assert len(world.pages()) == 3


def test_db_upgrade_at_once_on_a_new_sqlite_mirror_all_succeed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mirror.db'}"

    done = race("db", "upgrade", env={"RECONCILE_DATABASE_URL": url})

    assert [process.returncode for process in done] == [0] * RACERS, [process.stderr for process in done]
    assert current_revision(open_engine(url)) == head_revision()


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    """A new PostgreSQL database with nothing in it (not migrated)."""
    yield from empty_postgres_database()


@pytest.mark.postgres
def test_db_upgrade_at_once_on_postgresql_all_succeed(empty_postgres: str) -> None:
    done = race("db", "upgrade", env={"RECONCILE_DATABASE_URL": empty_postgres})

    assert [process.returncode for process in done] == [0] * RACERS, [process.stderr for process in done]
    assert all("IntegrityError" not in process.stderr for process in done)
    engine = open_engine(empty_postgres)
    assert current_revision(engine) == head_revision()
    engine.dispose()
