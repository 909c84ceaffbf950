"""The Notion look-alike stores values as the real API does (dates to the minute, rich text parts, ids)."""

from __future__ import annotations

from typing import Any

import pytest
from sandbox_helpers import Api, notion_client, page_body

from reconcile.sandbox import Sandbox
from reconcile.sandbox.notion_rich import date_mention, equation, page_mention, user_mention


def write(notion: Api, db: str, **props: Any) -> dict[str, Any]:
    response = notion.post("/v1/pages", page_body(db, "Fidelity", **props))
    assert response.status_code == 200, response.text
    return dict(response.json()["properties"])


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        # recorded: ultimate-notion test_db_advanced (UTC) and test_date_query (Europe/London)
        (
            {"start": "2026-07-25T04:54:29.284080Z", "time_zone": "UTC"},
            {"start": "2026-07-25T04:54:00.000+00:00", "end": None, "time_zone": None},
        ),
        (
            {"start": "2026-06-27T05:57:26.066867", "time_zone": "Europe/London"},
            {"start": "2026-06-27T05:57:00.000+01:00", "end": None, "time_zone": None},
        ),
        (
            {"start": "2026-01-10T12:00:37Z"},
            {"start": "2026-01-10T12:00:00.000+00:00", "end": None, "time_zone": None},
        ),
        ({"start": "2026-07-01"}, {"start": "2026-07-01", "end": None, "time_zone": None}),
        (
            {"start": "2022-12-16", "end": "2022-12-18"},
            {"start": "2022-12-16", "end": "2022-12-18", "time_zone": None},
        ),
        (
            {"start": "2026-01-10T09:15:59+02:00", "end": "2026-01-10T10:45:01+02:00"},
            {
                "start": "2026-01-10T09:15:00.000+02:00",
                "end": "2026-01-10T10:45:00.000+02:00",
                "time_zone": None,
            },
        ),
    ],
)
def test_dates_are_stored_to_the_minute_with_the_zone_folded_in(
    notion: Api, db: str, sent: dict[str, Any], stored: dict[str, Any]
) -> None:
    assert write(notion, db, Due={"date": sent})["Due"]["date"] == stored


def test_an_unknown_time_zone_is_refused(notion: Api, db: str) -> None:
    response = notion.post(
        "/v1/pages", page_body(db, "x", Due={"date": {"start": "2026-01-10", "time_zone": "Mars"}})
    )
    assert response.status_code == 400 and "time_zone" in response.json()["message"]


def test_rich_text_keeps_mention_and_equation_parts(sb: Sandbox, notion: Api, db: str) -> None:
    target = notion.post("/v1/pages", page_body(db, "Target")).json()  # a page to mention
    parts = [
        {"text": {"content": "see "}},
        user_mention(sb.notion.person_id),
        {"text": {"content": " on "}},
        page_mention(target["id"]),
        {"text": {"content": " by "}},
        date_mention("2026-01-10T12:00:37Z"),
        {"text": {"content": ": "}},
        equation("E = mc^2"),
    ]
    notes = write(notion, db, Notes={"rich_text": parts})["Notes"]["rich_text"]
    assert [part["type"] for part in notes] == [
        "text",
        "mention",
        "text",
        "mention",
        "text",
        "mention",
        "text",
        "equation",
    ]
    assert notes[1]["plain_text"] == "@Sam Sandbox" and notes[1]["mention"]["user"]["object"] == "user"
    assert notes[3]["plain_text"] == "Target" and notes[3]["href"].endswith(target["id"].replace("-", ""))
    assert notes[5]["mention"]["date"] == {
        "start": "2026-01-10T12:00:00.000+00:00",
        "end": None,
        "time_zone": None,
    }
    assert notes[7] == {
        "type": "equation",
        "equation": {"expression": "E = mc^2"},
        "annotations": notes[0]["annotations"],
        "plain_text": "E = mc^2",
        "href": None,
    }
    unknown = notion.post("/v1/pages", page_body(db, "x", Notes={"rich_text": [page_mention("0" * 32)]}))
    assert unknown.status_code == 400


def test_a_text_normaliser_rewrites_what_is_stored(sb: Sandbox, notion: Api, db: str) -> None:
    sb.notion.text_normaliser = lambda text: " ".join(text.split())
    stored = write(notion, db, Notes={"rich_text": [{"text": {"content": "  two   spaces \n"}}]})["Notes"]
    assert stored["rich_text"][0]["plain_text"] == "two spaces"
    assert stored["rich_text"][0]["text"]["content"] == "two spaces"
    sb.notion.text_normaliser = None
    again = write(notion, db, Notes={"rich_text": [{"text": {"content": "  kept  "}}]})["Notes"]
    assert again["rich_text"][0]["plain_text"] == "  kept  "


def test_objects_carry_request_ids_and_lock_flags(sb: Sandbox, notion: Api, db: str) -> None:
    created = notion.post("/v1/pages", page_body(db, "x"))
    page = created.json()
    assert page["request_id"] == created.headers["x-notion-request-id"]
    assert page["is_archived"] is False and page["is_locked"] is False and page["archived"] is False
    listed = notion.post(f"/v1/databases/{db}/query", {}).json()
    assert listed["request_id"] and "request_id" not in listed["results"][0]
    missing = notion.get(f"/v1/pages/{'1' * 32}").json()
    assert missing["object"] == "error" and missing["request_id"]
    locked = notion.patch(f"/v1/pages/{page['id']}", {"is_locked": True}).json()
    assert locked["is_locked"] is True
    trashed = notion.patch(f"/v1/pages/{page['id']}", {"in_trash": True}).json()
    # recorded: a trashed page is in_trash (and archived) but not is_archived
    assert trashed["in_trash"] is True and trashed["archived"] is True and trashed["is_archived"] is False


def test_version_2026_03_11_has_no_archived(sb: Sandbox, db: str) -> None:
    newest = notion_client(sb, "2026-03-11")
    source = sb.notion.data_source_id(db)
    page = newest.post("/v1/pages", {"parent": {"data_source_id": source}, "properties": {}}).json()
    assert "archived" not in page and page["in_trash"] is False
    refused = newest.patch(f"/v1/pages/{page['id']}", {"archived": True})
    assert refused.status_code == 400 and "archived" in refused.json()["message"]


def test_database_times_keep_milliseconds_from_2025_09_03(sb: Sandbox, db: str) -> None:
    newer = notion_client(sb, "2025-09-03")
    database = newer.get(f"/v1/databases/{db}").json()
    assert database["created_time"] == "2026-01-10T12:00:37.000+00:00"  # as recorded: not floored
    source = newer.get(f"/v1/data_sources/{database['data_sources'][0]['id']}").json()
    assert source["created_time"] == "2026-01-10T12:00:00.000Z"
    assert notion_client(sb).get(f"/v1/databases/{db}").json()["created_time"] == "2026-01-10T12:00:00.000Z"
