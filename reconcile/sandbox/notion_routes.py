"""HTTP behaviour of the Notion look-alike: auth, Notion-Version, rate limit, routes, error bodies."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from reconcile.clock import Clock
from reconcile.sandbox.faults import Fault
from reconcile.sandbox.ids import normalize_id
from reconcile.sandbox.messages import Request, Response, json_response
from reconcile.sandbox.notion_errors import NotionError, body_error, invalid_url, shown
from reconcile.sandbox.notion_ops import NotionOps
from reconcile.sandbox.notion_render import is_new
from reconcile.sandbox.notion_state import NotionState
from reconcile.sandbox.openapi_check import RequestValidator
from reconcile.sandbox.ratelimit import TokenBucket

VERSIONS = frozenset(
    {"2021-05-11", "2021-05-13", "2021-08-16", "2022-02-22", "2022-06-28", "2025-09-03", "2026-03-11"}
)
RATE_LIMITED = "You have been rate limited. Please try again in a few minutes."
_FAULT_ERRORS = {
    400: ("validation_error", "Injected validation error."),
    401: ("unauthorized", "API token is invalid."),
    403: ("restricted_resource", "API token does not have access to this resource."),
    404: (
        "object_not_found",
        "Could not find object. Make sure the relevant pages and databases are shared with your integration.",
    ),
    409: ("conflict_error", "Conflict occurred while saving. Please try again."),
    429: ("rate_limited", RATE_LIMITED),
    500: ("internal_server_error", "Unexpected error occurred."),
    503: (
        "service_unavailable",
        "Notion is unavailable. This can occur when the time to respond to a "
        "request takes longer than 60 seconds, the maximum request timeout.",
    ),
    504: (
        "gateway_timeout",
        "Notion timed out while attempting to complete this request. Please try again later.",
    ),
    529: ("service_overload", "Notion is experiencing high load. Please try again later."),
}


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    template: str
    name: str
    era: str | None = None


def _route(method: str, template: str, name: str, era: str | None = None) -> _Route:
    pattern = re.compile("^" + re.sub(r"\{[a-z_]+\}", "([^/]+)", template) + "/?$")
    return _Route(method, pattern, template, name, era)


ROUTES = (
    _route("GET", "/v1/users/me", "me"),
    _route("GET", "/v1/users", "users"),
    _route("GET", "/v1/databases/{database_id}", "get_database"),
    _route("PATCH", "/v1/databases/{database_id}", "update_database"),
    _route("POST", "/v1/databases/{database_id}/query", "query", era="old"),
    _route("GET", "/v1/data_sources/{data_source_id}", "get_data_source", era="new"),
    _route("PATCH", "/v1/data_sources/{data_source_id}", "update_data_source", era="new"),
    _route("POST", "/v1/data_sources/{data_source_id}/query", "query", era="new"),
    _route("POST", "/v1/pages", "create_page"),
    _route("GET", "/v1/pages/{page_id}", "get_page"),
    _route("PATCH", "/v1/pages/{page_id}", "update_page"),
)


@dataclass
class _Call:
    token: str
    version: str
    args: tuple[str, ...]
    body: dict[str, Any]
    only: set[str] | None


class NotionRouter:
    """Answers Notion API requests from a NotionState."""

    def __init__(
        self,
        state: NotionState,
        lock: threading.RLock,
        clock: Clock,
        query_cap: int,
        rps: float | None,
        burst: int,
        validator: RequestValidator | None,
    ) -> None:
        self._state = state
        self._lock = lock
        self._clock = clock
        self._ops = NotionOps(state, query_cap)
        self._rps = rps
        self._burst = burst
        self._buckets: dict[str, TokenBucket] = {}
        self._validator = validator

    def handle(self, request: Request) -> Response:
        """Authenticate, check the version and the rate limit, then route; errors as error objects."""
        request_id = str(uuid.uuid4())
        try:
            response = self._handle(request, request_id)
        except NotionError as error:
            response = _error_response(error, request_id)
        response.headers["x-notion-request-id"] = request_id
        return response

    def fault_response(self, fault: Fault, request: Request) -> Response:
        """An injected error in Notion's style."""
        request_id = str(uuid.uuid4())
        status = fault.status or 500
        code, message = _FAULT_ERRORS.get(status) or ("internal_server_error", _phrase(status))
        if status == 502 and fault.code is None:
            # Notion's 502s come from its proxy as HTML, not as an error object.
            response = Response(
                502, {"Content-Type": "text/html"}, b"<html><body>502 Bad Gateway</body></html>"
            )
        else:
            response = _error_response(
                NotionError(status, fault.code or code, fault.message or message), request_id
            )
        retry_after = (
            fault.retry_after if fault.retry_after is not None else (1 if status in (429, 529) else None)
        )
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        response.headers["x-notion-request-id"] = request_id
        return response

    def _handle(self, request: Request, request_id: str) -> Response:
        token = _bearer(request.header("authorization"))
        with self._lock:
            if token is None or self._state.bot_id(token) is None:
                raise NotionError(401, "unauthorized", "API token is invalid.")
        version = _version(request.header("notion-version"))
        wait = self._throttle(token)
        if wait:
            error = NotionError(429, "rate_limited", RATE_LIMITED)
            return _error_response(error, request_id, {"Retry-After": str(wait)})
        route, args = _match(request, version)
        call = _Call(token, version, args, _body(request), _only(request))
        if self._validator is not None:
            self._validator.check(version, request.method, route.template, call.body)
        with self._lock:
            payload = self._dispatch(route.name, call)
        # Real answers carry the request id in the body too (pages, lists, databases, errors).
        response = json_response(200, {**payload, "request_id": request_id})
        response.wrote = request.method in ("POST", "PATCH") and route.name != "query"
        return response

    def _throttle(self, token: str) -> int:
        if self._rps is None:
            return 0
        with self._lock:
            bucket = self._buckets.setdefault(token, TokenBucket(self._rps, self._burst, self._clock))
            return bucket.take()

    def _dispatch(self, name: str, call: _Call) -> dict[str, Any]:
        handlers: dict[str, Callable[[], dict[str, Any]]] = {
            "me": lambda: self._ops.me(call.token),
            "users": lambda: self._ops.users(call.token),
            "get_database": lambda: self._ops.get_database(call.token, call.args[0], call.version),
            "update_database": lambda: self._ops.update_database(
                call.token, call.args[0], call.body, call.version
            ),
            "query": lambda: self._ops.query(call.token, call.args[0], call.body, call.version, call.only),
            "get_data_source": lambda: self._ops.get_data_source(call.token, call.args[0]),
            "update_data_source": lambda: self._ops.update_data_source(call.token, call.args[0], call.body),
            "create_page": lambda: self._ops.create_page(call.token, call.body, call.version),
            "get_page": lambda: self._ops.get_page(call.token, call.args[0], call.version, call.only),
            "update_page": lambda: self._ops.update_page(call.token, call.args[0], call.body, call.version),
        }
        return handlers[name]()


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _bearer(authorization: str | None) -> str | None:
    scheme, _, value = (authorization or "").strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _version(header: str | None) -> str:
    if not header:
        raise NotionError(
            400,
            "missing_version",
            "Notion-Version header failed validation: Notion-Version "
            "header should be defined, instead was `undefined`.",
        )
    if header not in VERSIONS:
        raise NotionError(
            400,
            "validation_error",
            f"Notion-Version header failed validation: {header} is not a valid Notion-Version.",
        )
    return header


def _match(request: Request, version: str) -> tuple[_Route, tuple[str, ...]]:
    for route in ROUTES:
        found = route.pattern.match(request.path)
        if found and route.method == request.method and _era_ok(route.era, version):
            args = found.groups()
            _check_ids(route.template, args)
            return route, args
    raise invalid_url()


def _era_ok(era: str | None, version: str) -> bool:
    return era is None or (era == "new") == is_new(version)


def _check_ids(template: str, args: tuple[str, ...]) -> None:
    names = re.findall(r"\{([a-z_]+)\}", template)
    for name, value in zip(names, args, strict=True):
        if normalize_id(value) is None:
            raise NotionError(
                400,
                "validation_error",
                f"path failed validation: path.{name} should be a valid uuid, instead was {shown(value)}.",
            )


def _body(request: Request) -> dict[str, Any]:
    if request.method not in ("POST", "PATCH"):
        return {}
    try:
        body = request.json_body()
    except ValueError:
        raise NotionError(400, "invalid_json", "Error parsing JSON body.") from None
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise body_error("", f"should be an object, instead was {shown(body)}.")
    return body


def _only(request: Request) -> set[str] | None:
    values = request.query.get("filter_properties") or request.query.get("filter_properties[]")
    return set(values) if values else None


def _error_response(error: NotionError, request_id: str, headers: dict[str, str] | None = None) -> Response:
    return json_response(error.status, error.body(request_id), headers)
