"""The WSGI application behind `reconcile serve`, and the waitress server that runs it.

Routes (CONTRACT §10): `GET /health/sync` (health's JSON; 200 healthy, 503 not), `GET /metrics` (the
families of the textfile, from the mirror) and `GET /` (the status page). Read-only: nothing here writes
to the mirror or to an API. The checks that spend an API call (tokens, database, schema) are cached for
`api_ttl` seconds, so a scraper or a page left open never turns into a token call per request.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from prometheus_client import CONTENT_TYPE_LATEST

from reconcile import signals
from reconcile.jobs import health
from reconcile.jobs.context import Context
from reconcile.jobs.outcome import mirror_snapshot
from reconcile.logs import redact
from reconcile.metrics import Snapshot, render
from reconcile.model import iso
from reconcile.serve.page import empty_page, notion_url, status_page

log = logging.getLogger("reconcile.serve")

API_TTL = 60.0  # seconds an API check is reused
THREADS = 4

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
Answer = tuple[int, str, bytes]
REASONS = {
    200: "OK",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class StatusApp:
    """A WSGI application over one board's mirror."""

    def __init__(
        self, ctx: Context, *, api_ttl: float = API_TTL, timer: Callable[[], float] = time.monotonic
    ):
        self.ctx, self.api_ttl, self.timer = ctx, api_ttl, timer
        self.templates = Environment(
            loader=PackageLoader("reconcile.serve", "templates"), autoescape=select_autoescape(["html"])
        )
        self.templates.filters["notion_url"] = notion_url
        self.templates.filters["when"] = _when
        self.templates.filters["value"] = _value
        self._api: tuple[float, dict[str, Any]] | None = None
        self._api_lock = threading.Lock()
        self.routes: dict[str, Callable[[], Answer]] = {
            "/": self.index,
            "/health/sync": self.health_sync,
            "/metrics": self.metrics,
        }

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO") or "/"
        route = self.routes.get(path)
        if route is None:
            status, kind, body = 404, "text/plain; charset=utf-8", b"not found\n"
        elif method not in ("GET", "HEAD"):
            status, kind, body = 405, "text/plain; charset=utf-8", b"read-only: GET only\n"
        else:
            status, kind, body = self._answer(route, path)
        headers = [("Content-Type", kind), ("Content-Length", str(len(body))), ("Cache-Control", "no-store")]
        if status == 405:
            headers.append(("Allow", "GET, HEAD"))
        start_response(f"{status} {REASONS[status]}", headers)
        return [b""] if method == "HEAD" else [body]

    def _answer(self, route: Callable[[], Answer], path: str) -> Answer:
        try:
            return route()
        except Exception as exc:  # one broken request must not take the server down
            log.error("GET %s failed: %s: %s", path, type(exc).__name__, exc, exc_info=log.isEnabledFor(10))
            return 500, "text/plain; charset=utf-8", b"internal error; see the server's log\n"

    # -- the three routes ---------------------------------------------------------------------

    def health_sync(self) -> Answer:
        report = self.health()
        body = redact(json.dumps(report, indent=2, ensure_ascii=False)).encode() + b"\n"
        return (200 if report["status"] == "ok" else 503), "application/json", body

    def metrics(self) -> Answer:
        return 200, CONTENT_TYPE_LATEST, render(self.snapshot())

    def index(self) -> Answer:
        report = self.health()
        data = status_page(self.ctx) if not health.not_created(self.ctx) else empty_page()
        html = self.templates.get_template("status.html").render(
            board=self.ctx.board,
            database=report.get("notion", {}).get("database"),
            repos=self.ctx.config.github.repos,
            health=report,
            parts=health.PARTS,
            describe=health.describe,
            now=iso(self.ctx.now()),
            mirror_created=not health.not_created(self.ctx),
            **data,
        )
        return 200, "text/html; charset=utf-8", redact(html).encode()

    # -- reads --------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """Health as `reconcile health --format json` prints it; the API half from the cache."""
        return health.combine(self.api_checks(), health.mirror_checks(self.ctx))

    def api_checks(self) -> dict[str, Any]:
        with self._api_lock:  # concurrent requests wait for one check rather than each making one
            now = self.timer()
            if self._api is None or now - self._api[0] >= self.api_ttl:
                self._api = (now, health.api_checks(self.ctx))
            return self._api[1]

    def snapshot(self) -> Snapshot:
        if health.not_created(self.ctx):
            return Snapshot(self.ctx.board)
        with self.ctx.session() as session:
            return mirror_snapshot(session, self.ctx.board)


def _when(value: datetime | str | None) -> str:
    """An instant for people: UTC, to the second."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value.replace("T", " ")[:19] + " UTC" if value else "—"
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def _value(value: Any) -> str:
    """A property value for people: lists comma-joined, nothing as a dash (never a Python repr)."""
    if value is None or value == []:
        return "—"
    if isinstance(value, list | tuple):
        return ", ".join(_value(item) for item in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def create(ctx: Context, host: str, port: int, *, api_ttl: float = API_TTL) -> Any:
    """A waitress server for the app, bound (port 0: any free port; see `.effective_port`)."""
    from waitress import create_server

    return create_server(StatusApp(ctx, api_ttl=api_ttl), host=host, port=port, threads=THREADS)


def stop(server: Any) -> None:
    """Stop a server whose loop has returned (Ctrl-C, SIGTERM): its workers, then its sockets."""
    server.task_dispatcher.shutdown()
    server.close()


class InThread:
    """A server looping in a background thread until `stop()` (tests, embedding)."""

    POLL = 0.2  # seconds: how soon the loop notices `stop()`

    def __init__(self, server: Any) -> None:
        self.server, self._stopped = server, threading.Event()
        self.thread = threading.Thread(target=self._loop, name="reconcile-serve", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        from waitress import wasyncore

        use_poll = self.server.adj.asyncore_use_poll
        try:
            while not self._stopped.is_set():
                wasyncore.loop(timeout=self.POLL, map=self.server._map, use_poll=use_poll, count=1)
        finally:
            # closed from the loop's own thread: closing sockets under another thread's select() breaks it
            self.server.task_dispatcher.shutdown()
            wasyncore.close_all(self.server._map, ignore_all=True)

    def stop(self, timeout: float = 10.0) -> None:
        self._stopped.set()
        self.thread.join(timeout)


def serve(ctx: Context, host: str, port: int, *, api_ttl: float = API_TTL) -> None:
    """Serve until SIGTERM or Ctrl-C."""
    server = create(ctx, host, port, api_ttl=api_ttl)
    log.info("serving on http://%s:%s (/, /health/sync, /metrics)", host, server.effective_port)
    signals.as_interrupt()
    try:
        server.run()  # returns on KeyboardInterrupt (Ctrl-C, SIGTERM), after stopping its workers
    finally:
        log.info("stopped")
        stop(server)
