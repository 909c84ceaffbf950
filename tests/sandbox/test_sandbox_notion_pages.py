"""The Notion look-alike's pages, schema, auth and errors over HTTP."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sandbox_helpers import Api, notion_client, page_body, title

from reconcile.clock import FakeClock
from reconcile.sandbox import Sandbox

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def create(notion: Api, db: str, name: str = "Fix login", **extra: Any) -> dict[str, Any]:
    response = notion.post("/v1/pages", page_body(db, name, **extra))
    assert response.status_code == 200, response.text
    return response.json()


def test_created_page_shape_and_empty_values(sb: Sandbox, notion: Api, db: str) -> None:
    page = create(notion, db)
    assert page["object"] == "page" and UUID.match(page["id"])
    assert page["parent"] == {"type": "database_id", "database_id": db}
    assert page["archived"] is False and page["in_trash"] is False and page["public_url"] is None
    assert page["created_by"]["object"] == "user" and page["url"].startswith(
        "https://www.notion.so/Fix-login-"
    )
    props = page["properties"]
    assert set(props) == {"Name", "GitHub URL", "Status", "Stage", "Labels", "Notes", "Due", "Points", "Flag"}
    assert props["Name"]["id"] == "title" and props["Name"]["type"] == "title"
    text = props["Name"]["title"][0]
    assert text == {
        "type": "text",
        "text": {"content": "Fix login", "link": None},
        "annotations": {
            "bold": False,
            "italic": False,
            "strikethrough": False,
            "underline": False,
            "code": False,
            "color": "default",
        },
        "plain_text": "Fix login",
        "href": None,
    }
    assert props["Notes"]["rich_text"] == [] and props["Labels"]["multi_select"] == []
    assert props["Status"]["select"] is None and props["GitHub URL"]["url"] is None
    assert (
        props["Due"]["date"] is None
        and props["Points"]["number"] is None
        and props["Flag"]["checkbox"] is False
    )
    assert props["Stage"]["status"]["name"] == "Todo"  # new pages get the first status option


def test_values_round_trip(notion: Api, db: str) -> None:
    page = create(
        notion,
        db,
        **{
            "GitHub URL": {"url": "https://github.com/acme/web/issues/1"},
            "Status": {"select": {"name": "Done"}},
            "Stage": {"status": {"name": "Doing"}},
            "Labels": {"multi_select": [{"name": "bug"}, {"name": "ui"}]},
            "Notes": {"rich_text": [{"text": {"content": "see", "link": {"url": "https://x.test"}}}]},
            "Due": {"date": {"start": "2026-01-10T12:00:00Z"}},
            "Points": {"number": 3},
            "Flag": {"checkbox": True},
        },
    )
    props = notion.get(f"/v1/pages/{page['id']}").json()["properties"]
    assert props["GitHub URL"]["url"] == "https://github.com/acme/web/issues/1"
    assert props["Status"]["select"]["name"] == "Done" and set(props["Status"]["select"]) == {
        "id",
        "name",
        "color",
    }
    assert [o["name"] for o in props["Labels"]["multi_select"]] == ["bug", "ui"]
    assert props["Notes"]["rich_text"][0]["href"] == "https://x.test"
    # the form Notion stores: floored to the minute, with an offset
    assert props["Due"]["date"] == {"start": "2026-01-10T12:00:00.000+00:00", "end": None, "time_zone": None}
    assert props["Points"]["number"] == 3 and props["Flag"]["checkbox"] is True


def test_unknown_select_options_are_added_to_the_schema(sb: Sandbox, notion: Api, db: str) -> None:
    create(notion, db, Status={"select": {"name": "Triage"}})
    options = [o["name"] for o in sb.notion.schema(db)["Status"]["select"]["options"]]
    assert options == ["Backlog", "Done", "Triage"]


def test_timestamps_are_rounded_down_to_the_minute(clock: FakeClock, notion: Api, db: str) -> None:
    clock.advance(22.5)  # 12:00:59.5
    page = create(notion, db)
    assert page["created_time"] == "2026-01-10T12:00:00.000Z" == page["last_edited_time"]
    clock.advance(61)
    edited = notion.patch(f"/v1/pages/{page['id']}", {"properties": {"Points": {"number": 1}}}).json()
    assert edited["last_edited_time"] == "2026-01-10T12:02:00.000Z"
    assert edited["created_time"] == "2026-01-10T12:00:00.000Z"


def test_ids_are_accepted_with_or_without_dashes(notion: Api, db: str) -> None:
    page = create(notion, db)
    assert notion.get(f"/v1/pages/{page['id'].replace('-', '')}").json()["id"] == page["id"]
    assert notion.get(f"/v1/databases/{db.replace('-', '')}").status_code == 200
    bad = notion.get("/v1/pages/not-an-id")
    assert bad.status_code == 400 and bad.json()["code"] == "validation_error"


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({"Nope": {"rich_text": []}}, "Nope is not a property that exists."),
        ({"Status": {"rich_text": []}}, "Status is expected to be select."),
        (
            {"Name": title("x" * 2001)},
            "body failed validation: body.properties.Name.title[0].text.content.length "
            "should be ≤ `2000`, instead was `2001`.",
        ),
        (
            {"Name": title("😀" * 1001)},
            "body failed validation: body.properties.Name.title[0].text.content.length "
            "should be ≤ `2000`, instead was `2002`.",
        ),
        (
            {"Notes": {"rich_text": [{"text": {"content": "a"}}] * 101}},
            "body failed validation: body.properties.Notes.rich_text.length"
            " should be ≤ `100`, instead was `101`.",
        ),
        (
            {"Labels": {"multi_select": [{"name": f"l{i}"} for i in range(101)]}},
            "body failed validation: body.properties.Labels.multi_select.length"
            " should be ≤ `100`, instead was `101`.",
        ),
        ({"Status": {"select": {"name": "a,b"}}}, "Invalid select option, commas not allowed: a,b"),
        (
            {"Labels": {"multi_select": [{"name": "ok"}, {"name": " "}]}},
            "body failed validation: body.properties.Labels.multi_select[1].name"
            ' should be a non-empty string, instead was `" "`.',
        ),
        ({"Stage": {"status": {"name": "Blocked"}}}, 'Invalid status option "Blocked" for property Stage.'),
        (
            {"GitHub URL": {"url": "https://x.test/" + "a" * 2000}},
            "body failed validation: body.properties.GitHub URL.url.length"
            " should be ≤ `2000`, instead was `2015`.",
        ),
        (
            {"Status": {"select": "Done"}},
            "body failed validation: body.properties.Status.select"
            ' should be an object or `null`, instead was `"Done"`.',
        ),
    ],
)
def test_write_validation_errors(
    sb: Sandbox, notion: Api, db: str, properties: dict[str, Any], message: str
) -> None:
    response = notion.post("/v1/pages", {"parent": {"database_id": db}, "properties": properties})
    assert response.status_code == 400
    body = response.json()
    assert body["object"] == "error" and body["code"] == "validation_error" and body["status"] == 400
    assert body["message"].startswith(message)
    assert body["request_id"] == response.headers["x-notion-request-id"]
    assert sb.notion.pages(db) == [] and sb.writes("notion") == 0
    assert [o["name"] for o in sb.notion.schema(db)["Labels"]["multi_select"]["options"]] == ["bug"]


def test_malformed_requests(notion: Api, db: str) -> None:
    raw = notion.session.post(notion.base + "/v1/pages", data=b"{nope", timeout=5)
    assert raw.status_code == 400 and raw.json()["code"] == "invalid_json"
    extra = notion.post("/v1/pages", {**page_body(db, "x"), "bogus": 1})
    assert (
        extra.json()["message"]
        == "body failed validation: body.bogus should be not present, instead was `1`."
    )
    assert notion.get("/v1/nowhere").json()["code"] == "invalid_request_url"


def test_trash_behaviour(sb: Sandbox, notion: Api, db: str) -> None:
    page = create(notion, db)
    path = f"/v1/pages/{page['id']}"
    trashed = notion.patch(path, {"in_trash": True}).json()
    assert trashed["in_trash"] is True and trashed["archived"] is True
    assert notion.get(path).json()["in_trash"] is True
    assert notion.post(f"/v1/databases/{db}/query", {}).json()["results"] == []
    edit = notion.patch(path, {"properties": {"Points": {"number": 2}}})
    assert edit.status_code == 400
    assert edit.json()["message"] == (
        "Can't edit block that is archived. You must unarchive the block before editing."
    )
    restored = notion.patch(path, {"in_trash": False, "properties": {"Points": {"number": 2}}}).json()
    assert restored["in_trash"] is False and restored["properties"]["Points"]["number"] == 2
    assert notion.patch(path, {"archived": True}).json()["in_trash"] is True
    sb.notion.delete_page(page["id"])
    gone = notion.get(path)
    assert gone.status_code == 404 and gone.json()["code"] == "object_not_found"


def test_python_api_trash_and_human_edits(sb: Sandbox, clock: FakeClock, notion: Api, db: str) -> None:
    page = create(notion, db)
    clock.advance(120)
    edited = sb.notion.human_edit(page["id"], {"Status": {"select": {"name": "Done"}}})
    assert edited["last_edited_by"]["id"] == sb.notion.person_id != page["last_edited_by"]["id"]
    assert edited["last_edited_time"] == "2026-01-10T12:02:00.000Z"
    by_hand = sb.notion.human_create(db, {"Name": title("by hand")})
    assert by_hand["created_by"]["id"] == sb.notion.person_id
    sb.notion.trash_page(page["id"])
    assert [p["id"] for p in sb.notion.pages(db)] == [by_hand["id"]]
    assert len(sb.notion.pages(db, include_trashed=True)) == 2
    sb.notion.restore_page(page["id"])
    assert sb.notion.page(page["id"])["in_trash"] is False


def test_auth_version_and_sharing_errors(sb: Sandbox, notion: Api, db: str) -> None:
    bad = notion_client(sb, token="secret_nope").get("/v1/users/me")
    assert bad.status_code == 401
    assert {k: v for k, v in bad.json().items() if k != "request_id"} == {
        "object": "error",
        "status": 401,
        "code": "unauthorized",
        "message": "API token is invalid.",
    }
    no_version = notion.get("/v1/users/me", headers={"Notion-Version": ""})
    assert no_version.status_code == 400 and no_version.json()["code"] == "missing_version"
    assert "Date" in no_version.headers and "x-notion-request-id" in no_version.headers
    other = sb.notion.add_token("secret_other")
    hidden = notion_client(sb, token=other).get(f"/v1/databases/{db}")
    assert hidden.status_code == 404
    assert hidden.json()["message"] == (
        f"Could not find database with ID: {db}. Make sure the relevant pages "
        "and databases are shared with your integration."
    )
    page = create(notion, db)
    assert notion_client(sb, token=other).get(f"/v1/pages/{page['id']}").status_code == 404
    sb.notion.share(db, other)
    assert notion_client(sb, token=other).get(f"/v1/pages/{page['id']}").status_code == 200
    sb.notion.unshare(db, sb.notion_token)
    assert notion.post(f"/v1/databases/{db}/query", {}).status_code == 404


def test_users_me(sb: Sandbox, notion: Api) -> None:
    me = notion.get("/v1/users/me").json()
    assert me["object"] == "user" and me["type"] == "bot" and me["bot"]["owner"]["type"] == "workspace"


def test_database_object_and_schema_updates(sb: Sandbox, notion: Api, db: str) -> None:
    got = notion.get(f"/v1/databases/{db}").json()
    assert got["object"] == "database" and got["title"][0]["plain_text"] == "Work"
    status = got["properties"]["Status"]
    assert status["type"] == "select" and status["id"] and status["name"] == "Status"
    assert [o["name"] for o in status["select"]["options"]] == ["Backlog", "Done"]
    assert got["properties"]["Stage"]["status"]["groups"][0]["name"] == "To-do"
    done = status["select"]["options"][1]
    patched = notion.patch(
        f"/v1/databases/{db}",
        {
            "properties": {
                "Status": {"select": {"options": [{"id": done["id"]}, {"name": "Won't Do", "color": "red"}]}},
                "Repository": {"select": {}},
            }
        },
    )
    assert patched.status_code == 200, patched.text
    props = patched.json()["properties"]
    assert [o["name"] for o in props["Status"]["select"]["options"]] == ["Done", "Won't Do"]  # replaced
    assert props["Repository"]["type"] == "select"
    stage = notion.patch(
        f"/v1/databases/{db}", {"properties": {"Stage": {"status": {"options": [{"name": "New"}]}}}}
    )
    assert stage.status_code == 400 and stage.json()["code"] == "validation_error"
    color = notion.patch(
        f"/v1/databases/{db}",
        {"properties": {"Status": {"select": {"options": [{"id": done["id"], "color": "pink"}]}}}},
    )
    assert color.status_code == 400
    assert [o["name"] for o in sb.notion.schema(db)["Status"]["select"]["options"]] == ["Done", "Won't Do"]
    assert sb.writes("notion") == 1


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["a", "é", "中", "😀", "👍🏽"]), min_size=990, max_size=2010).map("".join))
def test_text_limit_counts_utf16_units(sb: Sandbox, notion: Api, db: str, text: str) -> None:
    units = len(text.encode("utf-16-le")) // 2
    response = notion.post("/v1/pages", page_body(db, text))
    assert (response.status_code == 200) == (units <= 2000), units
