"""HTTP behaviour of the GitHub look-alike: auth, rate limits, routes, paging, ETags, redirects."""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlencode

from reconcile.clock import Clock
from reconcile.sandbox.faults import Fault
from reconcile.sandbox.github_model import Issue, Repo
from reconcile.sandbox.github_render import public_user_json
from reconcile.sandbox.github_state import GitHubState
from reconcile.sandbox.messages import Request, Response, json_response
from reconcile.sandbox.ratelimit import HourlyBudget
from reconcile.sandbox.stamps import parse_instant

DOCS = "https://docs.github.com/rest"
LIST_DOCS = f"{DOCS}/issues/issues#list-repository-issues"
GET_DOCS = f"{DOCS}/issues/issues#get-an-issue"
REPO_DOCS = f"{DOCS}/repos/repos#get-a-repository"
REDIRECT_DOCS = f"{DOCS}/guides/best-practices-for-using-the-rest-api#follow-redirects"
RATE_DOCS = f"{DOCS}/overview/rate-limits-for-the-rest-api"
SECONDARY_DOCS = (
    "https://docs.github.com/free-pro-team@latest/rest/overview/"
    "rate-limits-for-the-rest-api#about-secondary-rate-limits"
)
UA_MESSAGE = (
    "Request forbidden by administrative rules. Please make sure your request has a User-Agent header "
    "(https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). "
    "Check https://developer.github.com for other possible causes."
)
SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try "
    "again. If you reach out to GitHub Support for help, please include the request ID {rid}."
)
_REPO_PATH = re.compile(r"^/repos/([^/]+)/([^/]+)(/.*)?$")
_ID_PATH = re.compile(r"^/repositories/(\d+)(/.*)?$")
_ISSUE_PATH = re.compile(r"^/issues/(\d+)$")
_SORTS = {"created": "created_at", "updated": "updated_at", "comments": "comments"}


class _Invalid(Exception):
    """A query parameter GitHub would reject with 422."""


@dataclass
class _ListParams:
    state: str
    since: datetime | None
    sort: str
    descending: bool
    per_page: int
    page: int


class GitHubRouter:
    """Answers GitHub REST requests from a GitHubState."""

    def __init__(self, state: GitHubState, lock: threading.RLock, clock: Clock, hourly_limit: int) -> None:
        self._state = state
        self._lock = lock
        self._clock = clock
        self._limit = hourly_limit
        self._budgets: dict[str, HourlyBudget] = {}

    def handle(self, request: Request) -> Response:
        """Check the User-Agent, the token and the budget, then route."""
        if not request.header("user-agent"):
            return _finish(Response(403, {"Content-Type": "text/html"}, f"\r\n{UA_MESSAGE}\r\n".encode()))
        token = _token(request.header("authorization"))
        with self._lock:
            if token is None or self._state.login_for(token) is None:
                message = "Requires authentication" if token is None else "Bad credentials"
                return _finish(_error(401, message, DOCS))
            budget = self._budget(token)
            if budget.remaining == 0 and request.path != "/rate_limit":
                return self._spent(budget, self._state.login_for(token) or "")
            response = _conditional(request, self._route(request, self._state.login_for(token) or ""))
            if response.status != 304 and request.path != "/rate_limit":
                budget.spend()
            response.headers.update(budget.headers())
            return _finish(response)

    def fault_response(self, fault: Fault, request: Request) -> Response:
        """An injected error in GitHub's style (rate-limit variants included)."""
        status = fault.status or 500
        if fault.variant == "primary":
            reset = int(self._clock.now().timestamp()) + (fault.retry_after or 60)
            headers = {
                "x-ratelimit-limit": str(self._limit),
                "x-ratelimit-remaining": "0",
                "x-ratelimit-used": str(self._limit),
                "x-ratelimit-reset": str(reset),
                "x-ratelimit-resource": "core",
            }
            message = fault.message or _primary_message(0)
            return _finish(_error(status, message, RATE_DOCS, headers))
        if fault.variant == "secondary" or status == 429:
            after = fault.retry_after if fault.retry_after is not None or status != 429 else 60
            headers = {} if after is None else {"retry-after": str(after)}
            message = fault.message or SECONDARY_MESSAGE.format(rid=_request_id())
            return _finish(_error(status, message, SECONDARY_DOCS, headers))
        headers = {} if fault.retry_after is None else {"retry-after": str(fault.retry_after)}
        return _finish(_error(status, fault.message or _phrase(status), DOCS, headers))

    # --- routing ----------------------------------------------------------------------------
    def _route(self, request: Request, login: str) -> Response:
        path = request.path.rstrip("/") or "/"
        if request.method != "GET":
            return _error(404, "Not Found", DOCS)
        if path == "/user":
            return json_response(200, public_user_json(self._state.user(login), self._base(request)))
        if path == "/rate_limit":
            return json_response(200, self._rate_limit_body(self._budgets[_token_of(request)]))
        by_name = _REPO_PATH.match(path)
        if by_name:
            return self._by_name(request, f"{by_name[1]}/{by_name[2]}", by_name[3] or "")
        by_id = _ID_PATH.match(path)
        if by_id:
            repo = self._state.by_id(int(by_id[1]))
            return self._repo_route(request, repo, by_id[2] or "") if repo else _error(404, "Not Found", DOCS)
        return _error(404, "Not Found", DOCS)

    def _by_name(self, request: Request, full_name: str, rest: str) -> Response:
        repo = self._state.find(full_name)
        if repo is not None:
            return self._repo_route(request, repo, rest)
        moved = self._state.renamed(full_name)
        if moved is None:
            return _error(404, "Not Found", LIST_DOCS if rest == "/issues" else REPO_DOCS)
        # GitHub answers a renamed or transferred repository with the id form of the URL
        # (PyGithub's recorded Repository.testGetRepositoryWith301Redirect): /repositories/{id}/...
        query = f"?{request.query_string}" if request.query_string else ""
        return _moved(f"{self._base(request)}/repositories/{moved.id}{rest}{query}")

    def _repo_route(self, request: Request, repo: Repo, rest: str) -> Response:
        if rest == "":
            return json_response(200, self._state.render_repo(repo, self._base(request)))
        if rest == "/issues":
            return self._list(request, repo)
        single = _ISSUE_PATH.match(rest)
        if single:
            return self._single(request, repo, int(single[1]))
        return _error(404, "Not Found", DOCS)

    def _single(self, request: Request, repo: Repo, number: int) -> Response:
        if not repo.issues_enabled:
            return _error(410, "Issues are disabled for this repo", GET_DOCS)
        issue = repo.issues.get(number)
        if issue is not None:
            return json_response(200, self._state.render_issue(repo, issue, self._base(request)))
        if number in repo.moved:
            found = self._state.locate(repo.moved[number])
            if found is not None:
                target, moved = found
                return _moved(f"{self._base(request)}/repositories/{target.id}/issues/{moved.number}")
        if number in repo.deleted:
            return _error(410, "This issue was deleted", GET_DOCS)
        return _error(404, "Not Found", GET_DOCS)

    def _list(self, request: Request, repo: Repo) -> Response:
        if not repo.issues_enabled:
            return _error(410, "Issues are disabled for this repo", LIST_DOCS)
        try:
            params = _list_params(request)
        except _Invalid as exc:
            return _error(
                422,
                "Validation Failed",
                LIST_DOCS,
                body={"errors": [{"resource": "Issue", "field": str(exc), "code": "invalid"}]},
            )
        items = _select(repo, params)
        last = max(math.ceil(len(items) / params.per_page), 1)
        start = (params.page - 1) * params.per_page
        base = self._base(request)
        body = [self._state.render_issue(repo, i, base) for i in items[start : start + params.per_page]]
        response = json_response(200, body)
        link = _link_header(f"{base}/repositories/{repo.id}/issues", request.query_string, params.page, last)
        if link:
            response.headers["Link"] = link
        return response

    # --- helpers ----------------------------------------------------------------------------
    def _base(self, request: Request) -> str:
        return self._state.api_url + request.prefix

    def _budget(self, token: str) -> HourlyBudget:
        budget = self._budgets.setdefault(token, HourlyBudget(self._limit))
        budget.refresh(self._clock.now().timestamp())
        return budget

    def _spent(self, budget: HourlyBudget, login: str) -> Response:
        response = _error(403, _primary_message(self._state.user(login).id), RATE_DOCS, budget.headers())
        return _finish(response)

    def _rate_limit_body(self, budget: HourlyBudget) -> dict[str, Any]:
        core = {
            "limit": budget.limit,
            "used": budget.used,
            "remaining": budget.remaining,
            "reset": budget.reset_epoch,
            "resource": "core",
        }
        reset = int(self._clock.now().timestamp()) + 60
        search = {"limit": 30, "used": 0, "remaining": 30, "reset": reset, "resource": "search"}
        graphql = {
            "limit": 5000,
            "used": 0,
            "remaining": 5000,
            "reset": budget.reset_epoch,
            "resource": "graphql",
        }
        return {"resources": {"core": core, "search": search, "graphql": graphql}, "rate": core}


def _token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() not in ("bearer", "token") or not value.strip():
        return None
    return value.strip()


def _token_of(request: Request) -> str:
    return _token(request.header("authorization")) or ""


def _list_params(request: Request) -> _ListParams:
    state = request.param("state") or "open"
    sort = request.param("sort") or "created"
    direction = request.param("direction") or "desc"
    if state not in ("open", "closed", "all"):
        raise _Invalid("state")
    if sort not in _SORTS:
        raise _Invalid("sort")
    if direction not in ("asc", "desc"):
        raise _Invalid("direction")
    return _ListParams(
        state,
        _since(request.param("since")),
        sort,
        direction == "desc",
        min(max(_int(request.param("per_page"), 30), 1), 100),
        max(_int(request.param("page"), 1), 1),
    )


def _since(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return parse_instant(text)
    except ValueError:
        raise _Invalid("since") from None


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text else default
    except ValueError:
        return default


def _select(repo: Repo, params: _ListParams) -> list[Issue]:
    items = [
        i
        for i in repo.issues.values()
        if (params.state == "all" or i.state == params.state)
        and (params.since is None or i.updated_at >= params.since)
    ]
    field = _SORTS[params.sort]
    items.sort(key=lambda i: (getattr(i, field), i.number), reverse=params.descending)
    return items


def _link_header(url: str, query_string: str, page: int, last: int) -> str | None:
    others = [(k, v) for k, v in parse_qsl(query_string, keep_blank_values=True) if k != "page"]

    def link(number: int, rel: str) -> str:
        return f'<{url}?{urlencode([*others, ("page", str(number))])}>; rel="{rel}"'

    parts = []
    if page > 1:
        parts.append(link(page - 1, "prev"))
    if page < last:
        parts += [link(page + 1, "next"), link(last, "last")]
    if page > 1:
        parts.append(link(1, "first"))
    return ", ".join(parts) or None


def _conditional(request: Request, response: Response) -> Response:
    if request.method != "GET" or response.status != 200:
        return response
    etag = f'W/"{hashlib.sha256(response.body).hexdigest()}"'
    response.headers["ETag"] = etag
    if _etag_matches(request.header("if-none-match"), etag):
        kept = {k: v for k, v in response.headers.items() if k in ("ETag", "Link")}
        return Response(304, kept)
    return response


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    wanted = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in wanted or etag.removeprefix("W/") in wanted


def _moved(location: str) -> Response:
    return _error(301, "Moved Permanently", REDIRECT_DOCS, {"Location": location}, body={"url": location})


def _error(
    status: int,
    message: str,
    docs: str,
    headers: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
) -> Response:
    payload: dict[str, Any] = {"message": message, **(body or {}), "documentation_url": docs}
    if status != 301:
        payload["status"] = str(status)
    return json_response(status, payload, headers)


def _primary_message(user_id: int) -> str:
    return (
        f"API rate limit exceeded for user ID {user_id}. If you reach out to GitHub Support for help, "
        f"please include the request ID {_request_id()}."
    )


def _phrase(status: int) -> str:
    if status in (500, 502):
        return "Server Error"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _request_id() -> str:
    return ":".join(secrets.token_hex(n).upper() for n in (2, 3, 4, 4, 4))


def _finish(response: Response) -> Response:
    response.headers.setdefault("Content-Type", "application/json; charset=utf-8")
    response.headers.update(
        {
            "Server": "github.com",
            "X-GitHub-Media-Type": "github.v3; format=json",
            "X-GitHub-Api-Version-Selected": "2022-11-28",
            "X-GitHub-Request-Id": _request_id(),
            "Vary": "Accept, Authorization, Cookie, X-GitHub-OTP",
        }
    )
    return response
