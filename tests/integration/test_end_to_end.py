"""The whole job over real HTTP to the sandbox, on SQLite and PostgreSQL: create, idempotency, policies."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import World


def value(page: dict[str, Any], name: str) -> Any:
    """A property's plain value as a person would read it in Notion."""
    prop = page["properties"][name]
    kind = prop["type"]
    raw = prop[kind]
    if kind in ("title", "rich_text"):
        return "".join(part["plain_text"] for part in raw)
    if kind in ("select", "status"):
        return raw["name"] if raw else None
    if kind == "multi_select":
        return sorted(option["name"] for option in raw)
    if kind == "date":
        return raw["start"] if raw else None
    return raw


def test_a_fresh_database_gets_exactly_one_page_per_item_with_the_right_values(world: World) -> None:
    bug = world.issue(title="Login broken", labels=["bug", "priority: high"], assignees=["alice"])
    closed = world.issue("acme/api", title="Old idea", state="closed", state_reason="not_planned")
    pr = world.issue(title="Fix login", pull_request=True, labels=["chore"])

    result = world.run()

    assert result.status == "ok", result.error
    assert result.plan is not None and result.plan.summary()["create"] == 3
    pages = world.pages_by_key()
    assert sorted(pages) == sorted([bug["html_url"], closed["html_url"], pr["html_url"]])
    assert all(len(found) == 1 for found in pages.values())
    page = pages[bug["html_url"]][0]
    assert value(page, "Name") == "Login broken"
    assert value(page, "Status") == "In Progress"
    assert value(page, "Type") == "Bug"
    assert value(page, "Priority") == "High"
    assert value(page, "Repository") == "acme/web"
    assert value(page, "Labels") == ["bug", "priority: high"]
    # kept as Notion keeps a date-time: to the minute, with an offset
    assert value(page, "Last Updated") == bug["updated_at"][:16] + ":00.000+00:00"
    assert value(pages[closed["html_url"]][0], "Status") == "Won't Do"
    assert value(pages[pr["html_url"]][0], "Status") == "In Review"
    assert value(pages[pr["html_url"]][0], "Type") == "Chore"


def test_an_immediate_second_run_makes_zero_notion_writes(world: World) -> None:
    for n in range(7):
        world.issue(title=f"Item {n}", labels=["bug"] if n % 2 else [], assignees=["bob"] if n % 3 else [])
    world.run()
    writes = world.notion_writes()

    second = world.run()

    assert second.status == "ok"
    assert second.plan is not None and second.plan.writes == ()
    assert second.plan.summary()["unchanged"] == 7
    assert world.notion_writes() == writes


def test_closing_an_issue_yields_exactly_that_update(world: World) -> None:
    issue = world.issue(title="Ship it", assignees=["carol"])
    world.run()
    world.clock.advance(120)  # type: ignore[attr-defined]
    world.sandbox.github.update_issue("acme/web", issue["number"], state="closed", state_reason="completed")

    result = world.run()

    assert result.plan is not None
    (op,) = result.plan.writes
    assert op.action == "update"
    assert set(op.changes) == {"Status", "Last Updated"}
    assert (op.changes["Status"].before, op.changes["Status"].after) == ("In Progress", "Done")
    assert value(world.page_for(issue["html_url"]), "Status") == "Done"
    assert world.run().plan.writes == ()  # type: ignore[union-attr]


def test_a_human_edit_of_an_overwrite_property_is_corrected(world: World) -> None:
    issue = world.issue(title="Right title")
    world.run()
    page = world.page_for(issue["html_url"])
    world.clock.advance(60)  # type: ignore[attr-defined]
    world.sandbox.notion.human_edit(page["id"], {"Name": {"title": [{"text": {"content": "Wrong title"}}]}})

    result = world.run()

    (op,) = result.plan.writes  # type: ignore[union-attr]
    assert op.changes["Name"].before == "Wrong title" and op.changes["Name"].after == "Right title"
    assert set(op.changes) == {"Name"}
    assert value(world.page_for(issue["html_url"]), "Name") == "Right title"


def test_an_on_change_property_edited_in_notion_is_left_alone_and_shown_as_drift(world: World) -> None:
    issue = world.issue(title="Tune it", labels=["priority: low"])
    world.run()
    page = world.page_for(issue["html_url"])
    world.clock.advance(60)  # type: ignore[attr-defined]
    world.sandbox.notion.human_edit(page["id"], {"Priority": {"select": {"name": "High"}}})

    result = world.run()

    assert result.plan is not None and result.plan.writes == ()
    (drift,) = result.plan.drift
    assert (drift.property, drift.notion, drift.expected, drift.policy) == (
        "Priority",
        "High",
        "Low",
        "on_change",
    )
    assert value(world.page_for(issue["html_url"]), "Priority") == "High"


def test_an_on_change_property_is_written_when_github_changes_it(world: World) -> None:
    issue = world.issue(title="Tune it", labels=["priority: low"])
    world.run()
    page = world.page_for(issue["html_url"])
    world.sandbox.notion.human_edit(page["id"], {"Priority": {"select": {"name": "Medium"}}})
    world.clock.advance(60)  # type: ignore[attr-defined]
    world.sandbox.github.update_issue("acme/web", issue["number"], labels=["priority: high"])

    world.run()

    assert value(world.page_for(issue["html_url"]), "Priority") == "High"


def test_create_only_is_never_written_after_creation(world: World) -> None:
    issue = world.issue(title="Kind of a bug", labels=[])
    world.run()
    world.clock.advance(60)  # type: ignore[attr-defined]
    world.sandbox.github.update_issue("acme/web", issue["number"], labels=["bug"])

    result = world.run()

    assert value(world.page_for(issue["html_url"]), "Type") == "Task"
    assert all("Type" not in op.changes for op in result.plan.writes)  # type: ignore[union-attr]
    assert [d.property for d in result.plan.drift] == ["Type"]  # type: ignore[union-attr]


def test_a_5000_character_title_and_emoji_survive_a_round_trip_without_a_perpetual_diff(world: World) -> None:
    title = ("🚀 naïve café — " * 400)[:4999] + "✅"
    issue = world.issue(title=title)
    world.run()

    page = world.page_for(issue["html_url"])
    assert value(page, "Name") == title
    assert len(page["properties"]["Name"]["title"]) > 2  # split into several text objects
    assert world.run().plan.writes == ()  # type: ignore[union-attr]
    assert world.run(full=True).plan.writes == ()  # type: ignore[union-attr]


def test_label_names_are_made_valid_select_and_multi_select_names(world: World) -> None:
    issue = world.issue(title="Odd labels", labels=["area: a,b", "x" * 120])
    world.run()

    labels = value(world.page_for(issue["html_url"]), "Labels")
    assert labels == sorted(["area: a;b", "x" * 100])
    assert world.run().plan.writes == ()  # type: ignore[union-attr]


def test_pull_request_merged_and_draft_reach_the_mapping(world: World) -> None:
    world.overrides = {
        "mapping__properties__Status__rules": [
            {"if": {"merged": True}, "then": "Done"},
            {"if": {"draft": True}, "then": "Backlog"},
            {"if": {"kind": "pull_request"}, "then": "In Review"},
            {"then": "Backlog"},
        ]
    }
    merged = world.issue(title="Merged", pull_request=True, merged=True)
    draft = world.issue(title="Draft", pull_request=True, draft=True)
    review = world.issue(title="Ready", pull_request=True)

    world.run()

    assert value(world.page_for(merged["html_url"]), "Status") == "Done"
    assert value(world.page_for(draft["html_url"]), "Status") == "Backlog"
    assert value(world.page_for(review["html_url"]), "Status") == "In Review"


def test_a_dry_run_writes_nothing(world: World) -> None:
    world.issue(title="Not yet")

    result = world.run(dry_run=True)

    assert result.plan is not None and len(result.plan.writes) == 1
    assert world.notion_writes() == 0 and world.pages() == []


def test_a_mapped_property_the_database_lacks_fails_alone_and_the_run_goes_on(world: World) -> None:
    world.overrides = {
        "mapping__properties__Owner": {"type": "rich_text", "value": "{author}"}
    }  # not in the schema
    issue = world.issue(title="One")

    result = world.run()

    assert result.status == "partial"  # exit 3, the property named
    assert result.applied.applied == 1 and result.applied.failed == 0
    assert result.plan is not None
    assert [(p["property"], p["problem"]) for p in result.plan.schema_problems] == [("Owner", "missing")]
    assert value(world.page_for(issue["html_url"]), "Name") == "One"


@pytest.mark.parametrize("version", ["2025-09-03"])
def test_the_data_source_api_version_works_end_to_end(world: World, version: str) -> None:
    world.version = version
    issue = world.issue(title="Via data sources", labels=["enhancement"])

    first = world.run()
    second = world.run()

    assert first.status == "ok" and first.applied.applied == 1
    assert value(world.page_for(issue["html_url"]), "Type") == "Feature"
    assert second.plan is not None and second.plan.writes == ()
