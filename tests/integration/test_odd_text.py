"""Text the databases refuse (NUL, lone surrogates) in GitHub or Notion values: cleaned at the mirror's
boundary on both backends, so the pull goes on, the item gets its page, and the next run writes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from reconcile.mirror import store
from reconcile.mirror.db import open_engine, upgrade
from reconcile.model import NotionPage, Prop
from reconcile.sandbox import Sandbox
from tests.conftest import SCHEMA, START, World

ODD = "Crash\x00 here \ud800 and there"  # a NUL, and a lone surrogate (no UTF-8 encoder takes one)
CLEAN = "Crash here \ufffd and there"


@pytest.fixture
def world(sandbox: Sandbox, mirror_url: str) -> World:
    """The usual world, with Notes mapped from milestone and author too."""
    world = World(sandbox, mirror_url, sandbox.clock, schema=SCHEMA)
    world.overrides = {
        "mapping__properties__Notes": {"type": "rich_text", "value": "{milestone} by {author}"}
    }
    return world


def text_of(page: dict[str, object], name: str) -> str:
    prop = page["properties"][name]  # type: ignore[index]
    return "".join(part["plain_text"] for part in prop[prop["type"]])  # type: ignore[index]


def test_a_nul_in_every_github_text_field_neither_stops_the_pull_nor_writes_again(world: World) -> None:
    odd = world.issue(
        title=ODD, labels=["bug", "needs\x00triage"], milestone="Sprint\x00 1", author="nul\x00user"
    )
    fine = [world.issue(title=f"Fine {n}", labels=["docs"]) for n in range(3)]

    first = world.run()

    assert first.status == "ok", first.error or first.applied.failures
    assert len(world.pages()) == 4
    page = world.page_for(odd["html_url"])
    assert text_of(page, "Name") == CLEAN
    assert text_of(page, "Notes") == "Sprint 1 by nuluser"
    assert {o["name"] for o in page["properties"]["Labels"]["multi_select"]} == {"bug", "needstriage"}
    assert all(world.page_for(issue["html_url"]) for issue in fine)

    writes = world.notion_writes()
    second = world.run()
    assert second.status == "ok" and second.plan is not None and not second.plan.writes
    assert world.notion_writes() == writes


def test_a_nul_in_notion_values_is_stored_cleaned_on_both_backends(mirror_url: str) -> None:
    engine = open_engine(mirror_url)
    upgrade(engine)
    page = NotionPage(
        "page-1",
        {
            "Name": Prop("title", ODD),
            "Labels": Prop("multi_select", ("a\x00b", "ok")),
            "Odd\x00name": Prop("rich_text", "x\ud800"),
        },
        START,
        START,
        key="https://github.com/acme/web/issues/1\x00",
    )
    try:
        with Session(engine) as session, session.begin():
            store.save_pages(session, "db-1", [page], START)
        with Session(engine) as session:
            stored = store.load_pages(session, "db-1")["page-1"]
    finally:
        engine.dispose()

    assert stored.properties == {
        "Name": Prop("title", CLEAN),
        "Labels": Prop("multi_select", ("ab", "ok")),
        "Oddname": Prop("rich_text", "x\ufffd"),
    }
    assert stored.key == "https://github.com/acme/web/issues/1"


def test_a_nul_typed_into_notion_by_hand_is_dropped_by_notion_and_corrected_once(world: World) -> None:
    issue = world.issue(title="Plain title")
    assert world.run().status == "ok"
    page = world.page_for(issue["html_url"])
    world.sandbox.notion.human_edit(
        page["id"], {"Name": {"title": [{"type": "text", "text": {"content": "Hand\x00 edit"}}]}}
    )
    assert text_of(world.page_for(issue["html_url"]), "Name") == "Hand edit"  # what Notion keeps

    fixed = world.run()

    assert fixed.status == "ok", fixed.error
    assert text_of(world.page_for(issue["html_url"]), "Name") == "Plain title"
    writes = world.notion_writes()
    again = world.run()
    assert again.plan is not None and not again.plan.writes and world.notion_writes() == writes
