"""Open the mirror: engine set-up per dialect, Alembic migrations (`reconcile db upgrade`), and the one place
where a failure of the database itself (corrupt, read-only, locked, full, unreachable) becomes a one-line
MirrorError that says what to do.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from importlib import resources

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    NoSuchModuleError,
    ProgrammingError,
    SQLAlchemyError,
)

from reconcile.errors import Locked, ReconcileError

SUPPORTED = "SQLite (sqlite:///reconcile.db) or PostgreSQL (postgresql+psycopg://user@host/db)"
SQLITE_BUSY_SECONDS = 30.0  # how long SQLite waits for another process's write lock; `?timeout=N` overrides
# pg_advisory_xact_lock(int4, int4) for migrations: a key space apart from the run lock's bigint keys, and
# like every advisory lock it is scoped to the current database, so other databases of the server never wait.
PG_MIGRATION_KEY = (0x7265636F, 0x6D696772)  # "reco", "migr"


class MirrorError(ReconcileError):
    """The mirror database cannot be opened or is not at the current schema."""


# -- opening -------------------------------------------------------------------------------------


def open_engine(url: str) -> Engine:
    """An engine for the mirror URL; SQLite gets WAL, a busy timeout, and is refused in memory."""
    parsed = _parse(url)
    connect_args = {}
    if parsed.get_backend_name() == "sqlite" and "timeout" not in parsed.query:
        connect_args["timeout"] = SQLITE_BUSY_SECONDS  # pysqlite's busy handler; a URL's timeout wins
    try:
        engine = create_engine(
            parsed, pool_pre_ping=parsed.get_backend_name() != "sqlite", connect_args=connect_args
        )
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise MirrorError(f"mirror.url: cannot use {_safe(url)}: {exc}") from None
    except ModuleNotFoundError as exc:
        raise MirrorError(
            f"mirror.url: driver {exc.name} is not installed (pip install 'reconcile[postgres]')"
        ) from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", partial(_sqlite_pragmas, url=url))
    return engine


def _parse(url: str) -> URL:
    """The URL, if it names a database the mirror can live in: a SQLite file or PostgreSQL."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise MirrorError(f"mirror.url: cannot use {_safe(url)}: {exc}") from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise MirrorError(f"mirror.url: {backend} is not supported; use {SUPPORTED}")
    if backend == "sqlite" and (parsed.database or ":memory:") == ":memory:":
        raise MirrorError(
            f"mirror.url: {url} is an in-memory database, thrown away at the end of every run "
            "(the mirror is the job's memory); give a file: sqlite:///reconcile.db"
        )
    return parsed


def _sqlite_pragmas(dbapi_connection: object, _record: object, *, url: str) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    except Exception as exc:  # the file is not a database, unreadable, ...: say so before SQLAlchemy wraps it
        raise mirror_error(exc, url) or exc from None
    finally:
        cursor.close()


# -- migrations ----------------------------------------------------------------------------------


def upgrade(engine: Engine) -> str:
    """Create or migrate the mirror to the newest schema; returns the revision it is at.

    Concurrent upgrades serialise: the loser waits for the winner's transaction, then finds the schema
    at head and does nothing (SQLite: BEGIN IMMEDIATE; PostgreSQL: a transaction-scoped advisory lock).
    """
    config = _alembic_config()
    try:
        with _migration_transaction(engine) as connection:
            _refuse_unknown_revision(engine, MigrationContext.configure(connection).get_current_revision())
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except SQLAlchemyError as exc:
        raise _migration_error(exc, engine) from None
    return head_revision()


@contextmanager
def _migration_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction around the whole migration, taken with the lock that serialises migrations."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as connection:
            key, sub = PG_MIGRATION_KEY
            connection.execute(text("SELECT pg_advisory_xact_lock(:key, :sub)"), {"key": key, "sub": sub})
            yield connection
        return
    # pysqlite runs DDL outside any transaction (it only BEGINs before DML): take the driver out of its
    # own transaction handling and BEGIN IMMEDIATE ourselves, so that the migration is one transaction
    # (a crash leaves no half-made schema) holding SQLite's write lock (a second process waits, up to the
    # busy timeout, then sees the schema at head).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.exec_driver_sql("ROLLBACK")
            raise
        connection.exec_driver_sql("COMMIT")


def _migration_error(exc: SQLAlchemyError, engine: Engine) -> ReconcileError:
    """A migration that could not take the lock in time is a lost race (75); anything else is an error."""
    mapped = mirror_error(exc, str(engine.url))
    if mapped is not None and mapped.kind == "locked":
        return Locked(f"another process is creating or migrating the mirror {_where(str(engine.url))}")
    return mapped or MirrorError(f"mirror {_safe(str(engine.url))}: {_first_line(exc)}")


def ensure_schema(engine: Engine) -> None:
    """SQLite is migrated on first use; other databases must be at head (`reconcile db upgrade`)."""
    current = current_revision(engine)
    if current == head_revision():
        return
    _refuse_unknown_revision(engine, current)
    if engine.dialect.name == "sqlite":
        upgrade(engine)
        return
    state = "empty" if current is None else f"at revision {current}"
    raise MirrorError(f"mirror {_safe(str(engine.url))} is {state}; run `reconcile db upgrade` first")


def _refuse_unknown_revision(engine: Engine, current: str | None) -> None:
    """A mirror made by a newer reconcile is left alone: migrating it down or over it would lose data."""
    if current is None:
        return
    try:
        ScriptDirectory.from_config(_alembic_config()).get_revision(current)
    except CommandError:
        raise MirrorError(
            f"mirror {_where(str(engine.url))} is at schema revision {current}, which this reconcile "
            f"does not know (it knows up to {head_revision()}): it was made by a newer reconcile; "
            "upgrade reconcile (or point mirror.url at another database)"
        ) from None


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        raise mirror_error(exc, str(engine.url)) or MirrorError(
            f"mirror {_safe(str(engine.url))}: {_first_line(exc)}"
        ) from None


def head_revision() -> str:
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def _alembic_config() -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(resources.files("reconcile.migrations")))
    return config


# -- failures of the database itself -------------------------------------------------------------


class MirrorFailure(MirrorError):
    """The mirror database failed under us; `kind` says how (damaged, read_only, locked, full, ...)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


# SQLite result codes (https://www.sqlite.org/rescode.html) -> kind: extended codes first, then primary ones
_SQLITE_KINDS = {
    "SQLITE_IOERR_SHMSIZE": "full",  # WAL's shared-memory file could not grow: in practice, no space left
    "SQLITE_CORRUPT": "damaged",
    "SQLITE_NOTADB": "damaged",
    "SQLITE_READONLY": "read_only",
    "SQLITE_PERM": "read_only",
    "SQLITE_BUSY": "locked",
    "SQLITE_LOCKED": "locked",
    "SQLITE_FULL": "full",
    "SQLITE_CANTOPEN": "cannot_open",
    "SQLITE_IOERR": "io",
}
# PostgreSQL SQLSTATE classes and codes -> kind
_PG_KINDS = {
    "53100": "full",  # disk_full
    "25006": "read_only",  # read_only_sql_transaction (a standby, default_transaction_read_only)
    "55P03": "locked",  # lock_not_available
    "3D000": "cannot_open",  # invalid_catalog_name: the database does not exist
    "28P01": "cannot_open",  # invalid_password
    "28000": "cannot_open",  # invalid_authorization_specification
    "08": "unreachable",  # connection_exception
    "57P": "unreachable",  # operator intervention: shutdown, crash
    "53": "resources",  # insufficient_resources
}
_ADVICE = {
    "damaged": "the mirror {where} is damaged ({detail}): restore it from a backup, or delete it and let "
    "the next run rebuild it from GitHub and Notion",
    "read_only": "the mirror {where} cannot be written ({detail}): make it writable for this user "
    "(file and directory permissions, `chattr -i`, a read-only mount)",
    "locked": "the mirror {where} is locked by another process ({detail}): wait for it to finish, then "
    "run again (`reconcile status` shows runs in progress)",
    "full": "the mirror {where} cannot grow: the disk is full ({detail}); free space, then run again",
    "cannot_open": "cannot open the mirror {where} ({detail}): check mirror.url, and that the database "
    "(or the SQLite file's directory) exists and is writable",
    "io": "the mirror {where} could not be read or written ({detail}): the disk may be full (free space) "
    "or failing; then run again",
    "unreachable": "cannot reach the mirror {where} ({detail}): check mirror.url and that the database "
    "server is running",
    "resources": "the mirror's database server ran out of resources ({detail}): free them, then run again",
}


def mirror_error(exc: BaseException, url: str | None = None) -> MirrorFailure | None:
    """The one-line MirrorError a failure of the database itself stands for; None for anything else.

    Errors that mean a bug (integrity, SQL syntax) are not mapped: they stay internal errors.
    """
    if isinstance(exc, MirrorFailure):
        return exc
    original = exc.orig if isinstance(exc, DBAPIError) else exc
    if isinstance(exc, (IntegrityError, ProgrammingError)) or not _is_dbapi_error(original):
        return None
    kind = _kind(original)
    if kind == "other":  # a syntax error, a missing table: a bug (or a tampered mirror), not a failure
        return None
    where = _where(url) if url else "database"
    return MirrorFailure(kind, _ADVICE[kind].format(where=where, detail=_first_line(original)))


def _is_dbapi_error(exc: BaseException | None) -> bool:
    """Whether an exception comes from a database driver (sqlite3, psycopg): PEP 249's Error family."""
    import sqlite3

    if isinstance(exc, sqlite3.Error):
        return not isinstance(exc, (sqlite3.IntegrityError, sqlite3.ProgrammingError))
    try:
        import psycopg
    except ModuleNotFoundError:  # pragma: no cover - PostgreSQL support not installed
        return False
    return isinstance(exc, psycopg.Error) and not isinstance(
        exc, (psycopg.IntegrityError, psycopg.ProgrammingError)
    )


def _kind(exc: BaseException) -> str:
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    if name:
        known = next((key for key in _SQLITE_KINDS if name == key or name.startswith(key + "_")), None)
        return _SQLITE_KINDS[known] if known else "other"  # SQLITE_ERROR and the like
    state = str(getattr(exc, "sqlstate", "") or "")
    for prefix in sorted(_PG_KINDS, key=len, reverse=True):
        if state.startswith(prefix):
            return _PG_KINDS[prefix]
    if not state and type(exc).__name__ == "OperationalError":  # psycopg: connecting failed, no SQLSTATE
        refused = ("does not exist", "authentication failed", "no password supplied", "not permitted")
        return "cannot_open" if any(words in str(exc) for words in refused) else "unreachable"
    return "other"


def _where(url: str) -> str:
    """A SQLite mirror by its file, any other by its URL with the password hidden."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return "<unparsable URL>"
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        return parsed.database
    return parsed.render_as_string(hide_password=True)


def _safe(url: str) -> str:
    """The URL with any password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "<unparsable URL>"


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
