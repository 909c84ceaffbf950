"""Notion answers against the 2025-09-03 OpenAPI description, and request validation (validate_requests)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sandbox_helpers import WORK_SCHEMA, Api, notion_client, notion_response_validator, page_body, title

from reconcile.clock import FakeClock
from reconcile.sandbox import NotionError, Sandbox
from reconcile.sandbox.openapi_check import RequestValidator

PRODUCT_LIKE_PROPERTIES: dict[str, Any] = {
    "Name": title("Fix login"),
    "GitHub URL": {"url": "https://github.com/acme/web/issues/7"},
    "Status": {"select": {"name": "Done"}},
    "Stage": {"status": {"name": "Doing"}},
    "Labels": {"multi_select": [{"name": "bug"}, {"name": "priority; high"}]},
    "Notes": {"rich_text": [{"type": "text", "text": {"content": "a" * 2000}}, {"text": {"content": "b"}}]},
    "Due": {"date": {"start": "2026-01-10T12:00:00Z", "end": None}},
    "Points": {"number": 3},
    "Flag": {"checkbox": False},
}
INCREMENTAL_QUERY: dict[str, Any] = {
    "filter": {
        "and": [
            {
                "timestamp": "last_edited_time",
                "last_edited_time": {"on_or_after": "2026-01-10T11:58:00.000Z"},
            },
            {"property": "GitHub URL", "url": {"is_not_empty": True}},
        ]
    },
    "sorts": [{"timestamp": "last_edited_time", "direction": "ascending"}],
    "page_size": 100,
}


@pytest.fixture
def strict(clock: FakeClock) -> Iterator[Sandbox]:
    with Sandbox(clock=clock, validate_requests=True) as sandbox:
        yield sandbox


def test_responses_match_the_2025_description(
    sb: Sandbox, notion_new: Api, db: str, notion_spec: Any
) -> None:
    source = sb.notion.data_source_id(db)
    page = notion_new.post(
        "/v1/pages", {"parent": {"data_source_id": source}, "properties": PRODUCT_LIKE_PROPERTIES}
    )
    checks = [
        ("/v1/users/me", "get", notion_new.get("/v1/users/me")),
        ("/v1/pages", "post", page),
        ("/v1/pages/{page_id}", "get", notion_new.get(f"/v1/pages/{page.json()['id']}")),
        (
            "/v1/pages/{page_id}",
            "patch",
            notion_new.patch(f"/v1/pages/{page.json()['id']}", {"in_trash": False}),
        ),
        (
            "/v1/data_sources/{data_source_id}/query",
            "post",
            notion_new.post(f"/v1/data_sources/{source}/query", {}),
        ),
        ("/v1/data_sources/{data_source_id}", "get", notion_new.get(f"/v1/data_sources/{source}")),
        ("/v1/databases/{database_id}", "get", notion_new.get(f"/v1/databases/{db}")),
    ]
    for path, method, response in checks:
        assert response.status_code == 200, (path, response.text)
        notion_response_validator(notion_spec, path, method).validate(response.json())
    me = checks[0][2].json()
    example = notion_spec["paths"]["/v1/users/me"]["get"]["responses"]["200"]["content"]["application/json"]
    assert set(example["examples"]["Result"]["value"]) <= set(me)


@pytest.mark.parametrize("version", ["2022-06-28", "2025-09-03"])
def test_product_like_requests_pass_validation(strict: Sandbox, version: str) -> None:
    db = strict.notion.create_database("Work", WORK_SCHEMA)
    client = notion_client(strict, version)
    parent = (
        {"data_source_id": strict.notion.data_source_id(db)} if version >= "2025" else {"database_id": db}
    )
    created = client.post(
        "/v1/pages",
        {"parent": parent, "properties": PRODUCT_LIKE_PROPERTIES, "icon": {"type": "emoji", "emoji": "🐞"}},
    )
    assert created.status_code == 200, created.text
    page_id = created.json()["id"]
    update = client.patch(
        f"/v1/pages/{page_id}", {"properties": {"Status": {"select": None}}, "in_trash": False}
    )
    assert update.status_code == 200, update.text
    query_path = (
        f"/v1/data_sources/{strict.notion.data_source_id(db)}/query"
        if version >= "2025"
        else f"/v1/databases/{db}/query"
    )
    query = client.post(query_path, INCREMENTAL_QUERY)
    assert query.status_code == 200, query.text
    assert [p["id"] for p in query.json()["results"]] == [page_id]
    schema_path = (
        f"/v1/data_sources/{strict.notion.data_source_id(db)}" if version >= "2025" else f"/v1/databases/{db}"
    )
    assert (
        client.patch(schema_path, {"properties": {"Repository": {"select": {"options": []}}}}).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("path", "body", "fragment"),
    [
        ("query", {"sorts": [{"property": "Name"}]}, "body.sorts[0]"),
        ("query", {"page_size": "10"}, "body.page_size"),
        (
            "pages",
            {"parent": {"database_id": "DB"}, "properties": {"Name": "Fix login"}},
            "body.properties.Name",
        ),
        (
            "pages",
            {"parent": {"database_id": "DB"}, "properties": {}, "children": ["text"]},
            "body.children[0]",
        ),
    ],
)
def test_invalid_request_shapes_are_rejected(
    strict: Sandbox, path: str, body: dict[str, Any], fragment: str
) -> None:
    db = strict.notion.create_database("Work", WORK_SCHEMA)
    body = {k: ({"database_id": db} if k == "parent" else v) for k, v in body.items()}
    client = notion_client(strict)
    response = client.post(f"/v1/databases/{db}/query" if path == "query" else "/v1/pages", body)
    assert response.status_code == 400 and response.json()["code"] == "validation_error"
    assert fragment in response.json()["message"] and "OpenAPI" in response.json()["message"]
    assert strict.writes("notion") == 0


def test_sample_bodies_against_the_request_schemas() -> None:
    validator = RequestValidator()
    validator.check("2022-06-28", "POST", "/v1/pages", page_body("x", "y", **PRODUCT_LIKE_PROPERTIES))
    validator.check("2025-09-03", "POST", "/v1/data_sources/{data_source_id}/query", INCREMENTAL_QUERY)
    validator.check(
        "2025-09-03",
        "PATCH",
        "/v1/data_sources/{data_source_id}",
        {"properties": {"Labels": {"multi_select": {"options": [{"name": "bug"}]}}}},
    )
    with pytest.raises(NotionError):
        validator.check("2025-09-03", "PATCH", "/v1/pages/{page_id}", {"in_trash": "yes"})


def test_missing_descriptions_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=re.escape("notion-openapi-2022-06-28.json")):
        RequestValidator(tmp_path)
