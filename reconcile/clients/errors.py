"""The API error family: each error knows its API, status, code and request id, never a token."""

from __future__ import annotations

from reconcile.errors import ReconcileError


class ApiError(ReconcileError):
    """An API answered with an error (or did not answer) after the retries it deserved."""

    hint = ""

    def __init__(
        self,
        api: str,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.api, self.message, self.status, self.code, self.request_id = (
            api,
            message,
            status,
            code,
            request_id,
        )
        super().__init__(str(self))

    def __str__(self) -> str:
        what = " ".join(str(part) for part in (self.status, self.code) if part)
        text = f"{self.api}: {what + ': ' if what else ''}{self.message}"
        if self.request_id:
            text += f" (request id {self.request_id})"
        return f"{text}. {self.hint}" if self.hint else text


class AuthError(ApiError):
    """401: the token is missing, wrong, expired or revoked."""

    def __init__(self, api: str, message: str, **kwargs: object) -> None:
        self.hint = _AUTH_HINTS.get(api, "")
        super().__init__(api, message, **kwargs)  # type: ignore[arg-type]


_AUTH_HINTS = {
    "notion": "Check NOTION_API_KEY (notion.token): the integration token may be wrong or revoked",
    "github": "Check GITHUB_TOKEN (github.token): it may be wrong, expired or revoked",
}


class NotShared(ApiError):
    """403/404 on the database: it does not exist or is not shared with the integration."""

    hint = (
        "Check NOTION_DB_ID (notion.database_id) and share the database with the integration "
        "(database menu → Connections → add it)"
    )


class Forbidden(ApiError):
    """403 that is not a rate limit: the token lacks a permission."""


class NotFound(ApiError):
    """404: the object does not exist (or is invisible to this token)."""


class Gone(ApiError):
    """410: GitHub says the object was deleted (or issues are disabled)."""


class InvalidRequest(ApiError):
    """400: the API refused the request as written (Notion's validation_error and friends)."""


class Conflict(ApiError):
    """409: Notion could not complete a write because the data changed under it; re-read, then retry."""


class PageArchived(InvalidRequest):
    """A write hit a page that is in the trash."""


class RateLimited(ApiError):
    """Still rate limited after every wait the API asked for."""


class Unavailable(ApiError):
    """5xx, timeouts or connection errors that outlasted the retries."""


class AmbiguousWrite(ApiError):
    """A write whose outcome is unknown: it may or may not have happened (timeout, reset, 5xx)."""

    def __init__(self, api: str, message: str, *, timed_out: bool = False, **kwargs: object) -> None:
        self.timed_out = timed_out  # the server may still be working on it
        super().__init__(api, message, **kwargs)  # type: ignore[arg-type]
