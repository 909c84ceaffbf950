"""The request log: every exchange the sandbox saw, for assertions and counting."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})


@dataclass(frozen=True)
class RequestRecord:
    """One request and how it ended (`status` None when the client got no answer)."""

    api: str
    method: str
    path: str
    query: dict[str, str | list[str]]
    status: int | None
    fault: str | None
    body: Any
    headers: dict[str, str]
    time: datetime
    wrote: bool = False
    prefix: str = ""  # the GitHub Enterprise `/api/v3` the client put before `path`, if any


class RequestLog:
    """A thread-safe, append-only list of records."""

    def __init__(self) -> None:
        self._records: list[RequestRecord] = []
        self._lock = threading.Lock()

    def append(self, record: RequestRecord) -> None:
        """Add a record."""
        with self._lock:
            self._records.append(record)

    def records(self) -> list[RequestRecord]:
        """A copy of all records, oldest first."""
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        """Forget every record."""
        with self._lock:
            self._records.clear()

    def count(
        self,
        api: str | None = None,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
    ) -> int:
        """How many records match (path is a regex searched in the path)."""
        return sum(1 for record in self.records() if _matches(record, api, method, path, status))

    def writes(self, api: str) -> int:
        """How many write requests of that API changed state."""
        return sum(1 for r in self.records() if r.api == api and r.wrote and r.method in WRITE_METHODS)


def _matches(
    record: RequestRecord, api: str | None, method: str | None, path: str | None, status: int | None
) -> bool:
    if api is not None and record.api != api:
        return False
    if method is not None and record.method != method.upper():
        return False
    if path is not None and re.search(path, record.path) is None:
        return False
    return status is None or record.status == status
