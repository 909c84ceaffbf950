"""Notion queries over HTTP: cursors, filters, sorts, the result cap and the 2025-09-03 data source routes."""

from __future__ import annotations

from typing import Any

import pytest
from sandbox_helpers import WORK_SCHEMA, Api, notion_client, page_body, title

from reconcile.clock import FakeClock
from reconcile.sandbox import Sandbox


def fill(notion: Api, db: str, count: int, clock: FakeClock | None = None) -> list[str]:
    ids = []
    for n in range(count):
        extra = {"Points": {"number": n}, "GitHub URL": {"url": f"https://github.com/acme/web/issues/{n}"}}
        ids.append(notion.post("/v1/pages", page_body(db, f"Item {n}", **extra)).json()["id"])
        if clock is not None:
            clock.advance(60)
    return ids


def query_all(notion: Api, path: str, body: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    results: list[dict[str, Any]] = []
    cursor = None
    while True:
        response = notion.post(path, {**body, **({"start_cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        data = response.json()
        results += data["results"]
        if not data["has_more"]:
            return results, data
        cursor = data["next_cursor"]


def names(pages: list[dict[str, Any]]) -> list[str]:
    return [page["properties"]["Name"]["title"][0]["plain_text"] for page in pages]


def test_cursor_paging_returns_every_page_once(notion: Api, db: str) -> None:
    ids = fill(notion, db, 20)
    first = notion.post(f"/v1/databases/{db}/query", {"page_size": 7}).json()
    assert (
        first["object"] == "list" and first["type"] == "page_or_database" and first["page_or_database"] == {}
    )
    assert len(first["results"]) == 7 and first["has_more"] is True and isinstance(first["next_cursor"], str)
    results, last = query_all(notion, f"/v1/databases/{db}/query", {"page_size": 7})
    assert sorted(page["id"] for page in results) == sorted(ids)
    assert last["next_cursor"] is None
    too_big = notion.post(f"/v1/databases/{db}/query", {"page_size": 101})
    assert too_big.status_code == 400
    assert (
        too_big.json()["message"]
        == "body failed validation: body.page_size should be ≤ `100`, instead was `101`."
    )
    bad_cursor = notion.post(f"/v1/databases/{db}/query", {"start_cursor": "nope"})
    assert bad_cursor.json()["message"] == "The start_cursor provided is invalid: nope"


def test_timestamp_filter_sees_minute_rounded_times(clock: FakeClock, notion: Api, db: str) -> None:
    early = notion.post("/v1/pages", page_body(db, "early")).json()  # 12:00:37
    clock.advance(58)  # 12:01:35
    notion.post("/v1/pages", page_body(db, "late"))
    body = {
        "filter": {
            "timestamp": "last_edited_time",
            "last_edited_time": {"on_or_after": "2026-01-10T12:01:00Z"},
        }
    }
    assert names(notion.post(f"/v1/databases/{db}/query", body).json()["results"]) == ["late"]
    # The stored time is 12:00 for a page edited at 12:00:37, so a strict "after 12:00:10" misses it.
    after = {
        "filter": {"timestamp": "last_edited_time", "last_edited_time": {"after": "2026-01-10T12:00:10.000Z"}}
    }
    assert names(notion.post(f"/v1/databases/{db}/query", after).json()["results"]) == ["late"]
    assert early["last_edited_time"] == "2026-01-10T12:00:00.000Z"


def test_property_and_compound_filters(notion: Api, db: str) -> None:
    fill(notion, db, 6)
    notion.post(
        "/v1/pages",
        page_body(
            db,
            "Tagged",
            Labels={"multi_select": [{"name": "bug"}]},
            Status={"select": {"name": "Done"}},
            Flag={"checkbox": True},
            Notes={"rich_text": [{"text": {"content": "Needs Review"}}]},
        ),
    )
    cases = [
        ({"property": "GitHub URL", "url": {"equals": "https://github.com/acme/web/issues/3"}}, ["Item 3"]),
        ({"property": "Notes", "rich_text": {"contains": "review"}}, ["Tagged"]),
        ({"property": "Status", "select": {"equals": "Done"}}, ["Tagged"]),
        ({"property": "Labels", "multi_select": {"contains": "bug"}}, ["Tagged"]),
        ({"property": "Flag", "checkbox": {"equals": True}}, ["Tagged"]),
        ({"property": "Points", "number": {"greater_than": 3}}, ["Item 4", "Item 5"]),
        ({"property": "Notes", "rich_text": {"is_empty": True}}, [f"Item {n}" for n in range(6)]),
        (
            {
                "and": [
                    {"property": "Points", "number": {"less_than": 4}},
                    {
                        "or": [
                            {"property": "Points", "number": {"equals": 0}},
                            {"property": "Name", "title": {"starts_with": "item 3"}},
                        ]
                    },
                ]
            },
            ["Item 0", "Item 3"],
        ),
    ]
    sorts = [{"property": "Name", "direction": "ascending"}]
    for spec, expected in cases:
        response = notion.post(f"/v1/databases/{db}/query", {"filter": spec, "sorts": sorts})
        assert response.status_code == 200, response.text
        assert names(response.json()["results"]) == expected, spec


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"property": "Nope", "url": {"equals": "x"}}, "Could not find property with name or id: Nope"),
        (
            {"and": [{"or": [{"and": [{"property": "Points", "number": {"equals": 1}}]}]}]},
            "nested too deeply",
        ),
        ({"property": "Points", "rich_text": {"equals": "1"}}, "does not match the type of property Points"),
        ({"timestamp": "last_edited_time", "last_edited_time": {"after": "soon"}}, "valid ISO 8601 date"),
    ],
)
def test_bad_filters(notion: Api, db: str, spec: dict[str, Any], message: str) -> None:
    response = notion.post(f"/v1/databases/{db}/query", {"filter": spec})
    assert response.status_code == 400 and response.json()["code"] == "validation_error"
    assert message in response.json()["message"]


def test_sorts(clock: FakeClock, notion: Api, db: str) -> None:
    fill(notion, db, 4, clock)
    notion.post("/v1/pages", page_body(db, "No points"))
    oldest_first = notion.post(
        f"/v1/databases/{db}/query", {"sorts": [{"timestamp": "created_time", "direction": "ascending"}]}
    ).json()
    assert names(oldest_first["results"]) == ["Item 0", "Item 1", "Item 2", "Item 3", "No points"]
    by_points = notion.post(
        f"/v1/databases/{db}/query", {"sorts": [{"property": "Points", "direction": "descending"}]}
    ).json()
    assert names(by_points["results"]) == ["Item 3", "Item 2", "Item 1", "Item 0", "No points"]  # empty last


def test_result_cap_stops_a_query(clock: FakeClock) -> None:
    with Sandbox(clock=clock, notion_query_cap=5) as sb:
        db = sb.notion.create_database("Work", WORK_SCHEMA)
        old, new = notion_client(sb), notion_client(sb, "2025-09-03")
        fill(old, db, 12)
        results, last = query_all(old, f"/v1/databases/{db}/query", {"page_size": 2})
        assert len(results) == 5 and last["has_more"] is False and "request_status" not in last
        source = sb.notion.data_source_id(db)
        results, last = query_all(new, f"/v1/data_sources/{source}/query", {"page_size": 3})
        assert len(results) == 5 and last["has_more"] is False
        assert last["request_status"] == {
            "type": "incomplete",
            "incomplete_reason": "query_result_limit_reached",
        }
        small = {"filter": {"property": "Points", "number": {"less_than": 4}}}
        results, last = query_all(new, f"/v1/data_sources/{source}/query", small)
        assert len(results) == 4 and "request_status" not in last


def test_data_source_routes_2025(sb: Sandbox, notion_new: Api, notion: Api, db: str) -> None:
    source = sb.notion.data_source_id(db)
    assert source != db
    database = notion_new.get(f"/v1/databases/{db}").json()
    assert database["data_sources"] == [{"id": source, "name": "Work"}] and "properties" not in database
    data_source = notion_new.get(f"/v1/data_sources/{source}").json()
    assert data_source["object"] == "data_source" and set(data_source["properties"]) == set(WORK_SCHEMA)
    assert data_source["parent"] == {"type": "database_id", "database_id": db}
    page = notion_new.post(
        "/v1/pages",
        {
            "parent": {"type": "data_source_id", "data_source_id": source},
            "properties": {"Name": title("new")},
        },
    ).json()
    assert page["parent"] == {"type": "data_source_id", "data_source_id": source, "database_id": db}
    listed = notion_new.post(f"/v1/data_sources/{source}/query", {}).json()
    assert listed["type"] == "page_or_data_source" and listed["page_or_data_source"] == {}
    assert [p["id"] for p in listed["results"]] == [page["id"]]
    assert notion_new.post(f"/v1/databases/{db}/query", {}).json()["code"] == "invalid_request_url"
    assert notion.get(f"/v1/data_sources/{source}").json()["code"] == "invalid_request_url"
    assert (
        notion.post("/v1/pages", {"parent": {"data_source_id": source}, "properties": {}}).status_code == 400
    )
    patched = notion_new.patch(f"/v1/data_sources/{source}", {"properties": {"Estimate": {"number": {}}}})
    assert patched.status_code == 200 and "Estimate" in patched.json()["properties"]
    schema_on_db = notion_new.patch(f"/v1/databases/{db}", {"properties": {"X": {"number": {}}}})
    assert schema_on_db.status_code == 400


def test_filter_properties_limits_the_properties(notion: Api, db: str) -> None:
    page = notion.post("/v1/pages", page_body(db, "x")).json()
    status_id = notion.get(f"/v1/databases/{db}").json()["properties"]["Status"]["id"]
    limited = notion.get(f"/v1/pages/{page['id']}", params={"filter_properties": ["title", status_id]}).json()
    assert set(limited["properties"]) == {"Name", "Status"}
