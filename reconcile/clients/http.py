"""One transport per API: a session, pacing, bounded retries with jittered backoff, classified errors.

The retry rules, written down once:
- A response the API's `Rules` call retryable (rate limits, 409, 5xx) is retried after the wait the API
  asked for (Retry-After, honoured in full and logged when long) or a jittered exponential backoff.
- Connection errors and read timeouts are retried for requests that are safe to repeat (reads and
  updates that set absolute values). A non-idempotent write (a page create) is never re-sent blindly:
  when its outcome is unknown, `AmbiguousWrite` is raised and the caller looks the key up first.
- Attempts are bounded (`Retry.attempts`); what is left is raised as an error of the right class.

Requests go out through urllib3's connection pools, the layer `requests` itself sends through: a run makes
one request per write, and `requests`' session machinery (cookies, hooks, settings merged per request) cost
more CPU than the rest of a write together. The environment is read as `requests` reads it (proxies,
NO_PROXY, REQUESTS_CA_BUNDLE), once per API.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

import requests.utils
import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    LocationValueError,
    MaxRetryError,
    NewConnectionError,
    TimeoutError,
)

from reconcile.clients.errors import AmbiguousWrite, ApiError, Unavailable
from reconcile.clock import Clock

log = logging.getLogger("reconcile.http")

LONG_WAIT = 60.0  # seconds; waits longer than this are logged as warnings
AMBIGUOUS_STATUSES = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class Answer:
    """One HTTP answer as the clients read it: what was asked, the status, headers and body."""

    method: str
    url: str
    status_code: int
    reason: str
    headers: Mapping[str, str]  # case-insensitive (urllib3's HTTPHeaderDict)
    content: bytes
    moved: bool = False  # reached through a permanent redirect (301/308) on the way

    @property
    def ok(self) -> bool:
        return self.status_code < 400

    def json(self) -> Any:
        """The body parsed as JSON; ValueError when it is not JSON."""
        return json.loads(self.content)

    @cached_property
    def links(self) -> dict[str, dict[str, str]]:
        """The Link header by relation: {"next": {"url": …, "rel": "next"}, …}."""
        header = self.headers.get("Link")
        if not header:
            return {}
        return {link.get("rel") or link["url"]: link for link in requests.utils.parse_header_links(header)}

    @property
    def path(self) -> str:
        """The path asked for, without the query."""
        return urlsplit(self.url).path


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

    def wait_for(self, response: Answer, attempt: int) -> float | None:
        """Seconds to wait before retrying this answer, or None when it must not be retried."""

    def error(self, response: Answer) -> ApiError:
        """The error this answer stands for."""

    def is_rate_limit(self, response: Answer) -> bool: ...


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
        self.headers = {**DEFAULT_HEADERS, **headers}
        self.pool = _pool(self.base_url)
        self.timeouts = urllib3.Timeout(connect=timeout, read=timeout)
        self.rules, self.clock = rules, clock
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
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """Send with retries; return a 2xx/304 answer or raise the API error it stands for.

        `json` is the body, `params` the query (a list value repeats its name), `headers` add to the API's.
        `before_send` runs right before each attempt goes out, after any wait: a write's lease check.
        """
        url = self.url(path)
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params, doseq=True)
        sent = {**self.headers, **headers} if headers else dict(self.headers)
        body = None
        if json is not None:
            body = _json_body(json)
            sent["Content-Type"] = "application/json"
        for attempt in range(1, self.retry.attempts + 1):
            last = attempt == self.retry.attempts
            response = self._send(method, url, idempotent, last, attempt, before_send, sent, body)
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
        headers: dict[str, str],
        body: bytes | None,
    ) -> Answer | None:
        """One attempt; None when it failed in transit and may be tried again."""
        if self.pacer:
            self.pacer.acquire()
        if before_send is not None:
            before_send()
        began = time.perf_counter()  # the real duration, whatever clock the job runs on
        try:
            response = self._answer(method, url, headers, body)
        except LocationValueError as exc:  # a URL no request can be made of: no retry helps
            raise Unavailable(self.rules.api, f"{method} {_path(url)}: {type(exc).__name__}: {exc}") from None
        except HTTPError as failure:
            exc = failure.reason if isinstance(failure, MaxRetryError) and failure.reason else failure
            self._observed(method, url, None, began)
            never_sent = _never_sent(exc)
            if not idempotent and not never_sent:
                raise AmbiguousWrite(
                    self.rules.api,
                    f"{method} got no answer ({_describe(exc)}); the write may have happened",
                    timed_out=_timed_out(exc),
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
        self._observed(method, url, response, began)
        return response

    def _answer(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> Answer:
        """One exchange; redirects followed (GitHub's 301 for a moved repository), nothing retried."""
        response = self.pool.urlopen(
            method,
            url,
            body=body,
            headers=headers,
            timeout=self.timeouts,
            retries=NO_RETRIES,
            redirect=True,
            preload_content=True,
        )
        history = response.retries.history if response.retries else ()
        return Answer(
            method=method,
            url=url,
            status_code=response.status,
            reason=response.reason or "",
            headers=response.headers,
            content=response.data,
            moved=bool(history) and history[0].status in (301, 308),
        )

    def _observed(self, method: str, url: str, response: Answer | None, began: float) -> None:
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

    def _pause(self, response: Answer, wait: float, method: str, url: str) -> None:
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


# What every request carries unless the API's own headers say otherwise (as `requests` sent them).
DEFAULT_HEADERS = {"User-Agent": "reconcile", "Accept": "*/*", "Accept-Encoding": "gzip, deflate"}

# urllib3 itself retries nothing (the Transport does, by its rules) but follows up to 5 redirects.
NO_RETRIES = urllib3.Retry(
    total=None, connect=0, read=0, other=0, status=0, redirect=5, raise_on_redirect=True
)


def _pool(base_url: str) -> urllib3.PoolManager:
    """The connection pool for one API host: through the environment's proxy for it if it names one
    (HTTPS_PROXY, NO_PROXY, …), verifying TLS against REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE or certifi's."""
    settings = requests.Session().merge_environment_settings(base_url, {}, None, None, None)
    verify = settings.get("verify", True)
    tls: dict[str, Any] = {"maxsize": 10}  # connections kept per host, as many as `requests` keeps
    if verify is False:
        tls["cert_reqs"] = "CERT_NONE"
    else:
        bundle = verify if isinstance(verify, str) else requests.utils.DEFAULT_CA_BUNDLE_PATH
        tls["cert_reqs"] = "CERT_REQUIRED"
        tls["ca_cert_dir" if os.path.isdir(bundle) else "ca_certs"] = bundle
    proxy = (settings.get("proxies") or {}).get(urlsplit(base_url).scheme)
    if proxy:
        return urllib3.ProxyManager(proxy, **tls)
    return urllib3.PoolManager(**tls)


def _json_body(value: Any) -> bytes:
    """The JSON body as `requests` encodes it (UTF-8, no NaN: Notion would refuse it anyway)."""
    return json.dumps(value, allow_nan=False).encode("utf-8")


def retry_after(response: Answer) -> float | None:
    """The Retry-After header in seconds (an integer, as Notion and GitHub send it)."""
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def json_body(response: Answer) -> dict[str, Any]:
    """The answer's JSON object, or an empty dict when it has none (a 502 page, say)."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _request_id(response: Answer | None) -> str | None:
    """The API's id for the request (Notion's x-request-id, GitHub's x-github-request-id)."""
    if response is None:
        return None
    names = ("x-notion-request-id", "x-request-id", "x-github-request-id")
    return next((response.headers[name] for name in names if name in response.headers), None)


def _never_sent(exc: Exception) -> bool:
    """True when the request surely never reached the server (refused, or timed out connecting)."""
    return isinstance(exc, ConnectTimeoutError)  # NewConnectionError is one too


def _timed_out(exc: Exception) -> bool:
    return isinstance(exc, TimeoutError) and not isinstance(exc, NewConnectionError)


def _describe(exc: Exception) -> str:
    if _timed_out(exc):
        return "timed out"
    if _never_sent(exc):
        return "connection refused"
    return "connection lost"


def _path(url: str) -> str:
    """The URL without scheme and host (never carries a token: tokens travel in headers only)."""
    parts = url.split("/", 3)
    return "/" + parts[3] if len(parts) > 3 else url
