"""mirror_error: each real failure of the database itself, raised by a real operation, becomes one line
that says what to do; errors that mean a bug are left alone."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from reconcile.mirror.db import MirrorError, mirror_error, open_engine
from tests.conftest import PG_ADMIN


def failure_of(action: object) -> BaseException:
    try:
        action()  # type: ignore[operator]
    except (sqlite3.Error, SQLAlchemyError, MirrorError) as exc:
        return exc
    raise AssertionError("the operation did not fail")


def table(path: Path, **connect: object) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, **connect)  # type: ignore[call-overload]
    connection.execute("CREATE TABLE IF NOT EXISTS t (v BLOB)")
    return connection


def test_a_full_database_says_free_space(tmp_path: Path) -> None:
    connection = table(tmp_path / "m.db")
    connection.execute("PRAGMA max_page_count = 3")  # SQLITE_FULL for real, without filling a disk

    exc = failure_of(lambda: connection.execute("INSERT INTO t VALUES (randomblob(100000))"))

    mapped = mirror_error(exc, f"sqlite:///{tmp_path / 'm.db'}")
    assert mapped is not None and mapped.kind == "full"
    assert str(mapped).startswith(f"the mirror {tmp_path / 'm.db'} cannot grow: the disk is full")
    assert "free space" in str(mapped) and "\n" not in str(mapped)


def test_a_read_only_database_says_make_it_writable(tmp_path: Path) -> None:
    table(tmp_path / "m.db").close()
    reader = sqlite3.connect(f"file:{tmp_path / 'm.db'}?mode=ro", uri=True)

    mapped = mirror_error(failure_of(lambda: reader.execute("INSERT INTO t VALUES (1)")))

    assert mapped is not None and mapped.kind == "read_only" and "writable" in str(mapped)


def test_a_database_another_process_holds_says_wait(tmp_path: Path) -> None:
    holder = table(tmp_path / "m.db")
    holder.execute("BEGIN IMMEDIATE")
    other = sqlite3.connect(tmp_path / "m.db", timeout=0, isolation_level=None)

    mapped = mirror_error(failure_of(lambda: other.execute("INSERT INTO t VALUES (1)")))

    assert mapped is not None and mapped.kind == "locked" and "wait" in str(mapped)


def test_a_file_that_is_not_a_database_through_the_engine_says_delete_it(tmp_path: Path) -> None:
    (tmp_path / "m.db").write_bytes(b"not a database at all " * 100)
    engine = open_engine(f"sqlite:///{tmp_path / 'm.db'}")

    exc = failure_of(lambda: engine.connect().execute(text("SELECT 1")))

    assert isinstance(exc, MirrorError)  # raised as such by the engine's connect step
    assert "damaged" in str(exc) and "delete it and let the next run rebuild it" in str(exc)


def test_a_missing_directory_says_check_it(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'no' / 'such' / 'm.db'}")

    exc = failure_of(lambda: engine.connect())

    mapped = mirror_error(exc, str(engine.url))
    assert mapped is not None and mapped.kind == "cannot_open" and "exists and is writable" in str(mapped)


def test_errors_that_mean_a_bug_are_not_dressed_up(tmp_path: Path) -> None:
    connection = table(tmp_path / "m.db")
    connection.execute("CREATE UNIQUE INDEX u ON t (v)")
    connection.execute("INSERT INTO t VALUES (1)")

    assert mirror_error(failure_of(lambda: connection.execute("INSERT INTO t VALUES (1)"))) is None
    assert mirror_error(failure_of(lambda: connection.execute("SELEKT nonsense"))) is None
    assert mirror_error(ValueError("not a database error")) is None


@pytest.mark.postgres
def test_postgresql_unreachable_or_missing_says_check_the_url() -> None:
    missing = open_engine(PG_ADMIN.rsplit("/", 1)[0] + "/reconcile_no_such_database")
    down = open_engine("postgresql+psycopg://postgres:hunter22@127.0.0.1:1/x")

    gone = mirror_error(failure_of(lambda: missing.connect()), str(missing.url))
    unreachable = mirror_error(
        failure_of(lambda: down.connect()), "postgresql+psycopg://postgres:hunter22@127.0.0.1:1/x"
    )

    assert gone is not None and gone.kind == "cannot_open" and "\n" not in str(gone)
    assert (
        unreachable is not None
        and unreachable.kind == "unreachable"
        and "server is running" in str(unreachable)
    )
    assert "hunter22" not in str(unreachable)
