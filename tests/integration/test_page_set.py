"""`reconcile page set`: values written to one page by hand, journalled, standing or corrected by policy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from tests.conftest import World, cli
from tests.integration.test_end_to_end import value
from tests.integration.test_refresh import bare, written_pages


def synced(world: World, tmp_path: Path, **issue: Any) -> tuple[dict[str, Any], dict[str, Any], str]:
    """Two issues with pages; the config; request counts reset."""
    first = world.issue(title="First", **issue)
    second = world.issue(title="Second")
    world.run()
    world.sandbox.reset_counts()
    return first, second, str(world.write_config(tmp_path / "config.yaml"))


def test_page_set_by_item_writes_that_page_only_and_an_on_change_value_stands(
    world: World, tmp_path: Path
) -> None:
    first, second, config = synced(world, tmp_path)
    page_id = world.page_for(first["html_url"])["id"]

    done = cli("page", "set", f"acme/web#{first['number']}", "Priority=Low", "--format", "json", "-c", config)

    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert (body["status"], body["applied"], body["page_id"]) == ("ok", 1, page_id)
    assert body["set"] == {"Priority": "Low"}
    assert body["notes"] == ["Priority stands until GitHub's value changes (policy on_change)"]
    assert written_pages(world) == [bare(page_id)]
    assert value(world.page_for(first["html_url"]), "Priority") == "Low"
    assert value(world.page_for(second["html_url"]), "Priority") == "Medium"
    assert _journal(world) == [("page set", "update", page_id, "applied")]

    for full in (False, True):  # it stands through the next runs ...
        again = world.run(full=full)
        assert again.status == "ok" and again.plan is not None and again.plan.writes == ()
    assert value(world.page_for(first["html_url"]), "Priority") == "Low"
    world.clock.advance(60)  # type: ignore[attr-defined]
    world.sandbox.github.update_issue("acme/web", first["number"], labels=["priority: high"])
    moved = world.run()  # ... until GitHub's value changes
    assert [op.page_id for op in moved.plan.writes] == [page_id]  # type: ignore[union-attr]
    assert value(world.page_for(first["html_url"]), "Priority") == "High"


def test_a_value_set_after_github_moved_stands_against_the_value_github_has_now(
    world: World, tmp_path: Path
) -> None:
    first, _, config = synced(world, tmp_path)
    world.clock.advance(60)  # type: ignore[attr-defined]
    world.sandbox.github.update_issue("acme/web", first["number"], labels=["priority: high"])  # not yet run

    done = cli("page", "set", f"acme/web#{first['number']}", "Priority=low", "-c", config)

    assert done.returncode == 0, done.stderr
    assert 'Set Priority = "Low"' in done.stdout  # an option's name, whatever its case on the command line
    after = world.run()  # writes what else GitHub changed (Last Updated), and leaves Priority alone
    (op,) = after.plan.writes  # type: ignore[union-attr]
    assert "Priority" not in op.changes and "Last Updated" in op.changes
    assert value(world.page_for(first["html_url"]), "Priority") == "Low"


def test_page_set_by_id_on_an_overwrite_property_says_the_next_run_corrects_it(
    world: World, tmp_path: Path
) -> None:
    first, _, config = synced(world, tmp_path, assignees=["alice"])
    page_id = world.page_for(first["html_url"])["id"]

    done = cli("page", "set", page_id.replace("-", ""), "Status=Backlog", "-c", config)

    assert done.returncode == 0, done.stderr
    assert "Status is owned by GitHub (policy overwrite): the next run sets it back to 'In Progress'" in (
        done.stdout
    )
    assert written_pages(world) == [bare(page_id)]
    assert value(world.page_for(first["html_url"]), "Status") == "Backlog"
    corrected = world.run()
    assert [op.page_id for op in corrected.plan.writes] == [page_id]  # type: ignore[union-attr]
    assert value(world.page_for(first["html_url"]), "Status") == "In Progress"


def test_values_are_parsed_by_type_and_bad_ones_are_one_line_errors(world: World, tmp_path: Path) -> None:
    first, _, config = synced(world, tmp_path)
    target = f"acme/web#{first['number']}"

    for args, message in (
        (["Priority=Urgent"], "Priority: 'Urgent' is not one of its options"),
        (["Priority=Hgh"], "(did you mean 'High'?)"),
        (["Last Updated=next week"], "Last Updated: 'next week' is not an ISO-8601 date"),
        (["Labels=bug", "Labels=chore"], "Labels is given twice"),
        (["Stauts=Done"], "Stauts: the database has no such property (did you mean Status?)"),
        (["GitHub URL=https://example.com"], "GitHub URL is the join key"),
        (["Priority"], "'Priority' is not NAME=VALUE"),
    ):
        done = cli("page", "set", target, *args, "-c", config)
        assert done.returncode == 1, (args, done.stdout)
        assert message in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert world.notion_writes() == 0

    several = cli(
        "page", "set", target, "Labels=bug, docs", "Last Updated=2026-02-01", "Name=Renamed", "-c", config
    )
    assert several.returncode == 0, several.stderr
    page = world.page_for(first["html_url"])
    assert (value(page, "Labels"), value(page, "Name")) == (["bug", "docs"], "Renamed")
    assert page["properties"]["Last Updated"]["date"]["start"].startswith("2026-02-01")


def test_page_set_json_on_failure_and_for_a_page_that_is_not_there(world: World, tmp_path: Path) -> None:
    _, _, config = synced(world, tmp_path)

    missing = cli("page", "set", "acme/web#99", "Priority=Low", "--format", "json", "-c", config)
    bad_id = cli("page", "set", "not-a-page", "Priority=Low", "--format", "json", "-c", config)

    assert missing.returncode == 1 and json.loads(missing.stdout)["status"] == "failed"
    assert "acme/web#99" in json.loads(missing.stdout)["error"]
    assert bad_id.returncode == 1
    assert "neither OWNER/REPO#N nor a page id" in json.loads(bad_id.stdout)["error"]
    assert world.notion_writes() == 0


def _journal(world: World) -> list[tuple[str, str, str, str]]:
    engine = create_engine(world.mirror_url)
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT runs.command, operations.action, operations.page_id, operations.state "
                "FROM operations JOIN runs ON runs.id = operations.run_id WHERE runs.command = 'page set'"
            )
        )
        found = [tuple(row) for row in rows]
    engine.dispose()
    return found  # type: ignore[return-value]
