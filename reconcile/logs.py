"""Logging: stderr (and --log-file), text or one JSON object a line; secrets scrubbed from every record."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from urllib.parse import quote, quote_plus

_SECRETS: set[str] = set()
_BY_LENGTH: list[str] = []  # the forms of every secret, longest first (a longer form is never half-replaced)
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
MIN_SECRET = 6  # shorter values are ignored: scrubbing them would mangle ordinary text


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


class Redacting(logging.Formatter):
    """Any formatter's output with every known secret replaced: message, traceback and all."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return redact(self.inner.format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ts, level, event, and any extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "level": record.levelname.lower(),
            "event": record.getMessage(),
            "logger": record.name,
        }
        entry.update({key: value for key, value in vars(record).items() if key not in _STANDARD})
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def setup(level: str = "info", fmt: str = "text", file: str | None = None) -> None:
    """Configure the `reconcile` logger tree once per process (idempotent)."""
    root = logging.getLogger("reconcile")
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    inner = (
        JsonFormatter()
        if fmt == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S")
    )
    formatter = Redacting(inner)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if file:
        handlers.append(logging.FileHandler(file, encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(level.upper())
    root.propagate = False
