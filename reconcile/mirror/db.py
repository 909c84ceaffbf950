"""Open the mirror: engine set-up per dialect, and Alembic migrations (`reconcile db upgrade`)."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from reconcile.errors import ReconcileError


class MirrorError(ReconcileError):
    """The mirror database cannot be opened or is not at the current schema."""


def open_engine(url: str) -> Engine:
    """An engine for the mirror URL; SQLite gets WAL, a busy timeout and foreign keys."""
    try:
        parsed = make_url(url)
        engine = create_engine(parsed, pool_pre_ping=parsed.get_backend_name() != "sqlite")
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise MirrorError(f"mirror.url: cannot use {_safe(url)}: {exc}") from None
    except ModuleNotFoundError as exc:
        raise MirrorError(
            f"mirror.url: driver {exc.name} is not installed (pip install 'reconcile[postgres]')"
        ) from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def upgrade(engine: Engine) -> str:
    """Create or migrate the mirror to the newest schema; returns the revision it is at."""
    config = _alembic_config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except OperationalError as exc:
        raise MirrorError(f"mirror {_safe(str(engine.url))}: {_first_line(exc)}") from None
    return head_revision()


def ensure_schema(engine: Engine) -> None:
    """SQLite is migrated on first use; other databases must be at head (`reconcile db upgrade`)."""
    current = current_revision(engine)
    if current == head_revision():
        return
    if engine.dialect.name == "sqlite":
        upgrade(engine)
        return
    state = "empty" if current is None else f"at revision {current}"
    raise MirrorError(f"mirror {_safe(str(engine.url))} is {state}; run `reconcile db upgrade` first")


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except OperationalError as exc:
        raise MirrorError(f"mirror {_safe(str(engine.url))}: {_first_line(exc)}") from None


def head_revision() -> str:
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def _alembic_config() -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(resources.files("reconcile.migrations")))
    return config


def _safe(url: str) -> str:
    """The URL with any password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "<unparsable URL>"


def _first_line(exc: Exception) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
