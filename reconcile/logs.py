"""Logging: stderr (and --log-file), dated UTC text or JSON lines; run ids and secrets on every record.

Text lines read `2026-11-30T12:00:00.123Z WARNING [run 12] message key=value ...`: a full UTC date-time and
the level in capitals first, so `grep -E "(ERROR|WARN|SUCCESS)"` finds what the runbook expects. JSON lines
carry `ts`, `level` (capitals too), `event`, `run_id` and the structured fields a call passed in `extra`.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, quote_plus

from reconcile.errors import ReconcileError

_SECRETS: set[str] = set()
_BY_LENGTH: list[str] = []  # the forms of every secret, longest first (a longer form is never half-replaced)
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "run_id"}
MIN_SECRET = 6  # shorter values are ignored: scrubbing them would mangle ordinary text

# Structured fields, in the order text lines show them (JSON lines carry every extra field).
FIELDS = ("action", "key", "page_id", "status", "method", "path", "request_id", "duration_ms")

_RUN: ContextVar[int | None] = ContextVar("reconcile_run_id", default=None)
# Threads do not inherit context variables (the lock's heartbeat thread, say): they fall back to the
# run the process is in, when it is in exactly one. A process runs one run at a time; the context variable
# keeps tests that run several in threads apart (and then the fallback names none).
_ACTIVE: list[int | None] = []


class LogFileError(ReconcileError):
    """--log-file names a file that cannot be opened for appending."""


def add_secrets(secrets: Iterable[str | None]) -> None:
    """Remember values that must never be printed (tokens), in every form a message can show them."""
    for secret in secrets:
        if secret:
            _SECRETS.update(form for form in secret_forms(secret) if len(form) >= MIN_SECRET)
    _BY_LENGTH[:] = sorted(_SECRETS, key=len, reverse=True)


def secret_forms(secret: str) -> set[str]:
    """The secret as given and stripped, each raw, as repr() shows it, JSON-escaped and URL-encoded."""
    forms: set[str] = set()
    for value in {secret, secret.strip()}:
        forms.update(
            {
                value,
                repr(value)[1:-1],  # 'tok\n' in an exception message or a traceback
                ascii(value)[1:-1],
                json.dumps(value)[1:-1],  # tok\" in a JSON log line, a JSON report, a JSON column
                json.dumps(value, ensure_ascii=False)[1:-1],
                quote(value, safe=""),  # tok%0A in a URL
                quote(value),
                quote_plus(value),
            }
        )
    return forms


def redact(text: str) -> str:
    """The text with every known secret, in any of its forms, replaced."""
    for secret in _BY_LENGTH:
        if secret in text:
            text = text.replace(secret, "[redacted]")
    return text


@contextmanager
def run_context(run_id: int | None) -> Iterator[None]:
    """Every log line inside carries this run's id."""
    token = _RUN.set(run_id)
    _ACTIVE.append(run_id)
    try:
        yield
    finally:
        _RUN.reset(token)
        _ACTIVE.remove(run_id)


def current_run() -> int | None:
    if _RUN.get() is not None:
        return _RUN.get()
    return _ACTIVE[0] if len(_ACTIVE) == 1 else None


class RunId(logging.Filter):
    """Stamps each record with the run it belongs to (None outside a run)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "run_id", None) is None:
            record.run_id = current_run()
        return True


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {key: value for key, value in vars(record).items() if key not in _STANDARD}


class TextFormatter(logging.Formatter):
    """`<UTC date-time> <LEVEL> [run N] <message> key=value ...`, secrets never shown."""

    def format(self, record: logging.LogRecord) -> str:
        run_id = getattr(record, "run_id", None)
        parts = [_timestamp(record), record.levelname]
        if run_id is not None:
            parts.append(f"[run {run_id}]")
        message = record.getMessage()
        parts.append(message)
        extras = _extras(record)
        # fields the message already shows (a key, say) are not repeated: text lines are for people
        parts += [
            f"{name}={extras[name]}"
            for name in FIELDS
            if extras.get(name) is not None and str(extras[name]) not in message
        ]
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return redact(line)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ts, level, event, run_id, and any extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "event": record.getMessage(),
            "logger": record.name,
        }
        run_id = getattr(record, "run_id", None)
        if run_id is not None:
            entry["run_id"] = run_id
        entry.update(_extras(record))
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, default=str))


def setup(level: str = "info", fmt: str = "text", file: str | None = None) -> None:
    """Configure the `reconcile` logger tree (idempotent); an unusable --log-file is a LogFileError.

    stderr is set up first, so that when the file cannot be opened the error (and the run's outcome
    line) still reach cron's mail or the journal.
    """
    root = logging.getLogger("reconcile")
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level.upper())
    root.propagate = False
    formatter = JsonFormatter() if fmt == "json" else TextFormatter()
    _attach(root, logging.StreamHandler(sys.stderr), formatter)
    if file:
        try:
            handler = logging.FileHandler(file, encoding="utf-8")
        except OSError as exc:
            raise LogFileError(f"--log-file {file}: {exc.strerror or exc}") from None
        _attach(root, handler, formatter)


def _attach(root: logging.Logger, handler: logging.Handler, formatter: logging.Formatter) -> None:
    handler.setFormatter(formatter)
    handler.addFilter(RunId())
    root.addHandler(handler)
