"""The Notion API: paced, retried, classified; database or data-source flavour by Notion-Version."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from reconcile.clients.errors import (
    AmbiguousWrite,
    ApiError,
    AuthError,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    NotShared,
    PageArchived,
    RateLimited,
    Unavailable,
)
from reconcile.clients.http import Answer, Observer, Pacer, Pacing, Retry, Transport, json_body, retry_after
from reconcile.clock import Clock
from reconcile.config import NotionConfig
from reconcile.model import NotionPage, iso, parse_instant
from reconcile.values import decode

log = logging.getLogger("reconcile.notion")

PAGE_SIZE = 100  # Notion's maximum
QUERY_RESULT_LIMIT = 10_000  # one query stops there; longer scans are windowed by timestamp
CREATE_ATTEMPTS = 3
CONFLICT_ATTEMPTS = 4  # writes answered 409: re-read, then try again
KEY_LOOKUP_CHUNK = 50  # keys per `or` filter when resolving many keys at once


class NotionRules:
    """Retry 429/529 after Retry-After, 409 and 5xx with backoff; never 400/401/403/404."""

    api = "notion"

    def __init__(self, retry: Retry, rng: Any) -> None:
        self.retry, self.rng = retry, rng

    def is_rate_limit(self, response: Answer) -> bool:
        return response.status_code in (429, 529)

    def wait_for(self, response: Answer, attempt: int) -> float | None:
        status = response.status_code
        if status in (429, 529):
            return retry_after(response) or self.retry.backoff(attempt, self.rng)
        if status in (500, 502, 503, 504) or (status == 409 and _reads(response)):
            return self.retry.backoff(attempt, self.rng)
        return None  # a 409 on a write goes back to the client, which re-reads before it tries again

    def error(self, response: Answer) -> ApiError:
        body = json_body(response)
        status = response.status_code
        message = str(body.get("message") or response.reason or "no message")
        fields = {"status": status, "code": body.get("code"), "request_id": _request_id(response, body)}
        if status == 401:
            return AuthError("notion", message, **fields)
        if status in (429, 529):
            return RateLimited("notion", message, **fields)
        if status == 409:
            return Conflict("notion", message, **fields)
        if status == 404:
            return NotFound("notion", message, **fields)
        if status == 403:
            return Forbidden("notion", message, **fields)
        if status == 400 and "archived" in message.lower():
            return PageArchived("notion", message, **fields)
        if 400 <= status < 500:
            return InvalidRequest("notion", message, **fields)
        return Unavailable("notion", message, **fields)


def _reads(response: Answer) -> bool:
    """GETs and queries read: repeating one is all a 409 asks."""
    return response.method == "GET" or response.path.endswith("/query")


def _request_id(response: Answer, body: dict[str, Any]) -> str | None:
    return body.get("request_id") or response.headers.get("x-notion-request-id")


@dataclass
class Scan:
    """One pass over the database's pages; `started` is the server's time of its first answer."""

    pages: Iterator[dict[str, Any]]
    started: datetime | None = None
    count: int = 0


class NotionClient:
    """What the job asks of Notion."""

    def __init__(
        self,
        config: NotionConfig,
        clock: Clock,
        *,
        observe: Observer | None = None,
        retry: Retry | None = None,
        rng: Any = None,
        query_limit: int = QUERY_RESULT_LIMIT,
        pacer: Pacing | None = None,
    ) -> None:
        self.config = config
        self.database_id = config.database_id
        self.clock = clock
        self.query_limit = query_limit
        retry = retry or Retry()
        rng = rng or random.Random()
        self.retry, self.rng = retry, rng
        token = config.token.get_secret_value() if config.token else ""
        headers = {
            "Authorization": f"Bearer {token}",
            "Notion-Version": config.version,
            "Content-Type": "application/json",
            "User-Agent": "reconcile",
        }
        self.transport = Transport(
            config.api_url,
            headers,
            NotionRules(retry, rng),
            clock,
            timeout=config.timeout_seconds,
            pacer=pacer or Pacer(config.requests_per_second, clock),  # a shared budget, or our own
            retry=retry,
            observe=observe,
            rng=rng,
        )
        self._data_source: str | None = config.data_source_id
        self.last_date: datetime | None = None
        self.fence: Callable[[], None] | None = None  # run before every write is sent (the lease check)

    # -- the database -------------------------------------------------------------------------

    @property
    def data_sources(self) -> bool:
        return self.config.version >= "2025-09-03"

    def me(self) -> dict[str, Any]:
        return self._call("GET", "/v1/users/me")

    def database(self) -> dict[str, Any]:
        """The database object; a 403/404 means the id is wrong or the database is not shared."""
        return self._database_call("open", "GET", f"/v1/databases/{self.database_id}")

    def data_source_id(self) -> str:
        """The data source to use (2025-09-03): the configured one, else the database's only one."""
        if self._data_source is None:
            sources = self.database().get("data_sources") or []
            if len(sources) != 1:
                names = ", ".join(f"{s.get('name')} ({s.get('id')})" for s in sources) or "none"
                raise InvalidRequest(
                    "notion",
                    f"database {self.database_id} has {len(sources)} data sources "
                    f"({names}); set notion.data_source_id",
                )
            self._data_source = str(sources[0]["id"])
        return self._data_source

    def schema(self) -> dict[str, Any]:
        """Property configs by name."""
        if self.data_sources:
            return self._call("GET", f"/v1/data_sources/{self.data_source_id()}").get("properties", {})
        return self.database().get("properties", {})

    def update_schema(self, properties: dict[str, Any]) -> dict[str, Any]:
        return self._database_call(
            "update", "PATCH", self._schema_path(), json={"properties": properties}, write=True
        )

    def _schema_path(self) -> str:
        if self.data_sources:
            return f"/v1/data_sources/{self.data_source_id()}"
        return f"/v1/databases/{self.database_id}"

    # -- reading pages ------------------------------------------------------------------------

    def scan(
        self, since: datetime | None = None, until: datetime | None = None, only: list[str] | None = None
    ) -> Scan:
        """Pages edited on or after `since` (all pages when None), windowed past the result cap;
        `only` limits the properties answered to those ids (a cheap listing of keys)."""
        stamp = "last_edited_time" if since is not None else "created_time"
        scan = Scan(iter(()))
        scan.pages = self._windows(scan, stamp, since, until, only)
        return scan

    def _windows(
        self, scan: Scan, stamp: str, since: datetime | None, until: datetime | None, only: list[str] | None
    ) -> Iterator[dict[str, Any]]:
        """Query in windows: when one query hits the result cap, go on from the last timestamp seen.

        The next window starts at that timestamp (Notion's are to the minute), so the ids already seen at
        it (`boundary`, at `edge`) are skipped; a window of nothing new means more pages share one
        timestamp than one query returns: the listing cannot be completed, and says so.
        """
        lower, boundary, edge = since, set[str](), None
        while True:
            fresh, truncated, newest = 0, False, None
            for page, capped in self._query(self._window_filter(stamp, lower, until), stamp, scan, only):
                truncated, newest = truncated or capped, page[stamp]
                if page["id"] in boundary:
                    continue  # seen in the previous window's last minute
                if page[stamp] != edge:
                    boundary, edge = set(), page[stamp]
                boundary.add(page["id"])
                fresh += 1
                scan.count += 1
                yield page
            if not truncated or newest is None:
                return
            if fresh == 0:
                raise InvalidRequest(
                    "notion",
                    f"more than {self.query_limit} pages share one {stamp} ({newest}): cannot list them all",
                )
            lower = datetime.fromisoformat(newest.replace("Z", "+00:00"))

    def _window_filter(
        self, stamp: str, lower: datetime | None, until: datetime | None
    ) -> dict[str, Any] | None:
        parts = []
        if lower is not None:
            parts.append({"timestamp": stamp, stamp: {"on_or_after": iso(lower)}})
        if until is not None:
            parts.append({"timestamp": "last_edited_time", "last_edited_time": {"on_or_before": iso(until)}})
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else {"and": parts}

    def _query(
        self,
        filter_: dict[str, Any] | None,
        stamp: str,
        scan: Scan | None = None,
        only: list[str] | None = None,
    ) -> Iterator[tuple[dict[str, Any], bool]]:
        """Every page of one query (following next_cursor); the flag says whether it was cut at the cap."""
        body: dict[str, Any] = {
            "sorts": [{"timestamp": stamp, "direction": "ascending"}],
            "page_size": PAGE_SIZE,
        }
        if filter_:
            body["filter"] = filter_
        count = 0
        while True:
            answer = self._post_query(body, only)
            if scan is not None and scan.started is None:
                scan.started = self.last_date
            count += len(answer.get("results", []))
            more = bool(answer.get("has_more") and answer.get("next_cursor"))
            capped = _incomplete(answer) or (not more and count >= self.query_limit)
            for page in answer.get("results", []):
                if page.get("object") == "page":
                    yield page, capped
            if not more:
                return
            body["start_cursor"] = answer["next_cursor"]

    def _post_query(self, body: dict[str, Any], only: list[str] | None = None) -> dict[str, Any]:
        params = {"filter_properties": only} if only else None
        return self._database_call("query", "POST", self._query_path(), json=body, params=params)

    def _database_call(self, verb: str, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """A call on the database itself: Notion's 403/404 there means a wrong id or a database not shared."""
        try:
            return self._call(method, path, **kwargs)
        except (NotFound, Forbidden) as exc:
            raise NotShared(
                "notion",
                f"cannot {verb} database {self.database_id}: {exc.message}",
                status=exc.status,
                code=exc.code,
                request_id=exc.request_id,
            ) from None

    def _query_path(self) -> str:
        if self.data_sources:
            return f"/v1/data_sources/{self.data_source_id()}/query"
        return f"/v1/databases/{self.database_id}/query"

    def find_by_key(self, key_property: str, keys: list[str]) -> list[dict[str, Any]]:
        """Live pages whose key property equals one of `keys`, oldest first."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(keys), KEY_LOOKUP_CHUNK):
            chunk = keys[start : start + KEY_LOOKUP_CHUNK]
            clauses = [{"property": key_property, "url": {"equals": key}} for key in chunk]
            filter_ = clauses[0] if len(clauses) == 1 else {"or": clauses}
            found.extend(page for page, _ in self._query(filter_, "created_time"))
        return found

    def get_page(self, page_id: str) -> dict[str, Any] | None:
        """The page (trashed ones too), or None when it is gone or no longer in this database."""
        try:
            page = self._call("GET", f"/v1/pages/{page_id}")
        except NotFound:
            return None
        return page if self._ours(page.get("parent") or {}) else None

    def _ours(self, parent: dict[str, Any]) -> bool:
        """Whether a page's parent is this database (a person may have moved the page elsewhere)."""
        if parent.get("database_id"):
            return _same_id(parent["database_id"], self.database_id)
        if parent.get("data_source_id") and self.data_sources:
            return _same_id(parent["data_source_id"], self.data_source_id())
        return False

    # -- writing pages ------------------------------------------------------------------------

    def create_page(self, properties: dict[str, Any], key_property: str, key: str) -> dict[str, Any]:
        """Create a page; when the outcome is unknown, look the key up before trying again.

        After a timeout the server may still be writing the page, so it is not re-sent in this run:
        the operation stays ambiguous and the next run's recovery looks the key up again.
        """
        parent = (
            {"data_source_id": self.data_source_id()}
            if self.data_sources
            else {"database_id": self.database_id}
        )
        body = {"parent": parent, "properties": properties}
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            try:
                return self._database_call(
                    "add a page to", "POST", "/v1/pages", json=body, idempotent=False, write=True
                )
            except (AmbiguousWrite, Conflict) as exc:
                log.warning("create of %s: %s; looking the key up", key, exc.message)
                existing = self.find_by_key(key_property, [key])
                if existing:
                    return existing[0]
                if getattr(exc, "timed_out", False) or attempt == CREATE_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    def update_page(
        self, page_id: str, properties: dict[str, Any] | None = None, in_trash: bool | None = None
    ) -> dict[str, Any]:
        """Set some properties (only those given) and/or move the page in or out of the trash."""
        body: dict[str, Any] = {}
        if properties:
            body["properties"] = properties
        if in_trash is not None:
            body["in_trash"] = in_trash
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            try:
                return self._call("PATCH", f"/v1/pages/{page_id}", json=body, write=True)
            except Conflict:
                if attempt == CONFLICT_ATTEMPTS:
                    raise
                self._reread(page_id, bool(properties))
                self.clock.sleep(self.retry.backoff(attempt, self.rng))
        raise AssertionError("unreachable")

    def _reread(self, page_id: str, editing: bool) -> None:
        """After a 409: look at the page as it is now; a page gone or trashed meanwhile ends the retries."""
        page = self.get_page(page_id)
        if page is None:
            raise NotFound("notion", f"page {page_id} is gone (re-read after a conflict)")
        if editing and (page.get("in_trash") or page.get("archived")):
            raise PageArchived("notion", f"page {page_id} is archived (re-read after a conflict)")

    # -- plumbing -----------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, write: bool = False, **kwargs: Any) -> dict[str, Any]:
        fence = self.fence if write else None
        response = self.transport.request(method, path, before_send=fence, **kwargs)
        self.last_date = _server_date(response) or self.clock.now()
        return json_body(response)


def _same_id(a: str, b: str) -> bool:
    """Notion ids compare without their dashes."""
    return a.replace("-", "").lower() == b.replace("-", "").lower()


def _incomplete(answer: dict[str, Any]) -> bool:
    status = answer.get("request_status") or {}
    return isinstance(status, dict) and status.get("type") == "incomplete"


def _server_date(response: Answer) -> datetime | None:
    value = response.headers.get("Date")
    try:
        return parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None


def page_from_api(raw: dict[str, Any], key_property: str) -> NotionPage:
    """A page object of the API as a NotionPage, its properties decoded and normalised."""
    properties = {name: decode(prop) for name, prop in (raw.get("properties") or {}).items()}
    key = properties.get(key_property)
    return NotionPage(
        id=str(raw["id"]),
        properties=properties,
        created_time=parse_instant(raw["created_time"]),
        last_edited_time=parse_instant(raw["last_edited_time"]),
        key=key.value if key and key.type == "url" else None,
        in_trash=bool(raw.get("in_trash") or raw.get("archived")),
    )
