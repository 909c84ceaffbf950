"""Pages deleted in Notion (recreate, restore, ignore) and pages whose GitHub item is gone (orphans)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconcile.jobs.refresh import refresh
from reconcile.jobs.run import execute, pull_step
from reconcile.sandbox import Fault
from tests.conftest import World, cli
from tests.integration.test_end_to_end import value


def bare(page_id: str) -> str:
    return page_id.replace("-", "")


def patches_to(world: World, page_id: str) -> list[Any]:
    """The PATCH requests sent to one page, oldest first."""
    return [
        record
        for record in world.sandbox.requests
        if record.method == "PATCH" and bare(record.path).endswith(bare(page_id))
    ]


def property_edits(world: World, page_id: str) -> list[Any]:
    """PATCHes that carried properties to the page and were accepted."""
    return [r for r in patches_to(world, page_id) if (r.body or {}).get("properties") and r.status == 200]


def trashed(world: World) -> list[dict[str, Any]]:
    return [page for page in world.pages(include_trashed=True) if page["in_trash"]]


def linked_page(world: World, url: str) -> str:
    world.run()
    return str(world.page_for(url)["id"])


# -- deleted pages -------------------------------------------------------------------------------


def test_a_trashed_page_is_recreated_once_on_a_full_run_and_never_edited_in_place(world: World) -> None:
    world.overrides["notion__sweep_every"] = "1d"  # this is the path when no sweep is due
    issue = world.issue(title="Keep me", labels=["bug"])
    old = linked_page(world, issue["html_url"])
    world.clock.advance(60)  # type: ignore[attr-defined]
    world.sandbox.notion.trash_page(old)
    assert world.run().plan.writes == ()  # type: ignore[union-attr]  # an incremental pull cannot see it

    full = world.run(full=True)

    (op,) = full.plan.writes  # type: ignore[union-attr]
    assert (op.action, op.page_id, op.restore) == ("recreate", old, False)
    new = world.page_for(issue["html_url"])
    assert new["id"] != old and value(new, "Name") == "Keep me" and value(new, "Type") == "Bug"
    assert [page["id"] for page in trashed(world)] == [old]
    writes = world.notion_writes()
    for full_pull in (False, True):
        again = world.run(full=full_pull)
        assert again.plan is not None and again.plan.operations == ()
    assert world.notion_writes() == writes and len(world.pages()) == 1
    assert patches_to(world, old) == []


@pytest.mark.parametrize(("how", "refusal"), [("trash", 400), ("delete", 404)])
def test_an_update_that_hits_a_trashed_page_recreates_it_instead(
    world: World, how: str, refusal: int
) -> None:
    world.overrides["notion__sweep_every"] = "1d"  # this is the path when no sweep is due
    issue = world.issue(title="Ship it", assignees=["carol"])
    old = linked_page(world, issue["html_url"])
    world.clock.advance(60)  # type: ignore[attr-defined]
    if how == "trash":
        world.sandbox.notion.trash_page(old)
    else:
        world.sandbox.notion.delete_page(old)
    world.sandbox.github.update_issue("acme/web", issue["number"], state="closed", state_reason="completed")

    result = world.run()  # incremental: the mirror still takes the page for alive

    assert result.status == "ok", result.error
    assert result.applied.applied == 1 and result.applied.failed == 0
    new = world.page_for(issue["html_url"])
    assert new["id"] != old and value(new, "Status") == "Done"
    assert property_edits(world, old) == []  # the one PATCH sent was refused ("archived", or not found)
    assert [r.status for r in patches_to(world, old)] == [refusal]
    assert world.run().plan.operations == ()  # type: ignore[union-attr]
    assert world.run(full=True).plan.operations == ()  # type: ignore[union-attr]
    assert len(world.pages()) == 1


def test_restore_takes_the_same_page_out_of_the_trash_and_respects_the_policies(world: World) -> None:
    world.overrides = {"apply__on_deleted_page": "restore"}
    issue = world.issue(title="Bring it back", labels=["priority: low"])
    page_id = linked_page(world, issue["html_url"])
    world.clock.advance(60)  # type: ignore[attr-defined]
    world.sandbox.notion.human_edit(
        page_id,
        {"Priority": {"select": {"name": "High"}}, "Name": {"title": [{"text": {"content": "Renamed"}}]}},
    )
    world.sandbox.notion.trash_page(page_id)

    result = world.run(full=True)

    (op,) = result.plan.writes  # type: ignore[union-attr]
    assert (op.action, op.page_id, op.restore, set(op.changes)) == ("recreate", page_id, True, {"Name"})
    page = world.page_for(issue["html_url"])
    assert page["id"] == page_id and not page["in_trash"] and len(world.pages(include_trashed=True)) == 1
    assert (value(page, "Name"), value(page, "Priority")) == ("Bring it back", "High")  # on_change stands
    untrash, edit = patches_to(world, page_id)
    assert untrash.body == {"in_trash": False} and set(edit.body["properties"]) == {"Name"}
    assert world.run(full=True).plan.writes == ()  # type: ignore[union-attr]


def test_restore_of_an_unchanged_page_only_takes_it_out_of_the_trash(world: World) -> None:
    world.overrides = {"apply__on_deleted_page": "restore"}
    issue = world.issue(title="Just untrash")
    page_id = linked_page(world, issue["html_url"])
    world.sandbox.notion.trash_page(page_id)

    world.run(full=True)

    assert [r.body for r in patches_to(world, page_id)] == [{"in_trash": False}]
    assert world.page_for(issue["html_url"])["id"] == page_id


def test_restore_makes_a_new_page_when_the_old_one_is_deleted_for_good(world: World) -> None:
    world.overrides = {"apply__on_deleted_page": "restore"}
    issue = world.issue(title="Gone for good")
    old = linked_page(world, issue["html_url"])
    world.sandbox.notion.delete_page(old)

    result = world.run(full=True)

    (op,) = result.plan.writes  # type: ignore[union-attr]
    assert op.action == "recreate" and not op.restore
    new = world.page_for(issue["html_url"])
    assert new["id"] != old and value(new, "Name") == "Gone for good"
    assert world.run(full=True).plan.writes == ()  # type: ignore[union-attr]


def trash_then_close(world: World, issue: dict[str, Any]) -> str:
    """A person trashes the item's page, then the issue closes: the next run's update hits the trash."""
    page_id = linked_page(world, issue["html_url"])
    world.clock.advance(60)  # type: ignore[attr-defined]
    world.sandbox.notion.trash_page(page_id)
    world.sandbox.github.update_issue("acme/web", issue["number"], state="closed", state_reason="completed")
    return page_id


def test_restore_after_an_update_hits_the_trash(world: World) -> None:
    world.overrides = {"apply__on_deleted_page": "restore"}
    issue = world.issue(title="Ship it", assignees=["carol"])
    page_id = trash_then_close(world, issue)

    result = world.run()

    assert result.status == "ok" and result.applied.failed == 0
    page = world.page_for(issue["html_url"])
    assert page["id"] == page_id and value(page, "Status") == "Done"
    assert len(world.pages(include_trashed=True)) == 1


def test_ignore_leaves_a_trashed_page_alone(world: World) -> None:
    world.overrides = {"apply__on_deleted_page": "ignore"}
    issue = world.issue(title="Let it go", assignees=["dmitri"])
    page_id = linked_page(world, issue["html_url"])
    world.sandbox.notion.trash_page(page_id)
    writes = world.notion_writes()

    full = world.run(full=True)
    world.clock.advance(60)  # type: ignore[attr-defined]
    world.sandbox.github.update_issue("acme/web", issue["number"], state="closed", state_reason="completed")
    again = world.run(full=True)

    for result in (full, again):
        assert result.status == "ok" and result.plan is not None and result.plan.writes == ()
    assert world.notion_writes() == writes and world.pages() == [] and patches_to(world, page_id) == []


def test_ignore_skips_an_update_that_hits_a_trashed_page_without_failing_the_run(world: World) -> None:
    world.overrides = {"apply__on_deleted_page": "ignore", "notion__sweep_every": "1d"}  # no sweep due
    issue = world.issue(title="Let it go", assignees=["dmitri"])
    page_id = trash_then_close(world, issue)

    result = world.run()

    assert result.status == "ok" and result.applied.failed == 0
    assert [skip.page_id for skip in result.applied.skipped] == [page_id]
    assert world.pages() == [] and property_edits(world, page_id) == []
    assert world.run().plan.writes == ()  # type: ignore[union-attr]


# -- orphans -------------------------------------------------------------------------------------


def test_a_deleted_item_is_an_orphan_only_after_a_full_pull_and_is_reported(
    world: World, tmp_path: Path
) -> None:
    keep = world.issue(title="Keep")
    doomed = world.issue(title="Doomed")
    world.run()
    page_id = world.page_for(doomed["html_url"])["id"]
    world.sandbox.github.delete_issue("acme/web", doomed["number"])

    incremental = world.run()
    assert incremental.plan is not None and incremental.plan.orphans == ()
    full = world.run(full=True)

    assert full.plan is not None and full.plan.writes == ()
    (orphan,) = full.plan.orphans
    assert (orphan.key, orphan.page_id) == (doomed["html_url"], page_id) and "deleted" in orphan.reason
    env = {"RECONCILE_CONFIG": str(world.write_config(tmp_path / "config.yaml"))}
    body = json.loads(cli("plan", "--format", "json", env=env).stdout)
    assert body["orphans"] == [{"key": doomed["html_url"], "page_id": page_id, "reason": orphan.reason}]
    assert body["operations"] == []
    assert len(world.pages()) == 2 and world.page_for(keep["html_url"])


def test_an_orphan_is_archived_with_on_orphan_archive(world: World) -> None:
    world.overrides = {"apply__on_orphan": "archive"}
    doomed = world.issue(title="Doomed")
    world.issue(title="Keep")
    world.run()
    page_id = world.page_for(doomed["html_url"])["id"]
    world.sandbox.github.delete_issue("acme/web", doomed["number"])
    assert world.run().plan.operations == ()  # type: ignore[union-attr]

    full = world.run(full=True)

    (op,) = full.plan.writes  # type: ignore[union-attr]
    assert (op.action, op.page_id) == ("archive", page_id)
    assert [page["id"] for page in trashed(world)] == [page_id] and len(world.pages()) == 1
    assert [r.body for r in patches_to(world, page_id)] == [{"in_trash": True}]
    assert world.run(full=True).plan.operations == ()  # type: ignore[union-attr]


def test_an_item_transferred_out_of_the_configured_repos_is_an_orphan(world: World) -> None:
    world.overrides = {"apply__on_orphan": "archive"}
    world.sandbox.github.add_repo("acme/elsewhere")
    moved = world.issue(title="Moving out")
    world.run()
    page_id = world.page_for(moved["html_url"])["id"]
    world.sandbox.github.transfer_issue("acme/web", moved["number"], "acme/elsewhere")

    full = world.run(full=True)

    (op,) = full.plan.writes  # type: ignore[union-attr]
    assert (op.action, op.page_id) == ("archive", page_id) and "acme/elsewhere" in op.reason
    assert world.pages() == []


def test_an_item_transferred_between_configured_repos_keeps_its_page(world: World) -> None:
    world.overrides = {"apply__on_orphan": "archive"}
    moved = world.issue(title="Moving over")
    world.run()
    page_id = world.page_for(moved["html_url"])["id"]
    new = world.sandbox.github.transfer_issue("acme/web", moved["number"], "acme/api")

    full = world.run(full=True)

    assert full.plan is not None and full.plan.orphans == ()
    assert [op.action for op in full.plan.writes] == ["update"]
    page = world.page_for(new["html_url"])
    assert page["id"] == page_id and value(page, "Repository") == "acme/api"
    assert world.run(full=True).plan.writes == ()  # type: ignore[union-attr]


@pytest.mark.parametrize("status", [500, 404])
def test_a_failed_listing_never_makes_orphans(world: World, status: int) -> None:
    world.overrides = {"apply__on_orphan": "archive"}
    doomed = world.issue(title="Really deleted")
    world.run()
    world.sandbox.github.delete_issue("acme/web", doomed["number"])
    world.sandbox.faults.add(
        Fault(api="github", kind="status", status=status, path=r"^/repos/acme/web/issues$")
    )

    result = world.run(full=True)

    assert result.status == "failed" and "acme/web" in (result.error or "")
    assert len(world.pages()) == 1 and trashed(world) == []


def test_an_empty_listing_never_makes_orphans(world: World) -> None:
    world.overrides = {"apply__on_orphan": "archive"}
    world.issue(title="Still here")
    world.issue("acme/api", title="Also here")
    world.run()
    ctx = world.context()
    listed = ctx.github.list_issues

    def nothing(repo: str, *args: Any) -> Any:  # GitHub answers 200 with no items at all
        listing = listed(repo, *args)
        listing.items = iter(())
        return listing

    ctx.github.list_issues = nothing  # type: ignore[method-assign]
    try:
        result = execute(ctx, "run", pull_step(full=True))
    finally:
        ctx.close()

    assert result.status == "ok", result.error
    assert result.plan is not None and result.plan.orphans == () and result.plan.writes == ()
    assert len(world.pages()) == 2 and trashed(world) == []


def test_githubs_own_410_for_one_item_makes_an_orphan_without_a_full_pull(world: World) -> None:
    world.overrides = {"apply__on_orphan": "archive"}
    doomed = world.issue(title="Doomed")
    world.issue(title="Keep")
    world.run()
    page_id = world.page_for(doomed["html_url"])["id"]
    world.sandbox.github.delete_issue("acme/web", doomed["number"])
    ctx = world.context()
    try:
        result = refresh(ctx, item=("acme/web", doomed["number"]))
    finally:
        ctx.close()

    assert result.status == "ok", result.error
    assert [(op.action, op.page_id) for op in result.plan.writes] == [("archive", page_id)]  # type: ignore[union-attr]
    assert [page["id"] for page in trashed(world)] == [page_id] and len(world.pages()) == 1
