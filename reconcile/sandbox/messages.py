"""The sandbox's view of one HTTP exchange: a parsed request and the answer to send back."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Request:
    """One HTTP request as the routers see it (header names lower-cased)."""

    api: str
    method: str
    path: str
    query: dict[str, list[str]]
    query_string: str
    headers: dict[str, str]
    body: bytes = b""
    prefix: str = ""

    def header(self, name: str) -> str | None:
        """The header's value, or None."""
        return self.headers.get(name.lower())

    def param(self, name: str) -> str | None:
        """The first value of a query parameter, or None."""
        values = self.query.get(name)
        return values[0] if values else None

    def json_body(self) -> Any:
        """The body parsed as JSON (None when empty); ValueError when it is not JSON."""
        if not self.body.strip():
            return None
        return json.loads(self.body)


@dataclass
class Response:
    """What to send back; `wrote` says whether the request changed state."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    wrote: bool = False


def dumps(payload: Any) -> bytes:
    """Compact UTF-8 JSON, as both real APIs send it; a lone surrogate (which has no UTF-8) goes out as a
    `\\udXXX` escape, as JavaScript's JSON.stringify writes one."""
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(payload, separators=(",", ":")).encode("ascii")


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer."""
    all_headers = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
    return Response(status, all_headers, dumps(payload))
