"""Per-request orchestration: faults first, then the API's router, then the request log."""

from __future__ import annotations

import json
import threading
import traceback
from typing import Any, Protocol

from reconcile.clock import Clock
from reconcile.sandbox.faults import Fault, FaultSet
from reconcile.sandbox.log import RequestLog, RequestRecord
from reconcile.sandbox.messages import Request, Response, json_response


class Router(Protocol):
    """An API look-alike: answers requests and renders injected errors in its own style."""

    def handle(self, request: Request) -> Response: ...

    def fault_response(self, fault: Fault, request: Request) -> Response: ...


class Dispatcher:
    """Turns a request into a response, or None when the connection must be dropped."""

    def __init__(
        self,
        routers: dict[str, Router],
        faults: FaultSet,
        log: RequestLog,
        clock: Clock,
        stopping: threading.Event,
    ) -> None:
        self._routers = routers
        self._faults = faults
        self._log = log
        self._clock = clock
        self._stopping = stopping
        self._idle = threading.Condition()
        self._inflight = 0

    def serve(self, request: Request) -> Response | None:
        """Apply any fault, route, and record the outcome."""
        with self._idle:
            self._inflight += 1
        try:
            return self._serve(request)
        finally:
            with self._idle:
                self._inflight -= 1
                self._idle.notify_all()

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until no request is being handled (slow faults included); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._inflight == 0, timeout)

    def _serve(self, request: Request) -> Response | None:
        fault = self._faults.pick(request.api, request.method, request.path)
        kind = fault.kind if fault else None
        if kind == "reset" or (kind == "slow" and fault and self._stopping.wait(fault.delay)):
            self._record(request, None, kind, wrote=False)
            return None
        router = self._routers[request.api]
        if kind == "hold" and fault:
            return self._hold(fault, router, request)
        response = self._route(router, request, fault if kind == "status" else None)
        if kind == "lost_response":
            # The work is done (and counted as a write) but the client never hears back.
            self._record(request, None, kind, wrote=response.wrote)
            return None
        self._record(request, response.status, kind, wrote=response.wrote)
        return response

    def _hold(self, fault: Fault, router: Router, request: Request) -> None:
        """Park the request until released; do its work first when the fault says so; never answer."""
        response = self._route(router, request, None) if fault.process else None
        fault.arrived.set()
        while not fault.released.wait(0.05) and not self._stopping.is_set():
            pass
        self._record(request, None, "hold", wrote=bool(response and response.wrote))
        return None

    def _route(self, router: Router, request: Request, fault: Fault | None) -> Response:
        try:
            return router.fault_response(fault, request) if fault else router.handle(request)
        except Exception as exc:  # a sandbox bug must show up as a 500, not a hung client
            traceback.print_exc()
            return json_response(500, {"message": f"sandbox internal error: {exc!r}"})

    def _record(self, request: Request, status: int | None, fault: str | None, wrote: bool) -> None:
        self._log.append(
            RequestRecord(
                api=request.api,
                method=request.method,
                path=request.path,
                query=_flat(request.query),
                status=status,
                fault=fault,
                body=_parsed(request.body),
                headers=_redacted(request.headers),
                time=self._clock.now(),
                wrote=wrote,
                prefix=request.prefix,
            )
        )


def _flat(query: dict[str, list[str]]) -> dict[str, str | list[str]]:
    return {key: values[0] if len(values) == 1 else list(values) for key, values in query.items()}


def _parsed(body: bytes) -> Any:
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def _redacted(headers: dict[str, str]) -> dict[str, str]:
    return {name: "REDACTED" if name == "authorization" else value for name, value in headers.items()}
