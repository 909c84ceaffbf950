"""`reconcile refresh --item/--page`: one item through pull, plan and apply; no other page is written."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from reconcile.jobs.refresh import refresh
from reconcile.jobs.run import RunResult
from reconcile.model import iso
from tests.conftest import START, World, cli
from tests.integration.test_end_to_end import value


def refreshed(world: World, **target: Any) -> RunResult:
    ctx = world.context(now=target.pop("now", None), **target.pop("overrides", {}))
    try:
        return refresh(ctx, **target)
    finally:
        ctx.close()


def written_pages(world: World) -> list[str]:
    """Ids of the pages that PATCHes went to (dashes removed), and "new" for each page created."""
    paths = [(r.method, r.path) for r in world.sandbox.requests if r.api == "notion" and r.wrote]
    return [path.rsplit("/", 1)[1].replace("-", "") if method == "PATCH" else "new" for method, path in paths]


def bare(page_id: str) -> str:
    return page_id.replace("-", "")


def three_items_changed_meanwhile(world: World) -> list[dict[str, Any]]:
    """Three issues with pages, all closed on GitHub since the last run, and one new issue."""
    issues = [world.issue(title=f"Item {n}", assignees=["alice"]) for n in range(3)]
    world.run()
    world.clock.advance(120)  # type: ignore[attr-defined]
    for issue in issues:
        world.sandbox.github.update_issue(
            "acme/web", issue["number"], state="closed", state_reason="completed"
        )
    world.issue(title="Brand new")
    world.sandbox.reset_counts()
    return issues


def test_refresh_item_writes_that_items_page_and_no_other(world: World) -> None:
    first, second, third = three_items_changed_meanwhile(world)

    result = refreshed(world, item=("acme/web", second["number"]))

    assert result.status == "ok", result.error
    assert [(op.action, op.key) for op in result.plan.writes] == [("update", second["html_url"])]  # type: ignore[union-attr]
    assert written_pages(world) == [bare(world.page_for(second["html_url"])["id"])]
    assert value(world.page_for(second["html_url"]), "Status") == "Done"
    for other in (first, third):
        assert value(world.page_for(other["html_url"]), "Status") == "In Progress"
    assert len(world.pages()) == 3  # the new issue waits for the next run
    # only that item was asked of GitHub: no repository listing
    assert world.sandbox.count("github", path=r"/issues$") == 0
    assert world.sandbox.count("github", path=rf"/issues/{second['number']}$") == 1
    caught_up = world.run()
    assert sorted(op.action for op in caught_up.plan.writes) == ["create", "update", "update"]  # type: ignore[union-attr]


def test_refresh_page_writes_that_page_and_no_other(world: World) -> None:
    first, second, _ = three_items_changed_meanwhile(world)
    page_id = world.page_for(first["html_url"])["id"]

    result = refreshed(world, page_id=bare(page_id))  # Notion ids work with or without dashes

    assert result.status == "ok", result.error
    assert written_pages(world) == [bare(page_id)]
    assert value(world.page_for(first["html_url"]), "Status") == "Done"
    assert value(world.page_for(second["html_url"]), "Status") == "In Progress"


def test_refresh_creates_the_page_of_an_item_that_has_none(world: World) -> None:
    world.issue(title="Has a page")
    world.run()
    lonely = world.issue(title="No page yet")
    world.issue(title="Neither")
    world.sandbox.reset_counts()

    result = refreshed(world, item=("acme/web", lonely["number"]))

    assert [op.action for op in result.plan.writes] == ["create"]  # type: ignore[union-attr]
    assert (
        written_pages(world) == ["new"] and value(world.page_for(lonely["html_url"]), "Name") == "No page yet"
    )
    assert len(world.pages()) == 2


def test_refresh_page_of_a_stale_page_made_by_hand_annotates_only_it(world: World) -> None:
    annotate = {"stale__action": "annotate", "stale__annotate_property": "Notes"}
    world.issue(title="Idle too", assignees=["alice"])
    pages = [
        world.sandbox.notion.human_create(
            world.database_id,
            {
                "Name": {"title": [{"text": {"content": name}}]},
                "Status": {"select": {"name": "In Progress"}},
            },
        )["id"]
        for name in ("Mine", "Someone else's")
    ]
    world.run(**annotate)
    world.sandbox.reset_counts()

    result = refreshed(world, page_id=pages[0], now=START + timedelta(days=20), overrides=annotate)

    assert [(op.action, op.page_id) for op in result.plan.writes] == [("stale", pages[0])]  # type: ignore[union-attr]
    assert written_pages(world) == [bare(pages[0])]
    assert value(world.sandbox.notion.page(pages[0]), "Notes").startswith("reconcile 2026-01-30")
    assert value(world.sandbox.notion.page(pages[1]), "Notes") == ""


def test_refresh_of_an_item_moved_out_of_the_configured_repos_makes_it_an_orphan(world: World) -> None:
    world.sandbox.github.add_repo("acme/elsewhere")
    moved = world.issue(title="Moving out")
    staying = world.issue(title="Staying")
    world.run()
    page_id = world.page_for(moved["html_url"])["id"]
    world.sandbox.github.transfer_issue("acme/web", moved["number"], "acme/elsewhere")

    reported = refreshed(world, item=("acme/web", moved["number"]))
    archived = refreshed(world, item=("acme/web", moved["number"]), overrides={"apply__on_orphan": "archive"})

    assert [o.page_id for o in reported.plan.orphans] == [page_id] and reported.plan.writes == ()  # type: ignore[union-attr]
    assert "acme/elsewhere" in reported.plan.orphans[0].reason  # type: ignore[union-attr]
    assert [(op.action, op.page_id) for op in archived.plan.writes] == [("archive", page_id)]  # type: ignore[union-attr]
    assert [page["id"] for page in world.pages()] == [world.page_for(staying["html_url"])["id"]]


def test_the_refresh_command(world: World, tmp_path: Path) -> None:
    first, second, _ = three_items_changed_meanwhile(world)
    config = world.write_config(tmp_path / "config.yaml")
    env = {"RECONCILE_CONFIG": str(config), "RECONCILE_NOW": iso(START + timedelta(days=1)) or ""}

    answer = cli("refresh", "--item", f"acme/web#{first['number']}", "--format", "json", env=env)

    assert answer.returncode == 0, answer.stderr
    body = json.loads(answer.stdout)
    assert body["status"] == "ok" and body["applied"] == 1 and body["summary"]["update"] == 1
    assert value(world.page_for(first["html_url"]), "Status") == "Done"
    assert value(world.page_for(second["html_url"]), "Status") == "In Progress"
    page_id = world.page_for(second["html_url"])["id"]
    by_page = cli("refresh", "--page", page_id, env=env)
    assert by_page.returncode == 0, by_page.stderr
    assert value(world.page_for(second["html_url"]), "Status") == "Done"
    assert written_pages(world) == [bare(world.page_for(first["html_url"])["id"]), bare(page_id)]

    for args in ((), ("--item", "acme/web#1", "--page", page_id), ("--item", "not an item")):
        refused = cli("refresh", *args, env=env)
        assert refused.returncode == 1 and refused.stderr.strip(), args
    elsewhere = cli("refresh", "--item", "acme/elsewhere#1", env=env)
    assert elsewhere.returncode == 1 and "acme/elsewhere is not one of github.repos" in elsewhere.stderr
    assert len(written_pages(world)) == 2


def test_refresh_of_a_page_keyed_into_an_unconfigured_repo_declares_nothing_gone(world: World) -> None:
    foreign = world.sandbox.notion.human_create(
        world.database_id,
        {
            "Name": {"title": [{"text": {"content": "Elsewhere"}}]},
            "GitHub URL": {"url": "https://github.com/other/repo/issues/1"},
        },
    )
    ctx = world.context()
    result = refresh(ctx, page_id=foreign["id"])
    later = world.run(full=True, apply__on_orphan="archive")

    assert result.status == "ok" and world.sandbox.count("github", path=r"^/repos/other/") == 0
    assert later.plan is not None and later.plan.orphans == () and later.plan.writes == ()
    assert world.sandbox.notion.page(foreign["id"])["in_trash"] is False
