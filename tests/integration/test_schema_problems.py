"""One broken property fails alone: a mapped property deleted, retyped or never made in Notion is not
written (named once per run, exit 3), and the rest of each page and new items are still written."""

from __future__ import annotations

from typing import Any

import requests

from reconcile.clock import FakeClock
from reconcile.sandbox import Fault
from tests.conftest import World

ITEMS = 30


def patch_schema(world: World, properties: dict[str, Any]) -> None:
    """Change the database's properties as a person would in Notion (null deletes one)."""
    answer = requests.patch(
        f"{world.sandbox.notion_url}/v1/databases/{world.database_id}",
        json={"properties": properties},
        timeout=10,
        headers={"Authorization": f"Bearer {world.sandbox.notion_token}", "Notion-Version": "2022-06-28"},
    )
    assert answer.ok, answer.text


def value(page: dict[str, Any], name: str) -> Any:
    prop = page["properties"].get(name)
    if prop is None:
        return None
    data = prop[prop["type"]]
    if prop["type"] in ("title", "rich_text"):
        return "".join(part["plain_text"] for part in data)
    return data.get("name") if isinstance(data, dict) else data


def schema_lines(caplog: Any) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("schema problem")]


def test_a_property_missing_from_the_start_is_named_and_written_once_a_person_adds_it(
    world: World, clock: FakeClock, caplog: Any
) -> None:
    world.overrides = {"mapping__properties__Owner": {"type": "rich_text", "value": "{author}"}}
    issue = world.issue(title="Needs an owner", author="mona")

    first = world.run()

    assert first.status == "partial" and first.applied.applied == 1 and first.applied.failures == []
    assert first.plan is not None and [p["property"] for p in first.plan.schema_problems] == ["Owner"]
    assert len(schema_lines(caplog)) == 1  # named once per run, not once per page
    assert value(world.page_for(issue["html_url"]), "Name") == "Needs an owner"

    patch_schema(world, {"Owner": {"rich_text": {}}})  # the fix
    clock.advance(120)
    second = world.run()
    assert second.status == "ok", second.error
    assert value(world.page_for(issue["html_url"]), "Owner") == "mona"


def test_a_property_deleted_in_notion_blocks_nothing_else_and_never_trips_the_change_ratio(
    world: World, clock: FakeClock
) -> None:
    issues = [world.issue(title=f"Item {n}") for n in range(ITEMS)]
    assert world.run().status == "ok"
    patch_schema(world, {"Repository": None})
    clock.advance(120)
    world.sandbox.github.update_issue("acme/web", issues[0]["number"], state="closed")
    fresh = world.issue(title="Made after")
    clock.advance(120)

    result = world.run(full=True)  # every page is read again, and lacks the property

    assert result.status == "partial", result.error  # exit 3, not a refused plan (exit 1)
    assert result.plan is not None
    assert [(p["property"], p["problem"]) for p in result.plan.schema_problems] == [("Repository", "missing")]
    assert value(world.page_for(issues[0]["html_url"]), "Status") == "Done"  # the rest still written
    assert value(world.page_for(fresh["html_url"]), "Name") == "Made after"  # and new items too
    assert {op.key for op in result.plan.writes} == {issues[0]["html_url"], fresh["html_url"]}


def test_a_retyped_property_is_seen_on_the_pulled_page_and_only_that_property_is_held_back(
    world: World, clock: FakeClock
) -> None:
    issue = world.issue(title="Typed", labels=["priority: high"])
    assert world.run().status == "ok"
    patch_schema(world, {"Priority": {"rich_text": {}}})  # retyped in Notion
    world.sandbox.github.update_issue("acme/web", issue["number"], state="closed", labels=["priority: low"])
    clock.advance(120)

    result = world.run()

    assert result.status == "partial", result.error
    assert result.plan is not None
    assert [(p["property"], p["actual"]) for p in result.plan.schema_problems] == [("Priority", "rich_text")]
    assert result.applied.refused == []  # known before writing: nothing was sent that Notion refuses
    assert value(world.page_for(issue["html_url"]), "Status") == "Done"


def test_a_value_notion_refuses_is_left_out_of_the_update_and_the_rest_lands(
    world: World, clock: FakeClock
) -> None:
    issue = world.issue(title="Typed", labels=["priority: high"])
    assert world.run().status == "ok"
    page_id = world.page_for(issue["html_url"])["id"]
    refusal = "body failed validation: body.properties.Priority.select.name should be a non-empty string"
    world.sandbox.faults.add(
        Fault(api="notion", kind="status", status=400, method="PATCH", path=page_id, times=1, message=refusal)
    )
    world.sandbox.github.update_issue("acme/web", issue["number"], state="closed", labels=["priority: low"])
    clock.advance(120)

    result = world.run()

    assert result.status == "partial", result.error
    assert [(r.property, r.error) for r in result.applied.refused] == [("Priority", refusal)]
    assert value(world.page_for(issue["html_url"]), "Status") == "Done"  # the rest of the write landed
    clock.advance(120)
    after = world.run()  # the refusal was one value's: it is written again, and lands
    assert after.status == "ok" and value(world.page_for(issue["html_url"]), "Priority") == "Low"
