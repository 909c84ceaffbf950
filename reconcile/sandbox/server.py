"""A ThreadingHTTPServer on loopback, serving one API look-alike from a background thread."""

from __future__ import annotations

import socket
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from reconcile.clock import Clock
from reconcile.sandbox.dispatch import Dispatcher
from reconcile.sandbox.messages import Request, Response
from reconcile.sandbox.stamps import http_date

GHE_PREFIX = "/api/v3"


class _Handler(BaseHTTPRequestHandler):
    """Reads a request, hands it to the dispatcher, writes (or withholds) the answer."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without this, Nagle + delayed ACK add ~40 ms each.
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output clean: the request log is the record."""

    def _serve(self) -> None:
        request = self._read()
        response = self.server.dispatcher.serve(request)
        if response is None:
            self._drop()
        else:
            self._write(response)

    def _read(self) -> Request:
        parts = urlsplit(self.path)
        path, prefix = parts.path, ""
        if self.server.api == "github" and (path == GHE_PREFIX or path.startswith(GHE_PREFIX + "/")):
            path, prefix = path[len(GHE_PREFIX) :] or "/", GHE_PREFIX
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        query = parse_qs(parts.query, keep_blank_values=True)
        return Request(self.server.api, self.command, path, query, parts.query, headers, body, prefix)

    def _write(self, response: Response) -> None:
        self.send_response_only(response.status)
        self.send_header("Date", http_date(self.server.clock.now()))
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.status != 304:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.status != 304 and response.body:
            self.wfile.write(response.body)

    def _drop(self) -> None:
        # SO_LINGER 0 makes close() send a RST: the client sees a reset, never a response.
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], api: str, dispatcher: Dispatcher, clock: Clock) -> None:
        self.api = api
        self.dispatcher = dispatcher
        self.clock = clock
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up before its answer was written (it timed out) is nothing to report: the
        request was served and logged like any other, as a real API would have."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class LoopbackServer:
    """One API's HTTP server: bound at construction, serving between start() and stop()."""

    def __init__(
        self, api: str, dispatcher: Dispatcher, clock: Clock, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self._server = _Server((host, port), api, dispatcher, clock)
        self._thread: threading.Thread | None = None
        host_name, bound_port = self._server.server_address[:2]
        self.url = f"http://{host_name}:{bound_port}"

    def start(self) -> None:
        """Serve in a daemon thread."""
        # shutdown() waits for the loop to notice; a short poll keeps stop() (and test teardown) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"sandbox-{self.url}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()
