"""Ownership per property over the sandbox: overwrite corrects; on_change (three-way), create_only stand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import World, cli, empty_tables
from tests.integration.test_end_to_end import value


def select(name: str) -> dict[str, Any]:
    return {"select": {"name": name}}


def edit(world: World, url: str, **properties: Any) -> None:
    """A person edits the item's page in Notion, a minute later."""
    world.clock.advance(60)  # type: ignore[attr-defined]
    world.sandbox.notion.human_edit(world.page_for(url)["id"], properties)


def lose_mirror(world: World, tmp_path: Path) -> None:
    """The mirror is gone: a new, empty SQLite file, or emptied PostgreSQL tables."""
    if world.mirror_url.startswith("sqlite"):
        world.mirror_url = f"sqlite:///{tmp_path / 'new-mirror.db'}"
    else:
        empty_tables(world.mirror_url)


def test_on_change_and_create_only_edits_survive_runs_while_overwrite_edits_are_corrected(
    world: World,
) -> None:
    issue = world.issue(title="Owned by GitHub", labels=["bug", "priority: low"])
    world.run()
    edit(
        world,
        issue["html_url"],
        Name={"title": [{"text": {"content": "Renamed by hand"}}]},
        Priority=select("High"),
        Type=select("Chore"),
    )

    first = world.run()

    (op,) = first.plan.writes  # type: ignore[union-attr]
    assert op.action == "update" and set(op.changes) == {"Name"}
    page = world.page_for(issue["html_url"])
    assert (value(page, "Name"), value(page, "Priority"), value(page, "Type")) == (
        "Owned by GitHub",
        "High",
        "Chore",
    )
    writes = world.notion_writes()
    for full in (False, True, False):
        again = world.run(full=full)
        assert again.plan is not None and again.plan.writes == ()
        assert sorted(d.property for d in again.plan.drift) == ["Priority", "Type"]
    assert world.notion_writes() == writes
    assert value(world.page_for(issue["html_url"]), "Priority") == "High"


def test_on_change_writes_when_github_moves_the_value_and_create_only_never_does(world: World) -> None:
    issue = world.issue(title="Tune it", labels=["priority: low"])
    world.run()
    edit(world, issue["html_url"], Priority=select("High"), Type=select("Feature"))
    world.run()  # the edits stand
    world.clock.advance(60)  # type: ignore[attr-defined]
    world.sandbox.github.update_issue("acme/web", issue["number"], labels=["bug"])  # Priority -> Medium

    moved = world.run()

    (op,) = moved.plan.writes  # type: ignore[union-attr]
    assert (op.changes["Priority"].before, op.changes["Priority"].after) == ("High", "Medium")
    assert "Type" not in op.changes  # create_only: the label says Bug, the page keeps Feature
    page = world.page_for(issue["html_url"])
    assert (value(page, "Priority"), value(page, "Type")) == ("Medium", "Feature")
    settled = world.run()
    assert settled.plan is not None and settled.plan.writes == ()
    assert [(d.property, d.notion, d.expected) for d in settled.plan.drift] == [("Type", "Feature", "Bug")]


def test_a_lost_mirror_adopts_the_derived_value_as_the_last_write_and_writes_nothing(
    world: World, tmp_path: Path
) -> None:
    issue = world.issue(title="Survivor", labels=["priority: low"])
    world.run()
    edit(world, issue["html_url"], Priority=select("High"))
    lose_mirror(world, tmp_path)
    writes = world.notion_writes()

    adopted = world.run()

    assert adopted.status == "ok", adopted.error
    assert adopted.plan is not None and adopted.plan.writes == ()
    assert [(d.property, d.notion, d.expected) for d in adopted.plan.drift] == [("Priority", "High", "Low")]
    assert world.notion_writes() == writes and len(world.pages()) == 1
    assert world.run(full=True).plan.writes == ()  # type: ignore[union-attr]
    # the adopted value is the base from now on: GitHub moving away from it is written
    world.clock.advance(60)  # type: ignore[attr-defined]
    world.sandbox.github.update_issue("acme/web", issue["number"], labels=[])  # Priority -> Medium

    moved = world.run()

    (op,) = moved.plan.writes  # type: ignore[union-attr]
    assert (op.changes["Priority"].before, op.changes["Priority"].after) == ("High", "Medium")
    assert value(world.page_for(issue["html_url"]), "Priority") == "Medium"


def test_a_human_edit_under_on_change_is_drift_in_every_plan_format_never_an_operation(
    world: World, tmp_path: Path
) -> None:
    issue = world.issue(title="Tune it", labels=["priority: low"])
    world.run()
    edit(world, issue["html_url"], Priority=select("High"))
    page_id = world.page_for(issue["html_url"])["id"]
    env = {"RECONCILE_CONFIG": str(world.write_config(tmp_path / "config.yaml"))}

    as_json = cli("plan", "--format", "json", "--detailed-exitcode", env=env)

    assert as_json.returncode == 0, as_json.stderr  # drift alone is nothing to write
    body = json.loads(as_json.stdout)
    assert body["operations"] == [] and body["summary"]["update"] == 0
    assert body["drift"] == [
        {
            "key": issue["html_url"],
            "page_id": page_id,
            "property": "Priority",
            "notion": "High",
            "expected": "Low",
            "policy": "on_change",
        }
    ]
    text = cli("plan", "--no-pull", env=env).stdout
    head, drift = text.split("Drift left alone by the policies (1, informational):")
    assert "No changes: Notion matches GitHub." in head and "Priority" not in head
    assert f'{issue["html_url"]} Priority: Notion has "High", the mapping says "Low" (on_change)' in drift
    markdown = cli("plan", "--no-pull", "--format", "markdown", env=env).stdout
    head, drift = markdown.split("#### Drift left alone (1)")
    assert "No changes: Notion matches GitHub." in head and "Priority" not in head
    link = f"[acme/web#{issue['number']}]({issue['html_url']})"
    assert f'| {link} | Priority | "High" | "Low" | on_change |' in drift
