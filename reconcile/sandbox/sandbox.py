"""The Sandbox: GitHub and Notion look-alikes on loopback, sharing one clock, lock, fault set and log."""

from __future__ import annotations

import secrets
import threading
from types import TracebackType

from reconcile.clock import Clock, SystemClock
from reconcile.sandbox.dispatch import Dispatcher, Router
from reconcile.sandbox.faults import FaultSet
from reconcile.sandbox.github_routes import GitHubRouter
from reconcile.sandbox.github_state import GitHubState
from reconcile.sandbox.log import RequestLog, RequestRecord
from reconcile.sandbox.notion_routes import NotionRouter
from reconcile.sandbox.notion_state import NotionState
from reconcile.sandbox.openapi_check import RequestValidator
from reconcile.sandbox.server import LoopbackServer


class Sandbox:
    """Local, stateful GitHub REST and Notion API look-alikes served over HTTP on 127.0.0.1."""

    # Ports are bound at construction so URLs (which appear in GitHub objects) exist before start().

    def __init__(
        self,
        clock: Clock | None = None,
        seed: int = 0,
        notion_rps: float | None = None,
        notion_burst: int = 10,
        github_hourly_limit: int = 5000,
        notion_query_cap: int = 10000,
        validate_requests: bool = False,
        *,
        host: str = "127.0.0.1",
        github_port: int = 0,
        notion_port: int = 0,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.seed = seed
        self.faults = FaultSet(seed)
        self._log = RequestLog()
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        validator = RequestValidator() if validate_requests else None
        routers: dict[str, Router] = {}
        dispatcher = Dispatcher(routers, self.faults, self._log, self.clock, self._stopping)
        self._dispatcher = dispatcher
        self._servers = {
            api: LoopbackServer(api, dispatcher, self.clock, host, port)
            for api, port in (("github", github_port), ("notion", notion_port))
        }
        self.github_url = self._servers["github"].url
        self.notion_url = self._servers["notion"].url
        self.github = GitHubState(self.clock, self._lock, self.github_url)
        self.github_token = self.github.add_token("ghp_sandbox" + secrets.token_hex(16))
        self.notion = NotionState(self.clock, self._lock, seed, "secret_sandbox" + secrets.token_hex(16))
        self.notion_token = self.notion.default_token
        routers["github"] = GitHubRouter(self.github, self._lock, self.clock, github_hourly_limit)
        routers["notion"] = NotionRouter(
            self.notion, self._lock, self.clock, notion_query_cap, notion_rps, notion_burst, validator
        )
        self._started = False

    def start(self) -> Sandbox:
        """Begin serving both APIs."""
        if not self._started:
            for server in self._servers.values():
                server.start()
            self._started = True
        return self

    def stop(self) -> None:
        """Stop serving, interrupt slow faults, release the ports."""
        self._stopping.set()
        for server in self._servers.values():
            server.stop()
        self._started = False

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request seen so far (Authorization redacted), oldest first."""
        return self._log.records()

    def count(
        self,
        api: str | None = None,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
    ) -> int:
        """How many logged requests match (path: a regex searched in the path, /api/v3 prefix removed)."""
        return self._log.count(api, method, path, status)

    def writes(self, api: str) -> int:
        """POST/PATCH/PUT/DELETE requests that changed state (lost responses included)."""
        return self._log.writes(api)

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until no request is in flight (a slow fault finishing its work, say)."""
        return self._dispatcher.drain(timeout)

    def reset_counts(self) -> None:
        """Forget the request log."""
        self._log.clear()
