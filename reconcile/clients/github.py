"""The GitHub REST API: serial requests, conditional listings, GitHub's documented rate-limit order."""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from reconcile.clients.errors import (
    ApiError,
    AuthError,
    Forbidden,
    Gone,
    InvalidRequest,
    NotFound,
    RateLimited,
    Unavailable,
)
from reconcile.clients.http import Answer, Observer, Retry, Transport, json_body, retry_after
from reconcile.clock import Clock
from reconcile.config import GitHubConfig
from reconcile.model import GitHubItem, iso, parse_instant

log = logging.getLogger("reconcile.github")

PER_PAGE = 100
SECONDARY_WAIT = 60.0  # GitHub: "wait at least one minute" when a rate limit names no time


class GitHubRules:
    """GitHub's order for rate limits: retry-after, else the reset time, else a minute and growing."""

    api = "github"

    def __init__(self, clock: Clock, retry: Retry, rng: random.Random) -> None:
        self.clock, self.retry, self.rng = clock, retry, rng

    def is_rate_limit(self, response: Answer) -> bool:
        if response.status_code not in (403, 429):
            return False
        headers = response.headers
        message = str(json_body(response).get("message", "")).lower()
        return (
            response.status_code == 429
            or headers.get("x-ratelimit-remaining") == "0"
            or "retry-after" in headers
            or "rate limit" in message
        )

    def wait_for(self, response: Answer, attempt: int) -> float | None:
        if self.is_rate_limit(response):
            return self._rate_limit_wait(response, attempt)
        if response.status_code in (500, 502, 503, 504):
            return self.retry.backoff(attempt, self.rng)
        return None

    def _rate_limit_wait(self, response: Answer, attempt: int) -> float:
        after = retry_after(response)
        if after is not None:
            return after
        reset = response.headers.get("x-ratelimit-reset")
        if response.headers.get("x-ratelimit-remaining") == "0" and reset and reset.isdigit():
            return max(1.0, int(reset) - self.clock.now().timestamp() + 1)
        return SECONDARY_WAIT * 2 ** (attempt - 1)

    def error(self, response: Answer) -> ApiError:
        status = response.status_code
        message = str(json_body(response).get("message") or response.reason or "no message")
        request_id = response.headers.get("x-github-request-id")
        fields: dict[str, Any] = {"status": status, "request_id": request_id}
        if status == 401:
            return AuthError("github", message, **fields)
        if self.is_rate_limit(response):
            return RateLimited("github", message, **fields)
        errors: dict[int, type[ApiError]] = {403: Forbidden, 404: NotFound, 410: Gone}
        if status in errors:
            return errors[status]("github", message, **fields)
        return (InvalidRequest if status < 500 else Unavailable)("github", message, **fields)


@dataclass
class Listing:
    """One repository's issues listing: the exact first-page URL, its ETag, and the items (streamed)."""

    url: str
    etag: str | None
    not_modified: bool
    items: Iterator[dict[str, Any]]
    pages: int = 0

    @property
    def single_page(self) -> bool:
        """An ETag only vouches for the first page: it is worth keeping when that was all there was."""
        return self.pages == 1


@dataclass(frozen=True)
class Lookup:
    """One item asked for by number: found (perhaps at a new place) or gone, and why."""

    issue: dict[str, Any] | None
    reason: str = ""


class GitHubClient:
    """What the job asks of GitHub."""

    def __init__(
        self,
        config: GitHubConfig,
        clock: Clock,
        *,
        observe: Observer | None = None,
        retry: Retry | None = None,
        rng: random.Random | None = None,
    ) -> None:
        retry, rng = retry or Retry(), rng or random.Random()
        self.clock = clock
        self._resume_at: float | None = None  # epoch seconds: the budget is spent until then
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "reconcile",
        }
        if config.token:
            headers["Authorization"] = f"Bearer {config.token.get_secret_value()}"
        self.transport = Transport(
            config.api_url,
            headers,
            GitHubRules(clock, retry, rng),
            clock,
            timeout=config.timeout_seconds,
            retry=retry,
            observe=observe,
            rng=rng,
        )

    def get(self, url: str, headers: dict[str, str] | None = None) -> Answer:
        """One GET; when the previous answer spent the hourly budget, first wait for its reset."""
        if self._resume_at is not None:
            wait = self._resume_at - self.clock.now().timestamp()
            if wait > 0:
                log.warning("GitHub rate limit used up; waiting %.0f s for it to reset", wait)
                self.clock.sleep(wait)
            self._resume_at = None
        response = self.transport.request("GET", url, headers=headers or {})
        reset = response.headers.get("x-ratelimit-reset", "")
        if response.headers.get("x-ratelimit-remaining") == "0" and reset.isdigit():
            self._resume_at = int(reset) + 1.0
        return response

    def user(self) -> dict[str, Any]:
        return json_body(self.get("/user"))

    def rate_limit(self) -> dict[str, Any] | None:
        """The core budget: limit, remaining, reset (epoch); None where rate limiting is off (GHES).

        GitHub does not count this call against the budget.
        """
        try:
            body = json_body(self.get("/rate_limit"))
        except NotFound:
            return None
        core = (body.get("resources") or {}).get("core") or body.get("rate")
        return core if isinstance(core, dict) else None

    def repository(self, repo: str) -> dict[str, Any]:
        return json_body(self.get(f"/repos/{repo}"))

    def list_issues(
        self, repo: str, since: datetime | None = None, etag: str | None = None, etag_url: str | None = None
    ) -> Listing:
        """Issues and PRs of a repo updated since `since`, oldest update first; 304 when unchanged."""
        params: dict[str, Any] = {"state": "all", "sort": "updated", "direction": "asc", "per_page": PER_PAGE}
        if since is not None:
            params["since"] = iso(since.replace(microsecond=0))
        url = self.transport.url(f"/repos/{repo}/issues?{urlencode(params)}")
        headers = {"If-None-Match": etag} if etag and etag_url == url else {}
        first = self.get(url, headers)
        if first.moved:
            log.warning("%s has moved (renamed or transferred); update github.repos", repo)
        if first.status_code == 304:
            return Listing(url, etag, True, iter(()))
        listing = Listing(url, first.headers.get("ETag"), False, iter(()))
        listing.items = self._pages(first, listing)
        return listing

    def _pages(self, response: Answer, listing: Listing) -> Iterator[dict[str, Any]]:
        """Follow the Link header's `next` until there is none (never build page URLs ourselves)."""
        while True:
            listing.pages += 1
            body = response.json()
            yield from body if isinstance(body, list) else []
            following = response.links.get("next", {}).get("url")
            if not following:
                return
            response = self.get(following)

    def lookup(self, repo: str, number: int) -> Lookup:
        """One item by number; a 301 is followed to where it moved, 404/410 say it is gone."""
        try:
            return Lookup(json_body(self.get(f"/repos/{repo}/issues/{number}")))
        except Gone as exc:
            return Lookup(None, f"deleted on GitHub ({exc.message})")
        except NotFound:
            return Lookup(None, "not found on GitHub (deleted, or moved where this token cannot see it)")


def item_from_api(raw: dict[str, Any]) -> GitHubItem:
    """An issue object of the REST API as a GitHubItem."""
    pull = raw.get("pull_request") or None
    milestone = raw.get("milestone") or {}
    return GitHubItem(
        id=int(raw["id"]),
        repo=repo_of(raw),
        number=int(raw["number"]),
        kind="pull_request" if pull else "issue",
        state=str(raw.get("state") or "open"),
        state_reason=raw.get("state_reason"),
        title=str(raw.get("title") or ""),
        url=str(raw["html_url"]),
        merged=bool(pull and pull.get("merged_at")),
        draft=bool(raw.get("draft")),
        assignees=tuple(person["login"] for person in raw.get("assignees") or [] if person),
        labels=tuple(
            label if isinstance(label, str) else label.get("name", "") for label in raw.get("labels") or []
        ),
        author=(raw.get("user") or {}).get("login"),
        milestone=milestone.get("title"),
        created_at=parse_instant(raw["created_at"]),
        updated_at=parse_instant(raw["updated_at"]),
        closed_at=_instant(raw.get("closed_at")),
        merged_at=_instant(pull.get("merged_at")) if pull else None,
    )


def repo_of(raw: dict[str, Any]) -> str:
    """owner/name of the item's repository (from its API URL, which names the current place)."""
    source = raw.get("repository_url") or ""
    parts = source.rstrip("/").split("/")
    if len(parts) >= 2 and "/repos/" in source:
        return f"{parts[-2]}/{parts[-1]}"
    html = str(raw.get("html_url", "")).split("/")
    return f"{html[3]}/{html[4]}" if len(html) > 4 else ""


_PLACE = re.compile(r"^https?://[^/]+/([\w.-]+/[\w.-]+)/(?:issues|pull)/(\d+)/?$")


def place_of(url: str) -> tuple[str, int] | None:
    """(owner/name, number) of an item's html_url, on github.com or an Enterprise host."""
    match = _PLACE.match(url.strip())
    return (match.group(1), int(match.group(2))) if match else None


def _instant(value: str | None) -> datetime | None:
    return parse_instant(value) if value else None
