"""What people read: plans and stale lists through the real command, as text, markdown and JSON."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from reconcile.model import iso
from tests.conftest import START, World, cli

NOW = START + timedelta(days=20)


@pytest.fixture
def busy(world: World, tmp_path: Path) -> dict[str, Any]:
    """A database with one of everything: an update to make, drift left alone, a stale page, an orphan."""
    world.overrides = {"stale__action": "annotate", "stale__annotate_property": "Notes"}
    stale = world.issue(title="Stalled work", assignees=["alice"])
    tuned = world.issue(title="Tuned by hand", labels=["priority: low"])
    closing = world.issue(title="About to close")
    doomed = world.issue("acme/api", title="Deleted later")
    world.run()
    world.clock.advance(10 * 86400)  # type: ignore[attr-defined]  # only `stale` stays idle
    world.sandbox.notion.human_edit(
        world.page_for(tuned["html_url"])["id"], {"Priority": {"select": {"name": "High"}}}
    )
    world.sandbox.github.update_issue("acme/web", closing["number"], state="closed", state_reason="completed")
    world.sandbox.github.delete_issue("acme/api", doomed["number"])
    config = world.write_config(tmp_path / "config.yaml")
    env = {"RECONCILE_CONFIG": str(config), "RECONCILE_NOW": iso(NOW) or ""}
    assert cli("pull", "--full", env=env).returncode == 0  # confirms the deletion
    world.sandbox.reset_counts()
    issues = {"stale": stale, "tuned": tuned, "closing": closing, "doomed": doomed}
    pages = {name: world.page_for(issue["html_url"])["id"] for name, issue in issues.items()}
    return {"env": env, "pages": pages, **issues}


def plan_output(busy: dict[str, Any], *args: str) -> str:
    answer = cli("plan", "--no-pull", *args, env=busy["env"])
    assert answer.returncode == 0, answer.stderr
    return answer.stdout


def test_plan_text_has_operations_then_stale_drift_and_orphans_in_their_own_sections(
    busy: dict[str, Any],
) -> None:
    text = plan_output(busy)

    headings = [line for line in text.splitlines() if line and not line.startswith(" ")]
    assert headings[1:] == [
        "Stale pages (1):",
        "Drift left alone by the policies (1, informational):",
        "Orphans (1, reported; set apply.on_orphan: archive to trash them):",
        "Plan: 0 to create, 1 to update, 0 to recreate, 0 to archive, 1 stale; 2 unchanged.",
    ]
    operations, rest = text.split("Stale pages (1):")
    stale, rest = rest.split("Drift left alone")
    drift, orphans = rest.split("Orphans (1")
    assert (
        f"~ update   acme/web#{busy['closing']['number']}" in operations and "Stalled work" not in operations
    )
    assert '"Stalled work"' in stale and "assigned to alice" in stale and "20 days" in stale
    assert 'Notes: (empty) -> "reconcile 2026-01-30 12:00 UTC: stale' in stale  # what annotate writes
    assert f'{busy["tuned"]["html_url"]} Priority: Notion has "High", the mapping says "Low"' in drift
    assert busy["doomed"]["html_url"] in orphans and busy["pages"]["doomed"] in orphans


def test_plan_markdown_has_a_table_for_operations_and_a_section_each_for_the_rest(
    busy: dict[str, Any],
) -> None:
    markdown = plan_output(busy, "--format", "markdown")

    lines = markdown.splitlines()
    assert lines[0] == "### reconcile plan — 0 create, 1 update, 0 recreate, 0 archive, 1 stale, 2 unchanged"
    assert [line for line in lines if line.startswith("####")] == [
        "#### Stale pages (1)",
        "#### Drift left alone (1)",
        "#### Orphans (1)",
    ]
    rows = [line for line in lines if line.startswith("| ")]
    closing = f"[acme/web#{busy['closing']['number']}]({busy['closing']['html_url']})"
    assert any(row.startswith(f"| ~ update | {closing} | [`") for row in rows)
    stale = busy["pages"]["stale"]
    stale_link = f"[`{stale}`](https://www.notion.so/{stale.replace('-', '')})"
    assert any(row.startswith(f"| {stale_link} | Stalled work | In Progress |") for row in rows)
    tuned = f"[acme/web#{busy['tuned']['number']}]({busy['tuned']['html_url']})"
    assert f'| {tuned} | Priority | "High" | "Low" | on_change |' in rows
    assert any(busy["pages"]["doomed"] in row and busy["doomed"]["html_url"] in row for row in rows)


def test_plan_json_carries_the_stale_operation_drift_and_orphans(busy: dict[str, Any]) -> None:
    body = json.loads(plan_output(busy, "--format", "json"))

    assert body["generated_at"] == "2026-01-30T12:00:37Z"
    assert [op["action"] for op in body["operations"]] == ["update", "stale"]
    stale = body["operations"][1]
    assert stale["page_id"] == busy["pages"]["stale"] and list(stale["changes"]) == ["Notes"]
    assert [(d["property"], d["page_id"]) for d in body["drift"]] == [("Priority", busy["pages"]["tuned"])]
    assert [(o["key"], o["page_id"]) for o in body["orphans"]] == [
        (busy["doomed"]["html_url"], busy["pages"]["doomed"])
    ]


def test_a_dry_run_prints_the_plan_in_markdown_and_writes_nothing(busy: dict[str, Any], world: World) -> None:
    answer = cli("run", "--dry-run", "--format", "markdown", "--detailed-exitcode", env=busy["env"])

    assert answer.returncode == 2, answer.stderr
    assert answer.stdout.startswith("### reconcile plan — ") and "#### Stale pages (1)" in answer.stdout
    assert "Would apply 2, failed 0, deferred 0." in answer.stdout
    assert world.notion_writes() == 0


def test_stale_list_in_markdown(busy: dict[str, Any]) -> None:
    answer = cli("stale", "--no-pull", "--format", "markdown", env=busy["env"])

    assert answer.returncode == 0, answer.stderr
    lines = answer.stdout.splitlines()
    assert lines[:4] == [
        "### Stale pages (1)",
        "",
        "| page | title | status | last activity | GitHub |",
        "|---|---|---|---|---|",
    ]
    page = busy["pages"]["stale"]
    assert lines[4] == (
        f"| [`{page}`](https://www.notion.so/{page.replace('-', '')}) | Stalled work | In Progress | "
        f"2026-01-10 (20 d) | [acme/web#{busy['stale']['number']}]({busy['stale']['html_url']}) "
        "(open; alice) |"
    )
