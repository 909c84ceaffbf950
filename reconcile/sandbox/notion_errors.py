"""Notion's error objects and its message style ("body failed validation: body.x should be ...")."""

from __future__ import annotations

import json
from typing import Any

UNDEFINED: Any = object()
SHARE_HINT = "Make sure the relevant pages and databases are shared with your integration."


class NotionError(Exception):
    """An error answer: HTTP status, Notion error code, message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self, request_id: str) -> dict[str, Any]:
        """The error object."""
        return {
            "object": "error",
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "request_id": request_id,
        }


def validation(message: str) -> NotionError:
    """A 400 validation_error."""
    return NotionError(400, "validation_error", message)


def body_error(path: str, expectation: str) -> NotionError:
    """A schema-style validation_error about one field of the body."""
    where = f"body.{path}" if path else "body"
    return validation(f"body failed validation: {where} {expectation}")


def shown(value: Any) -> str:
    """A value as Notion quotes it in messages."""
    if value is UNDEFINED:
        return "`undefined`"
    return f"`{json.dumps(value, ensure_ascii=False)}`"


def too_long(path: str, limit: int, actual: int) -> NotionError:
    """The length/size limit message."""
    return body_error(f"{path}.length", f"should be ≤ `{limit}`, instead was `{actual}`.")


def not_found(kind: str, object_id: str) -> NotionError:
    """404 object_not_found, as for objects that do not exist or are not shared."""
    return NotionError(404, "object_not_found", f"Could not find {kind} with ID: {object_id}. {SHARE_HINT}")


def invalid_url() -> NotionError:
    """400 invalid_request_url."""
    return NotionError(400, "invalid_request_url", "Invalid request URL.")
