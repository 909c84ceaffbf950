"""A mirror database that fails (damaged, read-only, locked, full, from a newer reconcile, in memory, of an
unsupported kind) ends the command with one line that says what to do: no traceback, no SQL."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from reconcile.mirror.db import head_revision
from reconcile.sandbox import Sandbox
from tests.conftest import World, cli

pytestmark = pytest.mark.slow


@pytest.fixture
def built(sandbox: Sandbox, tmp_path: Path) -> tuple[World, Path, Path]:
    """A world, its config, and a SQLite mirror a first run has filled."""
    database = tmp_path / "mirror.db"
    world = World(sandbox, f"sqlite:///{database}", sandbox.clock)
    for n in range(3):
        world.issue(title=f"Issue {n}", labels=["bug"])
    config = world.write_config(tmp_path / "config.yaml")
    first = cli("run", "-c", str(config))
    assert first.returncode == 0, first.stderr
    return world, config, database


def assert_one_line(done: subprocess.CompletedProcess[str], *words: str) -> str:
    """Exit 1 with a single error line holding the words (`error: ...`, or for a run that could not start
    its FAILED outcome line); nothing that looks like a crash."""
    assert done.returncode == 1, done.stdout + done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:") or " FAILED: " in line]
    assert len(lines) == 1, done.stderr
    for noise in ("internal error", "Traceback", "[SQL", "sqlalchemy", "Background on this error"):
        assert noise not in done.stdout + done.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def test_a_file_that_is_not_a_database_says_restore_or_delete(built: tuple[World, Path, Path]) -> None:
    _, config, database = built
    database.write_bytes(b"this is not a database, whatever it once was. " * 200)

    for command in ("run", "status"):
        assert_one_line(cli(command, "-c", str(config)), str(database), "damaged", "delete it", "rebuild")


def test_a_truncated_mirror_says_restore_or_delete(sandbox: Sandbox, tmp_path: Path) -> None:
    database = tmp_path / "mirror.db"
    world = World(sandbox, f"sqlite:///{database}", sandbox.clock)
    for n in range(40):
        world.issue(title=f"Issue {n} " + "x" * 400, labels=["bug"])
    config = world.write_config(tmp_path / "config.yaml")
    assert cli("run", "-c", str(config)).returncode == 0
    os.truncate(database, database.stat().st_size // 3)

    assert_one_line(cli("run", "-c", str(config)), "damaged", "delete it")


def test_a_mirror_deleted_after_damage_is_rebuilt_without_duplicates(built: tuple[World, Path, Path]) -> None:
    world, config, database = built
    database.write_bytes(b"\0garbage" * 512)
    assert cli("run", "-c", str(config)).returncode == 1

    database.unlink()  # what the message says to do
    done = cli("run", "-c", str(config))

    assert done.returncode == 0, done.stderr
    assert len(world.pages()) == 3 and all(len(p) == 1 for p in world.pages_by_key().values())


@pytest.fixture
def immutable(built: tuple[World, Path, Path]) -> Iterator[tuple[Path, Path]]:
    """The built mirror, made immutable (`chattr +i`; needs root and a file system that has it)."""
    _, config, database = built
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(database)], capture_output=True).returncode:
        pytest.skip("chattr +i is not available here")
    try:
        yield config, database
    finally:
        subprocess.run([chattr, "-i", str(database)], check=True)


def test_an_immutable_mirror_says_make_it_writable(immutable: tuple[Path, Path]) -> None:
    config, database = immutable

    assert_one_line(cli("run", "-c", str(config)), str(database), "cannot be written", "writable")


def test_a_mirror_locked_by_another_process_says_wait(built: tuple[World, Path, Path]) -> None:
    world, _, database = built
    config = world.write_config(database.parent / "quick.yaml", mirror__url=f"sqlite:///{database}?timeout=1")
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process writing, for longer than the busy timeout
    try:
        done = cli("run", "-c", str(config))
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert_one_line(done, "locked by another process", "wait")
    assert cli("run", "-c", str(config)).returncode == 0  # and once it is gone, all is well


def _can_mount_tmpfs(where: Path) -> bool:
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    probe = subprocess.run(
        [unshare, "--mount", "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs {where}"], capture_output=True
    )
    return probe.returncode == 0


def test_a_full_disk_says_free_space(sandbox: Sandbox, tmp_path: Path) -> None:
    small = tmp_path / "small"
    small.mkdir()
    if not _can_mount_tmpfs(small):
        pytest.skip("cannot mount a small tmpfs here (needs root and unshare)")
    world = World(sandbox, f"sqlite:///{small / 'mirror.db'}", sandbox.clock)
    for n in range(3):
        world.issue(title=f"Issue {n}")
    config = world.write_config(tmp_path / "config.yaml")
    reconcile = f"{sys.executable} -m reconcile"
    # in a mount namespace of its own: a 2 MB tmpfs, the mirror made on it, the rest of it filled up
    script = (
        f"mount -t tmpfs -o size=2m tmpfs {small} && {reconcile} db upgrade -c {config} >/dev/null && "
        f"(dd if=/dev/zero of={small}/filler bs=4k 2>/dev/null; true) && exec {reconcile} run -c {config}"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTION_", "GITHUB_", "RECONCILE_"))}

    done = subprocess.run(
        ["unshare", "--mount", "sh", "-c", script], env=env, capture_output=True, text=True, timeout=120
    )

    assert_one_line(done, "disk is full", "free space")
    assert world.pages() == []


def test_a_mirror_from_a_newer_reconcile_says_upgrade_reconcile(world: World, tmp_path: Path) -> None:
    config = world.write_config(tmp_path / "config.yaml")
    assert cli("db", "upgrade", "-c", str(config)).returncode == 0
    engine = create_engine(world.mirror_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    try:
        for command in (["run"], ["db", "upgrade"]):
            line = assert_one_line(cli(*command, "-c", str(config)), "9999", "newer reconcile")
            assert "upgrade reconcile" in line
    finally:
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE alembic_version SET version_num = :head"), {"head": head_revision()}
            )
        engine.dispose()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_mirror_is_refused(url: str, sandbox: Sandbox, tmp_path: Path) -> None:
    config = World(sandbox, url, sandbox.clock).write_config(tmp_path / "config.yaml")
    for command in (["db", "upgrade"], ["run"], ["status"]):
        assert_one_line(cli(*command, "-c", str(config)), "in-memory", "sqlite:///")


def test_an_unsupported_database_names_the_supported_ones(tmp_path: Path) -> None:
    done = cli("db", "upgrade", env={"RECONCILE_DATABASE_URL": "mysql://me:pw@db.example/x"}, cwd=tmp_path)

    line = assert_one_line(done, "mysql is not supported", "SQLite", "PostgreSQL")
    assert "pw" not in line
