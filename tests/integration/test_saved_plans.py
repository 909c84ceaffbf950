"""`plan --out FILE` then `apply FILE`: what changed since planning is skipped and reported, never applied."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import World, cli


def test_apply_skips_operations_whose_page_changed_since_planning(world: World, tmp_path: Path) -> None:
    first = world.issue(title="First", assignees=["alice"])
    second = world.issue(title="Second", assignees=["bob"])
    world.run()
    world.clock.advance(120)  # type: ignore[attr-defined]
    for issue in (first, second):
        world.sandbox.github.update_issue(
            "acme/web", issue["number"], state="closed", state_reason="completed"
        )
    config = str(world.write_config(tmp_path / "config.yaml"))
    plan_file = tmp_path / "plan.json"

    planned = cli("plan", "--out", str(plan_file), "--detailed-exitcode", "-c", config)
    assert planned.returncode == 2, planned.stderr
    saved = json.loads(plan_file.read_text())
    assert saved["format_version"] == 1 and saved["summary"]["update"] == 2
    world.clock.advance(120)  # type: ignore[attr-defined]
    moved = world.page_for(second["html_url"])
    world.sandbox.notion.human_edit(moved["id"], {"Status": {"select": {"name": "Won't Do"}}})

    applied = cli("apply", str(plan_file), "--format", "json", "-c", config)
    result = json.loads(applied.stdout)
    assert applied.returncode == 0, applied.stderr
    assert result["applied"] == 1
    assert result["skipped"] == [
        {"key": second["html_url"], "page_id": moved["id"], "reason": result["skipped"][0]["reason"]}
    ]
    assert "Status changed since planning" in result["skipped"][0]["reason"]
    assert world.page_for(first["html_url"])["properties"]["Status"]["select"]["name"] == "Done"
    assert world.page_for(second["html_url"])["properties"]["Status"]["select"]["name"] == "Won't Do"
    text = cli("apply", str(plan_file), "-c", config)
    assert "skipped: " in text.stdout


def test_a_saved_create_is_skipped_when_the_page_exists_by_then(world: World, tmp_path: Path) -> None:
    issue = world.issue(title="Only once")
    config = str(world.write_config(tmp_path / "config.yaml"))
    plan_file = tmp_path / "plan.json"
    assert cli("plan", "--out", str(plan_file), "-c", config).returncode == 0
    assert world.run().applied.applied == 1  # someone ran the job in between

    applied = cli("apply", str(plan_file), "--format", "json", "-c", config)

    assert json.loads(applied.stdout)["applied"] == 0
    assert len(world.pages_by_key()[issue["html_url"]]) == 1


def test_a_plan_for_another_database_or_not_a_plan_is_refused(world: World, tmp_path: Path) -> None:
    config = str(world.write_config(tmp_path / "config.yaml"))
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format_version": 1, "database_id": "elsewhere", "operations": []}))
    junk = tmp_path / "junk.json"
    junk.write_text("not json")

    for path, message in ((other, "planned for database elsewhere"), (junk, "not a readable plan")):
        done = cli("apply", str(path), "-c", config)
        assert done.returncode == 1 and message in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1


def plan_after_trashing(world: World, tmp_path: Path, title: str) -> tuple[dict[str, Any], str, Path]:
    """An item's page made, then trashed by a person, then a full plan saved: (page, config, plan file)."""
    issue = world.issue(title=title)
    world.run()
    page = world.page_for(issue["html_url"])
    world.sandbox.notion.trash_page(page["id"])
    config = str(world.write_config(tmp_path / "config.yaml"))
    plan_file = tmp_path / "plan.json"
    assert cli("plan", "--full", "--out", str(plan_file), "-c", config).returncode == 0
    return page, config, plan_file


def test_a_saved_recreate_is_skipped_once_a_person_restored_the_page(world: World, tmp_path: Path) -> None:
    page, config, plan_file = plan_after_trashing(world, tmp_path, "Back again")
    assert json.loads(plan_file.read_text())["summary"]["recreate"] == 1
    world.sandbox.notion.restore_page(page["id"])  # a person took it out of the trash meanwhile

    applied = json.loads(cli("apply", str(plan_file), "--format", "json", "-c", config).stdout)

    assert applied["applied"] == 0 and "live page for this item exists" in applied["skipped"][0]["reason"]
    assert [p["id"] for p in world.pages()] == [page["id"]]  # no second page


def test_a_saved_restore_takes_the_page_out_of_the_trash(world: World, tmp_path: Path) -> None:
    world.overrides = {"apply__on_deleted_page": "restore"}
    page, config, plan_file = plan_after_trashing(world, tmp_path, "Restore me")
    (op,) = json.loads(plan_file.read_text())["operations"]
    assert op["action"] == "recreate" and op["restore"] is True

    applied = json.loads(cli("apply", str(plan_file), "--format", "json", "-c", config).stdout)

    assert applied["applied"] == 1, applied
    assert [p["id"] for p in world.pages()] == [page["id"]]
