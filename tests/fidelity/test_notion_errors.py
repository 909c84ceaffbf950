"""Recorded (or, where none is public, documented) Notion error answers classify as the client needs."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from urllib3 import HTTPHeaderDict

from reconcile.clients import errors
from reconcile.clients.http import Answer, Retry
from reconcile.clients.notion import NotionRules
from tests.fidelity.recordings_io import case_id, load

ERRORS = load("notion_errors.json")


def answer(case: dict[str, Any], method: str) -> Answer:
    """The recorded answer as the transport hands it to the client."""
    if "body" in case:
        content = json.dumps(case["body"]).encode()
        headers = HTTPHeaderDict({"Content-Type": "application/json; charset=utf-8"})
    else:
        content = case["text"].encode()
        headers = HTTPHeaderDict({"Content-Type": "text/html"})
    headers.update(case.get("headers", {}))
    url = "https://api.notion.com/v1/pages/x"
    return Answer(method, url, case["status"], case.get("reason", ""), headers, content)


@pytest.mark.parametrize("case", ERRORS, ids=[case_id(c) for c in ERRORS])
def test_each_error_body_becomes_the_right_error(case: dict[str, Any]) -> None:
    rules = NotionRules(Retry(), random.Random(0))
    error = rules.error(answer(case, "PATCH"))
    assert type(error) is getattr(errors, case["error"])
    assert error.status == case["status"]
    if "body" in case:
        assert error.code == case["body"]["code"] and error.message == case["body"]["message"]
        assert error.request_id == case["body"].get("request_id")


@pytest.mark.parametrize("case", ERRORS, ids=[case_id(c) for c in ERRORS])
def test_each_error_is_retried_only_when_it_should_be(case: dict[str, Any]) -> None:
    rules = NotionRules(Retry(), random.Random(0))
    write = rules.wait_for(answer(case, "PATCH"), 1)
    read = rules.wait_for(answer(case, "GET"), 1)
    if case["retried"] == "reads only":  # a 409 on a write goes back to the client, which re-reads first
        assert write is None and read is not None
    else:
        assert (write is not None) is case["retried"] and (read is not None) is case["retried"]
    if case["status"] == 429:
        assert write == float(case["headers"]["Retry-After"])


def test_the_recordings_cover_every_error_we_act_on() -> None:
    statuses = {case["status"] for case in ERRORS}
    assert statuses >= {400, 401, 403, 404, 409, 429, 500, 502, 503, 504}
    assert "PageArchived" in {case["error"] for case in ERRORS}
