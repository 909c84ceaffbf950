"""Values Notion refuses: blank select names are never sent, and a 400 names the property to drop, so one
refused value never blocks a whole page (the retry is the caller's; refused_property finds what to drop)."""

from __future__ import annotations

from typing import Any

import pytest

from reconcile.clients.errors import InvalidRequest
from reconcile.clients.refusals import refused_property
from reconcile.sandbox import Sandbox
from reconcile.values import encode
from tests.conftest import SCHEMA, World

URL = "https://github.com/acme/web/issues/1"
EXTRA = {
    "Stage": {"status": {"options": [{"name": "Not started"}, {"name": "Done"}]}},
    "Due": {"date": {}},
    "Due date": {"date": {}},
}


@pytest.fixture
def world(sandbox: Sandbox, sqlite_url: str) -> World:
    return World(sandbox, sqlite_url, sandbox.clock, schema={**SCHEMA, **EXTRA})


def test_a_label_that_is_only_whitespace_does_not_block_its_item(world: World) -> None:
    odd = world.issue(title="Odd labels", labels=[" ", "bug", "  spaced  ", "\t"])

    first = world.run()

    assert first.status == "ok", first.applied.failures
    labels = {o["name"] for o in world.page_for(odd["html_url"])["properties"]["Labels"]["multi_select"]}
    assert labels == {"bug", "spaced"}
    writes = world.notion_writes()
    again = world.run()
    assert again.plan is not None and not again.plan.writes and world.notion_writes() == writes


def title(text: str) -> dict[str, Any]:
    return encode("title", text)


@pytest.mark.parametrize(
    ("refused", "name"),
    [
        ({"Labels": {"multi_select": [{"name": "ok"}, {"name": " "}]}}, "Labels"),  # blank option name
        ({"Priority": {"select": {"name": "High,ish"}}}, "Priority"),  # named by its value only
        ({"Notes": {"select": {"name": "x"}}}, "Notes"),  # the wrong type
        ({"Gone": {"rich_text": []}}, "Gone"),  # a property the database does not have
        ({"Stage": {"status": {"name": "Blocked"}}}, "Stage"),  # a status option that does not exist
        ({"Due date": {"date": {"start": "yesterday"}}}, "Due date"),  # a name with a space ...
        ({"Due": {"date": {"start": "yesterday"}}}, "Due"),  # ... and a name that is its prefix
        ({"Last Updated": {"date": {"start": "2026-01-10"}}, "Name": {"title": "x"}}, "Name"),
    ],
)
def test_a_refused_create_names_its_property_and_goes_through_without_it(
    world: World, refused: dict[str, Any], name: str
) -> None:
    ctx = world.context()
    properties = {
        "Name": title("A page"),
        "Type": {"select": {"name": "Bug"}},
        "Due": {"date": {"start": "2026-01-10"}},
        "Due date": {"date": {"start": "2026-01-11"}},
        **refused,
        "GitHub URL": {"url": URL},
    }
    try:
        with pytest.raises(InvalidRequest) as refusal:
            ctx.notion.create_page(properties, "GitHub URL", URL)
        assert refusal.value.code == "validation_error"

        assert refused_property(refusal.value.message, properties) == name

        rest = {key: value for key, value in properties.items() if key != name}
        page = ctx.notion.create_page(rest, "GitHub URL", URL)
    finally:
        ctx.close()
    assert page["properties"]["GitHub URL"]["url"] == URL and len(world.pages()) == 1


@pytest.mark.parametrize(
    "message",
    [
        'body failed validation: body.parent.database_id should be a valid uuid, instead was `""`.',
        "Could not find database with ID: x.",
        "Invalid select option, commas not allowed: nowhere,sent",
        "",
    ],
)
def test_a_message_about_no_sent_property_names_none(message: str) -> None:
    sent = {"Name": title("x"), "Type": {"select": {"name": "Bug"}}, "Due": {"date": None}}
    assert refused_property(message, sent) is None
