"""Stale pages over the sandbox, with a fixed "now" (RECONCILE_NOW): found, reported, moved, annotated."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from reconcile.model import iso
from tests.conftest import START, World, cli
from tests.integration.test_end_to_end import value

DAY = timedelta(days=1)
LATER = START + 15 * DAY  # past stale.after_days (14) for anything last touched around START
ON_CHANGE_STATUS = {"mapping__properties__Status__policy": "on_change"}
SET_STATUS = {**ON_CHANGE_STATUS, "stale__action": "set_status", "stale__set_status": "Backlog"}
ANNOTATE = {"stale__action": "annotate", "stale__annotate_property": "Notes"}


def in_progress(world: World, title: str) -> dict[str, Any]:
    """An open issue with an assignee: the mapping puts its page In Progress."""
    return world.issue(title=title, assignees=["alice"])


def hand_made(world: World, title: str = "Write the runbook") -> str:
    """A page a person made in the database: no key, In Progress."""
    page = world.sandbox.notion.human_create(
        world.database_id,
        {
            "Name": {"title": [{"text": {"content": title}}]},
            "Status": {"select": {"name": "In Progress"}},
        },
    )
    return str(page["id"])


def stale_ids(result: Any) -> list[str]:
    return [page.page_id for page in result.plan.stale]


def cli_env(world: World, tmp_path: Path, now: Any = LATER, **overrides: Any) -> dict[str, str]:
    config = world.write_config(tmp_path / "config.yaml", **overrides)
    return {"RECONCILE_CONFIG": str(config), "RECONCILE_NOW": iso(now) or ""}


def test_exactly_the_idle_pages_are_stale_and_fresh_activity_on_either_side_clears_it(world: World) -> None:
    idle = in_progress(world, "Idle")
    edited = in_progress(world, "Edited in Notion")
    updated = in_progress(world, "Updated on GitHub")
    world.issue(title="Not started")  # Backlog: never stale
    by_hand = hand_made(world)
    world.run()
    world.clock.advance(10 * 86400)  # type: ignore[attr-defined]
    world.sandbox.notion.human_edit(
        world.page_for(edited["html_url"])["id"], {"Notes": {"rich_text": [{"text": {"content": "on it"}}]}}
    )
    world.sandbox.github.update_issue("acme/web", updated["number"], body="still on it")

    result = world.run(now=LATER)

    assert result.status == "ok", result.error
    assert sorted(stale_ids(result)) == sorted([world.page_for(idle["html_url"])["id"], by_hand])
    found = {page.page_id: page for page in result.plan.stale}  # type: ignore[union-attr]
    assert found[by_hand].key is None and found[by_hand].github is None
    assert found[world.page_for(idle["html_url"])["id"]].github.assignees == ("alice",)  # type: ignore[union-attr]


def test_the_stale_command_lists_them_as_json_text_and_markdown(world: World, tmp_path: Path) -> None:
    idle = in_progress(world, "Idle | piped")
    by_hand = hand_made(world)
    world.run()
    page_id = world.page_for(idle["html_url"])["id"]
    env = cli_env(world, tmp_path)

    answer = cli("stale", "--format", "json", env=env)

    assert answer.returncode == 0, answer.stderr
    body = json.loads(answer.stdout)
    assert set(body) == {"generated_at", "stale"} and body["generated_at"] == "2026-01-25T12:00:37Z"
    by_id = {entry["page_id"]: entry for entry in body["stale"]}
    assert set(by_id) == {page_id, by_hand}
    assert by_id[page_id] == {
        "page_id": page_id,
        "key": idle["html_url"],
        "title": "Idle | piped",
        "status": "In Progress",
        "last_activity": "2026-01-10T12:00:37Z",  # the item's updated_at, later than the page's minute
        "github": {"repo": "acme/web", "number": idle["number"], "state": "open", "assignees": ["alice"]},
    }
    assert by_id[by_hand]["key"] is None and by_id[by_hand]["github"] is None
    assert by_id[by_hand]["title"] == "Write the runbook"

    text = cli("stale", "--no-pull", env=env)
    assert text.returncode == 0 and text.stdout.startswith("Stale pages (2):")
    assert f"acme/web#{idle['number']} is open, assigned to alice" in text.stdout

    markdown = cli("stale", "--no-pull", "--format", "markdown", env=env)
    assert markdown.returncode == 0 and markdown.stdout.startswith("### Stale pages (2)")
    link = f"[`{page_id}`](https://www.notion.so/{page_id.replace('-', '')})"
    assert f"| {link} | Idle \\| piped | In Progress | 2026-01-10 (15 d) |" in markdown.stdout

    fresh = cli("stale", "--no-pull", "--format", "json", env=cli_env(world, tmp_path, now=START + 13 * DAY))
    assert json.loads(fresh.stdout)["stale"] == []


def test_report_writes_nothing_and_does_not_count_as_a_change(world: World, tmp_path: Path) -> None:
    in_progress(world, "Idle")
    world.run()
    writes = world.notion_writes()

    result = world.run(now=LATER)

    assert result.plan is not None and [op.action for op in result.plan.operations] == ["stale"]
    assert result.plan.operations[0].changes == {} and result.plan.writes == ()
    assert result.applied.applied == 0 and world.notion_writes() == writes
    env = cli_env(world, tmp_path)
    assert cli("plan", "--detailed-exitcode", env=env).returncode == 0
    assert cli("run", "--dry-run", "--detailed-exitcode", env=env).returncode == 0
    annotate = cli_env(world, tmp_path, **ANNOTATE)
    assert cli("plan", "--detailed-exitcode", env=annotate).returncode == 2
    assert world.notion_writes() == writes


def test_set_status_moves_the_page_once_and_it_is_not_flagged_again(world: World) -> None:
    idle = in_progress(world, "Idle")
    world.run(**SET_STATUS)
    writes = world.notion_writes()

    moved = world.run(now=LATER, **SET_STATUS)

    (op,) = moved.plan.writes  # type: ignore[union-attr]
    assert op.action == "stale" and (op.changes["Status"].before, op.changes["Status"].after) == (
        "In Progress",
        "Backlog",
    )
    assert value(world.page_for(idle["html_url"]), "Status") == "Backlog"
    assert world.notion_writes() == writes + 1
    again = world.run(now=LATER + 30 * DAY, **SET_STATUS)
    assert again.plan is not None and again.plan.operations == () and again.plan.stale == ()
    assert [(d.property, d.notion, d.expected) for d in again.plan.drift] == [
        ("Status", "Backlog", "In Progress")
    ]  # the move stands (on_change), shown as drift left alone
    assert world.notion_writes() == writes + 1


def test_annotate_appends_a_note_and_flags_again_only_after_another_idle_spell(world: World) -> None:
    idle = in_progress(world, "Idle")
    world.run(**ANNOTATE)
    page_id = world.page_for(idle["html_url"])["id"]
    world.sandbox.notion.human_edit(page_id, {"Notes": {"rich_text": [{"text": {"content": "Blocked?"}}]}})
    writes = world.notion_writes()

    first = world.run(now=LATER, **ANNOTATE)

    assert [op.action for op in first.plan.writes] == ["stale"]  # type: ignore[union-attr]
    notes = value(world.page_for(idle["html_url"]), "Notes")
    assert notes == "Blocked?\nreconcile 2026-01-25 12:00 UTC: stale — no activity since 2026-01-10"
    assert value(world.page_for(idle["html_url"]), "Status") == "In Progress"
    assert world.notion_writes() == writes + 1

    # the same "now" again, and a week later: the remark counts as activity, so nothing is written
    for now in (LATER, LATER + 7 * DAY):
        quiet = world.run(now=now, **ANNOTATE)
        assert quiet.plan is not None and quiet.plan.operations == () and quiet.plan.stale == ()
    assert world.notion_writes() == writes + 1

    second = world.run(now=LATER + 15 * DAY, **ANNOTATE)

    assert [op.action for op in second.plan.writes] == ["stale"]  # type: ignore[union-attr]
    lines = value(world.page_for(idle["html_url"]), "Notes").splitlines()
    assert len(lines) == 3 and lines[2].startswith("reconcile 2026-02-09 12:00 UTC: stale")


def test_a_stale_page_made_by_hand_is_annotated_too(world: World) -> None:
    by_hand = hand_made(world)
    world.run(**ANNOTATE)

    result = world.run(now=LATER, **ANNOTATE)

    (op,) = result.plan.writes  # type: ignore[union-attr]
    assert (op.action, op.page_id, op.key) == ("stale", by_hand, None)
    assert value(world.sandbox.notion.page(by_hand), "Notes").startswith("reconcile 2026-01-25 12:00 UTC")
    assert len(world.pages()) == 1  # never created, updated or archived otherwise


def test_set_status_under_an_overwrite_status_is_refused_at_config_load(world: World, tmp_path: Path) -> None:
    env = cli_env(world, tmp_path, stale__action="set_status", stale__set_status="Backlog")

    answer = cli("run", env=env)

    assert answer.returncode == 1
    (line,) = answer.stderr.strip().splitlines()
    assert "stale.action" in line and "mapping.properties.Status.policy is overwrite" in line
    assert world.sandbox.count() == 0  # refused before any call
