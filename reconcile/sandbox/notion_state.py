"""The Notion look-alike's state and the Python API tests use to shape it (`sandbox.notion`)."""

from __future__ import annotations

import copy
import itertools
import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from reconcile.clock import Clock
from reconcile.sandbox.ids import IdMaker, normalize_id
from reconcile.sandbox.notion_errors import body_error, not_found, shown, validation
from reconcile.sandbox.notion_model import Database, Page
from reconcile.sandbox.notion_render import bot_json, page_json, person_json, schema_json
from reconcile.sandbox.notion_rich import RichContext, plain_text
from reconcile.sandbox.notion_schema import SchemaBuilder
from reconcile.sandbox.notion_values import Writing, coerce

PYTHON_API_VERSION = "2022-06-28"


class NotionState:
    """Databases, pages, integration tokens and sharing; every method takes the sandbox lock.

    `text_normaliser`, when set, rewrites the content of every text part Notion stores (trimming or
    collapsing whitespace, say): a form of a value the job cannot foresee, for tests of convergence.
    """

    text_normaliser: Callable[[str], str] | None = None

    def __init__(self, clock: Clock, lock: threading.RLock, seed: int, default_token: str) -> None:
        self._clock = clock
        self.lock = lock
        self._ids = IdMaker(seed, "notion")
        self.schemas = SchemaBuilder(self._ids)
        self.person_id = self._ids.uuid()
        self._bots: dict[str, str] = {}
        self._dbs: dict[str, Database] = {}
        self._sources: dict[str, str] = {}
        self._pages: dict[str, Page] = {}
        self._seq = itertools.count(1)
        self.default_token = self.add_token(default_token)

    # --- tokens and sharing -----------------------------------------------------------------
    def add_token(self, token: str, shared: Iterable[str] = ()) -> str:
        """Make an integration token valid and share those databases with it."""
        with self.lock:
            self._bots.setdefault(token, self._ids.uuid())
            for database_id in shared:
                self.share(database_id, token)
        return token

    def revoke_token(self, token: str) -> None:
        """Make a token invalid (401 from then on)."""
        with self.lock:
            self._bots.pop(token, None)

    def bot_id(self, token: str) -> str | None:
        """The bot user id of a valid token, else None."""
        with self.lock:
            return self._bots.get(token)

    def share(self, database_id: str, token: str) -> None:
        """Share a database (and its pages) with a token's integration."""
        with self.lock:
            self._database(database_id).shared.add(token)

    def unshare(self, database_id: str, token: str) -> None:
        """Stop sharing a database with a token's integration (its requests then get 404)."""
        with self.lock:
            self._database(database_id).shared.discard(token)

    # --- databases --------------------------------------------------------------------------
    def create_database(
        self, title: str = "Work", properties: dict[str, Any] | None = None, shared: bool = True
    ) -> str:
        """Create a database (with its one data source) from API-shaped property configs."""
        with self.lock:
            now = self._clock.now()
            props = self.schemas.build(properties or {"Name": {"title": {}}})
            db = Database(
                self._ids.uuid(), self._ids.uuid(), title, props, now, now, self.person_id, self.person_id
            )
            if shared:
                db.shared.add(self.default_token)
            self._dbs[db.id] = db
            self._sources[db.data_source_id] = db.id
            return db.id

    def data_source_id(self, database_id: str) -> str:
        """The id of the database's only data source."""
        with self.lock:
            return self._database(database_id).data_source_id

    def schema(self, database_id: str) -> dict[str, Any]:
        """The property configs, keyed by name, as the API returns them."""
        with self.lock:
            return schema_json(self._database(database_id))

    # --- pages ------------------------------------------------------------------------------
    def pages(self, database_id: str, include_trashed: bool = False) -> list[dict[str, Any]]:
        """The database's pages (2022-06-28 shape), oldest first."""
        with self.lock:
            db = self._database(database_id)
            return [page_json(p, db, PYTHON_API_VERSION) for p in self.pages_of(db, include_trashed)]

    def page(self, page_id: str) -> dict[str, Any]:
        """One page (2022-06-28 shape), trashed or not; KeyError when deleted."""
        with self.lock:
            page = self._page(page_id)
            return page_json(page, self._dbs[page.database_id], PYTHON_API_VERSION)

    def human_create(self, database_id: str, properties: dict[str, Any]) -> dict[str, Any]:
        """A page made by hand in the UI (created and last edited by a person)."""
        with self.lock:
            db = self._database(database_id)
            return page_json(self.new_page(db, properties, self.person_id), db, PYTHON_API_VERSION)

    def human_edit(self, page_id: str, properties: dict[str, Any]) -> dict[str, Any]:
        """Edit a page as a person in the UI: bumps last_edited_time, last_edited_by = the person."""
        with self.lock:
            page = self._page(page_id)
            self.write(page, properties, self.person_id)
            return page_json(page, self._dbs[page.database_id], PYTHON_API_VERSION)

    def trash_page(self, page_id: str) -> None:
        """Move a page to the trash, as a person would."""
        self._set_trash(page_id, True)

    def restore_page(self, page_id: str) -> None:
        """Take a page out of the trash, as a person would."""
        self._set_trash(page_id, False)

    def delete_page(self, page_id: str) -> None:
        """Delete a page for good (GET answers 404 from then on)."""
        with self.lock:
            del self._pages[self._page(page_id).id]

    # --- shared with the API operations -----------------------------------------------------
    def now(self) -> datetime:
        """The sandbox clock's now."""
        return self._clock.now()

    def find_database(self, raw_id: Any) -> Database | None:
        """The database with that id (dashes optional), or None."""
        key = normalize_id(raw_id)
        return self._dbs.get(key) if key else None

    def find_source(self, raw_id: Any) -> Database | None:
        """The database whose data source has that id, or None."""
        key = normalize_id(raw_id)
        database_id = self._sources.get(key) if key else None
        return self._dbs.get(database_id) if database_id else None

    def find_page(self, raw_id: Any) -> Page | None:
        """The page with that id (trashed included), or None when unknown or deleted."""
        key = normalize_id(raw_id)
        return self._pages.get(key) if key else None

    def pages_of(self, db: Database, include_trashed: bool = False) -> list[Page]:
        """A database's pages in creation order."""
        found = [
            p for p in self._pages.values() if p.database_id == db.id and (include_trashed or not p.in_trash)
        ]
        return sorted(found, key=lambda page: page.seq)

    def new_page(self, db: Database, properties: Any, actor: str) -> Page:
        """Create a page from written property values; status properties default to their first option."""
        now = self.now()
        page = Page(self._ids.uuid(), db.id, {}, now, now, actor, actor, next(self._seq))
        self._set_values(db, page, properties or {})
        for prop in db.props.values():
            if prop.type == "status" and prop.id not in page.values and prop.options:
                first = prop.options[0]
                page.values[prop.id] = {"id": first["id"], "name": first["name"], "color": first["color"]}
        self._pages[page.id] = page
        return page

    def write(self, page: Page, properties: Any, actor: str) -> None:
        """Change property values (not allowed while the page is in the trash)."""
        if page.in_trash:
            raise validation(
                "Can't edit block that is archived. You must unarchive the block before editing."
            )
        self._set_values(self._dbs[page.database_id], page, properties)
        self.touch(page, actor)

    def touch(self, page: Page, actor: str) -> None:
        """Record an edit."""
        page.last_edited_time, page.last_edited_by = self.now(), actor

    def database_of(self, page: Page) -> Database:
        """The database a page belongs to."""
        return self._dbs[page.database_id]

    def _set_values(self, db: Database, page: Page, properties: Any) -> None:
        if not isinstance(properties, dict):
            raise body_error("properties", f"should be an object, instead was {shown(properties)}.")
        saved = copy.deepcopy(db.props)
        try:
            staged = {}
            for key, raw in properties.items():
                prop = db.prop(key)
                if prop is None:
                    raise validation(f"{key} is not a property that exists.")
                staged[prop.id] = coerce(prop, raw, f"properties.{key}", self._writing())
        except Exception:
            db.props = saved  # options auto-added by a rejected write must not stay
            raise
        page.values.update(staged)

    def _writing(self) -> Writing:
        return Writing(self.schemas.new_option, RichContext(self._mention, self.text_normaliser))

    def _mention(self, kind: str, ref: str) -> tuple[dict[str, Any], str] | None:
        """What a mention of that user, page or database reads back as (None when there is none)."""
        key = normalize_id(ref)
        if kind == "user":
            if key == self.person_id:
                person = person_json(self.person_id)
                return person, f"@{person['name']}"
            if key in self._bots.values():
                bot = bot_json(str(key))
                return bot, f"@{bot['name']}"
            return None
        if kind == "page" and key in self._pages:
            return {"id": key}, self._title(self._pages[key]) or "Untitled"
        if kind == "database" and key in self._dbs:
            return {"id": key}, self._dbs[key].title
        return None

    def _title(self, page: Page) -> str:
        props = self._dbs[page.database_id].props.values()
        return next((plain_text(page.values.get(p.id, [])) for p in props if p.type == "title"), "")

    def _set_trash(self, page_id: str, trashed: bool) -> None:
        with self.lock:
            page = self._page(page_id)
            page.in_trash = trashed
            self.touch(page, self.person_id)

    def _database(self, database_id: str) -> Database:
        db = self.find_database(database_id)
        if db is None:
            raise KeyError(f"no database {database_id}")
        return db

    def _page(self, page_id: str) -> Page:
        page = self.find_page(page_id)
        if page is None:
            raise KeyError(f"no page {page_id}")
        return page


def visible(db: Database | None, token: str, kind: str, raw_id: Any) -> Database:
    """The database if it exists and is shared with the token, else the API's 404."""
    if db is None or token not in db.shared:
        raise not_found(kind, normalize_id(raw_id) or str(raw_id))
    return db
