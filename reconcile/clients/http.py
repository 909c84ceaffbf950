"""One transport per API: a session, pacing, bounded retries with jittered backoff, classified errors.

The retry rules, written down once:
- A response the API's `Rules` call retryable (rate limits, 409, 5xx) is retried after the wait the API
  asked for (Retry-After, honoured in full and logged when long) or a jittered exponential backoff.
- Connection errors and read timeouts are retried for requests that are safe to repeat (reads and
  updates that set absolute values). A non-idempotent write (a page create) is never re-sent blindly:
  when its outcome is unknown, `AmbiguousWrite` is raised and the caller looks the key up first.
- Attempts are bounded (`Retry.attempts`); what is left is raised as an error of the right class.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import requests
from urllib3.exceptions import NewConnectionError

from reconcile.clients.errors import AmbiguousWrite, ApiError, Unavailable
from reconcile.clock import Clock

log = logging.getLogger("reconcile.http")

LONG_WAIT = 60.0  # seconds; waits longer than this are logged as warnings
AMBIGUOUS_STATUSES = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class Retry:
    """How hard to try: attempts per request, and the backoff between them."""

    attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 60.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Exponential with equal jitter: half fixed, half random, capped."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


class Rules(Protocol):
    """What one API's answers mean."""

    api: str

    def wait_for(self, response: requests.Response, attempt: int) -> float | None:
        """Seconds to wait before retrying this answer, or None when it must not be retried."""

    def error(self, response: requests.Response) -> ApiError:
        """The error this answer stands for."""

    def is_rate_limit(self, response: requests.Response) -> bool: ...


class Pacing(Protocol):
    """How requests to one API are spaced: this process's own bucket (`Pacer`), or a budget shared
    by several processes (reconcile.mirror.budget)."""

    rate: float  # requests per second allowed now (lower after a rate limit)

    def acquire(self) -> None:
        """Wait until a request may be sent."""

    def penalise(self, wait: float = 0.0) -> None:
        """After a rate limit whose answer asked for `wait` seconds (which the caller waits out)."""

    def reward(self) -> None:
        """After a request that went through."""


class Pacer:
    """A token bucket shared by every call to one API; it slows down after a rate limit."""

    def __init__(self, rate: float, clock: Clock, burst: float | None = None) -> None:
        self.target = self.rate = rate
        self.capacity = burst if burst is not None else max(1.0, rate)
        self.clock = clock
        self.tokens = self.capacity
        self.stamp = clock.monotonic()
        self.calm = 0

    def acquire(self) -> None:
        """Wait until a request may be sent, then spend one token."""
        self._refill()
        if self.tokens < 1:
            self.clock.sleep((1 - self.tokens) / self.rate)
            self._refill()
        self.tokens -= 1

    def penalise(self, wait: float = 0.0) -> None:
        """After a 429: start from an empty bucket at half the rate (the caller waits `wait` out)."""
        self.rate = max(self.target / 8, self.rate / 2)
        self.tokens = min(self.tokens, 0.0)
        self.calm = 0

    def reward(self) -> None:
        """After enough calm requests, creep back toward the configured rate."""
        self.calm += 1
        if self.rate < self.target and self.calm >= 20:
            self.rate = min(self.target, self.rate * 1.25)
            self.calm = 0

    def _refill(self) -> None:
        now = self.clock.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now


Observer = Callable[[str, str, int | None, float], None]  # api, method, status (None: no answer), seconds


class Transport:
    """Sends requests for one API with its pacing and retry rules."""

    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str],
        rules: Rules,
        clock: Clock,
        *,
        timeout: float,
        pacer: Pacing | None = None,
        retry: Retry | None = None,
        observe: Observer | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers.update(headers)
        # Proxies and CA bundle from the environment, read once for the API's host (requests would
        # read the whole environment again for every request).
        self.settings = self.session.merge_environment_settings(self.base_url, {}, None, None, None)
        self.session.trust_env = False
        self.rules, self.clock, self.timeout = rules, clock, timeout
        self.pacer, self.retry = pacer, retry or Retry()
        self.observe = observe or (lambda api, method, status, seconds: None)
        self.rng = rng or random.Random()

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.base_url + path

    def request(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool = True,
        before_send: Callable[[], None] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Send with retries; return a 2xx/304 answer or raise the API error it stands for.

        `before_send` runs right before each attempt goes out, after any wait: a write's lease check.
        """
        url = self.url(path)
        for attempt in range(1, self.retry.attempts + 1):
            last = attempt == self.retry.attempts
            response = self._send(method, url, idempotent, last, attempt, before_send, **kwargs)
            if response is None:
                continue
            if response.ok or response.status_code == 304:
                if self.pacer:
                    self.pacer.reward()
                return response
            wait = self.rules.wait_for(response, attempt)
            if not idempotent and response.status_code in AMBIGUOUS_STATUSES:
                raise AmbiguousWrite(
                    self.rules.api,
                    f"{method} answered {response.status_code}; the write may have happened",
                    status=response.status_code,
                )
            if wait is None or last:
                raise self.rules.error(response)
            self._pause(response, wait, method, url)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _send(
        self,
        method: str,
        url: str,
        idempotent: bool,
        last: bool,
        attempt: int,
        before_send: Callable[[], None] | None,
        **kwargs: Any,
    ) -> requests.Response | None:
        """One attempt; None when it failed in transit and may be tried again."""
        if self.pacer:
            self.pacer.acquire()
        if before_send is not None:
            before_send()
        began = time.perf_counter()  # the real duration, whatever clock the job runs on
        try:
            response = self.session.request(method, url, timeout=self.timeout, **self.settings, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            self._observed(method, url, None, began)
            never_sent = _never_sent(exc)
            if not idempotent and not never_sent:
                raise AmbiguousWrite(
                    self.rules.api,
                    f"{method} got no answer ({_describe(exc)}); the write may have happened",
                    timed_out=isinstance(exc, requests.Timeout),
                ) from None
            if last:
                raise Unavailable(self.rules.api, f"{method} {_path(url)}: {_describe(exc)}") from None
            delay = self.retry.backoff(attempt, self.rng)
            log.warning(
                "%s %s %s failed (%s); retrying in %.1f s",
                self.rules.api,
                method,
                _path(url),
                _describe(exc),
                delay,
            )
            self.clock.sleep(delay)
            return None
        except requests.RequestException as exc:  # a URL requests refuses, a broken body: no retry helps
            raise Unavailable(self.rules.api, f"{method} {_path(url)}: {type(exc).__name__}: {exc}") from None
        self._observed(method, url, response, began)
        return response

    def _observed(self, method: str, url: str, response: requests.Response | None, began: float) -> None:
        """Count the answer (metrics) and log it at DEBUG: method, path, status, duration, request id."""
        seconds = time.perf_counter() - began
        status = response.status_code if response is not None else None
        self.observe(self.rules.api, method, status, seconds)
        if log.isEnabledFor(logging.DEBUG):
            fields = {
                "api": self.rules.api,
                "method": method,
                "path": _path(url),
                "status": status if status is not None else "no answer",
                "duration_ms": round(seconds * 1000),
                "request_id": _request_id(response),
            }
            log.debug("%s %s %s", self.rules.api, method, _path(url), extra=fields)

    def _pause(self, response: requests.Response, wait: float, method: str, url: str) -> None:
        rate_limited = self.rules.is_rate_limit(response)
        # a rate limit is worth a warning: sustained, it is what makes runs slow or fail
        level = logging.WARNING if rate_limited or wait > LONG_WAIT else logging.INFO
        what = "rate limit: " if rate_limited else ""
        log.log(
            level,
            "%s %s%s %s answered %s; waiting %.1f s before retrying",
            self.rules.api,
            what,
            method,
            _path(url),
            response.status_code,
            wait,
            extra={"status": response.status_code, "request_id": _request_id(response)},
        )
        if self.pacer and rate_limited:
            self.pacer.penalise(wait)
        self.clock.sleep(wait)


def retry_after(response: requests.Response) -> float | None:
    """The Retry-After header in seconds (an integer, as Notion and GitHub send it)."""
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def json_body(response: requests.Response) -> dict[str, Any]:
    """The answer's JSON object, or an empty dict when it has none (a 502 page, say)."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _request_id(response: requests.Response | None) -> str | None:
    """The API's id for the request (Notion's x-request-id, GitHub's x-github-request-id)."""
    if response is None:
        return None
    names = ("x-notion-request-id", "x-request-id", "x-github-request-id")
    return next((response.headers[name] for name in names if name in response.headers), None)


def _never_sent(exc: Exception) -> bool:
    """True when the request surely never reached the server (refused, or timed out connecting)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError)


def _describe(exc: Exception) -> str:
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if _never_sent(exc):
        return "connection refused"
    return "connection lost"


def _path(url: str) -> str:
    """The URL without scheme and host (never carries a token: tokens travel in headers only)."""
    parts = url.split("/", 3)
    return "/" + parts[3] if len(parts) > 3 else url
