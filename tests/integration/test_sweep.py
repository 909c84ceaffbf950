"""Issue 9: a plain scheduled `run` converges on what disappeared — linked pages trashed or deleted in
Notion (the key sweep, `notion.sweep_every`), GitHub items deleted or transferred away (the resync,
`github.resync_every`), copies of a page made by hand — and `refresh --item` does so at once for one item."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from reconcile.clock import FakeClock
from reconcile.jobs.refresh import refresh
from reconcile.jobs.run import RunResult
from reconcile.model import iso
from reconcile.sandbox import Fault
from tests.conftest import START, World, cli
from tests.integration.test_end_to_end import value

MAPPED = ("Name", "Status", "Type", "Priority", "Repository", "Labels", "Last Updated")
QUERY = r"/query$"
PAGE = r"^/v1/pages/[0-9a-f-]+$"
SCHEMA = r"^/v1/(databases|data_sources)/[0-9a-f-]+$"


def bare(page_id: str) -> str:
    return page_id.replace("-", "")


def values(page: dict[str, Any]) -> dict[str, Any]:
    return {name: value(page, name) for name in MAPPED}


def converged(world: World, count: int, **fields: Any) -> list[dict[str, Any]]:
    """`count` issues whose pages exist and were read back: the next run has nothing to do."""
    issues = [
        world.issue(title=f"Item {n}", labels=["bug"] if n % 3 == 0 else [], **fields) for n in range(count)
    ]
    assert world.run().status == "ok"
    advance(world, 600)
    settled = world.run()  # reads back what the first run wrote
    assert settled.status == "ok" and settled.plan is not None and settled.plan.writes == ()
    advance(world, 600)
    return issues


def advance(world: World, seconds: float) -> None:
    clock = world.clock
    assert isinstance(clock, FakeClock)
    clock.advance(seconds)


def notion_requests(world: World) -> dict[str, int]:
    """The Notion requests logged since the last reset, by kind."""
    sandbox = world.sandbox
    return {
        "queries": sandbox.count("notion", "POST", QUERY),
        "page_gets": sandbox.count("notion", "GET", PAGE),
        "writes": sandbox.writes("notion"),
        "all": sandbox.count("notion"),
    }


def patches_to(world: World, page_id: str) -> list[Any]:
    return [
        record
        for record in world.sandbox.requests
        if record.api == "notion" and record.method == "PATCH" and bare(record.path).endswith(bare(page_id))
    ]


def actions(result: RunResult) -> list[tuple[str, str | None]]:
    assert result.status == "ok", result.error
    assert result.plan is not None
    return [(op.action, op.page_id) for op in result.plan.writes]


def nothing_to_do(world: World, **run: Any) -> None:
    writes = world.notion_writes()
    again = world.run(**run)
    assert again.status == "ok", again.error
    assert again.plan is not None and again.plan.operations == ()
    assert world.notion_writes() == writes


# -- the key sweep -------------------------------------------------------------------------------


def test_pages_trashed_or_deleted_are_recreated_by_the_next_plain_run_at_the_price_of_a_sweep(
    world: World,
) -> None:
    issues = converged(world, 300)
    pages = {url: pages[0] for url, pages in world.pages_by_key().items()}
    hit = [issues[0], issues[150], issues[299]]
    before = {issue["html_url"]: values(pages[issue["html_url"]]) for issue in hit}
    old = [pages[issue["html_url"]]["id"] for issue in hit]
    world.sandbox.notion.trash_page(old[0])
    world.sandbox.notion.trash_page(old[1])
    world.sandbox.notion.delete_page(old[2])
    world.sandbox.reset_counts()

    result = world.run()  # a plain scheduled run: no --full

    assert sorted(actions(result)) == sorted(("recreate", page_id) for page_id in old)
    # the incremental query, the sweep (⌈300/100⌉ key-only queries), a lookup and a write per missing page
    assert notion_requests(world) == {"queries": 1 + 3, "page_gets": 3, "writes": 3, "all": 10}
    sweep = [r for r in world.sandbox.requests if r.api == "notion" and "filter_properties" in r.query]
    assert len(sweep) == 3
    by_key = world.pages_by_key()
    assert len(by_key) == 300 and all(len(found) == 1 for found in by_key.values())
    for issue, page_id in zip(hit, old, strict=True):
        (new,) = by_key[issue["html_url"]]
        assert new["id"] != page_id and values(new) == before[issue["html_url"]]
        assert patches_to(world, page_id) == []  # the trashed pages are left where the person put them
    assert sorted(p["id"] for p in world.pages(include_trashed=True) if p["in_trash"]) == sorted(old[:2])
    advance(world, 600)
    nothing_to_do(world)


def test_a_sweep_that_fails_midway_decides_nothing(world: World) -> None:
    issues = converged(world, 105)
    page_id = world.page_for(issues[0]["html_url"])["id"]
    world.sandbox.notion.trash_page(page_id)
    # the incremental query and the sweep's first answer go through; the sweep's second answer fails
    world.sandbox.faults.add(Fault(api="notion", kind="status", status=500, path=QUERY, after=2))
    world.sandbox.reset_counts()

    failed = world.run()

    assert failed.status == "failed"
    assert world.sandbox.count("notion", "GET", PAGE) == 0 and world.notion_writes() == 0
    world.sandbox.faults.clear()
    advance(world, 60)
    assert actions(world.run()) == [("recreate", page_id)]
    assert len(world.pages()) == 105
    nothing_to_do(world)


def drive(world: World, how: str, when: timedelta, **run: Any) -> RunResult:
    """A run `when` after START: by RECONCILE_NOW (the clock barely moves), or by the clock itself."""
    if how == "RECONCILE_NOW":
        advance(world, 60)
        return world.run(now=START + when, **run)
    advance(world, (START + when - world.clock.now()).total_seconds())
    return world.run(**run)


@pytest.mark.parametrize("how", ["RECONCILE_NOW", "clock"])
def test_with_sweep_every_2h_a_no_op_run_costs_two_requests_and_the_sweep_comes_after_2_hours(
    world: World, how: str
) -> None:
    world.overrides["notion__sweep_every"] = "2h"
    issues = [world.issue(title=f"Item {n}") for n in range(5)]
    drive(world, how, timedelta(0))  # creates the pages; the sweep's clock starts here
    drive(world, how, timedelta(minutes=10))  # reads them back
    page_id = world.page_for(issues[2]["html_url"])["id"]
    for minutes in (20, 30):
        world.sandbox.reset_counts()
        assert actions(drive(world, how, timedelta(minutes=minutes))) == []
        assert world.sandbox.count("notion") <= 2
    world.sandbox.notion.trash_page(page_id)
    world.sandbox.reset_counts()

    assert actions(drive(world, how, timedelta(hours=1, minutes=59))) == []  # not due: not seen yet
    assert world.sandbox.count("notion") <= 2
    world.sandbox.reset_counts()
    recreated = drive(world, how, timedelta(hours=2))

    assert actions(recreated) == [("recreate", page_id)]
    assert world.page_for(issues[2]["html_url"])["id"] != page_id and len(world.pages()) == 5
    # the incremental query, the sweep's one query, a lookup and a write (the key property's id comes
    # from the schema the first run read and kept on the board's row)
    assert notion_requests(world) == {"queries": 2, "page_gets": 1, "writes": 1, "all": 4}
    assert world.sandbox.count("notion", "GET", SCHEMA) == 0
    for hours in (3, 4):
        world.sandbox.reset_counts()
        assert actions(drive(world, how, timedelta(hours=hours))) == []
        sweeps = 1 if hours == 4 else 0  # due again 2 hours after the last one
        assert notion_requests(world) == {
            "queries": 1 + sweeps,
            "page_gets": 0,
            "writes": 0,
            "all": 1 + sweeps,
        }


def test_reconcile_now_drives_the_sweep_from_the_command_line(world: World, tmp_path: Path) -> None:
    world.overrides["notion__sweep_every"] = "2h"
    issue = world.issue(title="Scheduled")
    env = {"RECONCILE_CONFIG": str(world.write_config(tmp_path / "config.yaml"))}

    def run_at(when: timedelta) -> dict[str, Any]:
        advance(world, 60)
        done = cli("run", "--format", "json", env={**env, "RECONCILE_NOW": iso(START + when)})
        assert done.returncode == 0, done.stderr
        body: dict[str, Any] = json.loads(done.stdout)
        return body

    run_at(timedelta(0))
    page_id = world.page_for(issue["html_url"])["id"]
    world.sandbox.notion.trash_page(page_id)

    assert run_at(timedelta(hours=1))["summary"]["recreate"] == 0
    assert run_at(timedelta(hours=2))["summary"]["recreate"] == 1
    assert world.page_for(issue["html_url"])["id"] != page_id


# -- the GitHub resync ---------------------------------------------------------------------------


@pytest.mark.parametrize("on_orphan", ["report", "archive"])
def test_items_deleted_or_transferred_away_are_orphans_on_the_first_run_after_resync_every(
    world: World, on_orphan: str
) -> None:
    world.overrides["apply__on_orphan"] = on_orphan
    world.sandbox.github.add_repo("acme/elsewhere")
    doomed, moved, kept = (world.issue(title=title) for title in ("Doomed", "Moving out", "Kept"))
    assert world.run(now=START).status == "ok"  # the first pull lists everything: the resync's clock starts
    page = {issue["html_url"]: world.page_for(issue["html_url"])["id"] for issue in (doomed, moved, kept)}
    world.sandbox.github.delete_issue("acme/web", doomed["number"])
    world.sandbox.github.transfer_issue("acme/web", moved["number"], "acme/elsewhere")
    advance(world, 60)

    early = world.run(now=START + timedelta(hours=23))

    assert actions(early) == [] and early.plan is not None and early.plan.orphans == ()
    advance(world, 60)
    due = world.run(now=START + timedelta(days=1))

    gone = {page[doomed["html_url"]]: "deleted", page[moved["html_url"]]: "acme/elsewhere"}
    assert due.plan is not None
    if on_orphan == "report":
        assert actions(due) == [] and world.notion_writes() == 3
        assert {o.page_id: o.reason for o in due.plan.orphans}.keys() == gone.keys()
        reasons = {o.page_id: o.reason for o in due.plan.orphans}
    else:
        assert sorted(actions(due)) == sorted(("archive", page_id) for page_id in gone)
        reasons = {op.page_id or "": op.reason for op in due.plan.writes}
        assert [p["id"] for p in world.pages()] == [page[kept["html_url"]]]
    assert all(word in reasons[page_id] for page_id, word in gone.items()), reasons
    assert patches_to(world, page[kept["html_url"]]) == []
    advance(world, 60)
    nothing_to_do(world, now=START + timedelta(days=1, minutes=10))


@pytest.mark.parametrize(
    "fault",
    [
        Fault(api="github", kind="status", status=502, path=r"^/repositories/\d+/issues$"),
        Fault(api="github", kind="status", status=404, path=r"^/repositories/\d+/issues$"),
        Fault(api="github", kind="reset", path=r"^/repositories/\d+/issues$"),
    ],
    ids=["502", "404", "reset"],
)
def test_a_listing_that_fails_on_its_second_page_never_makes_an_orphan(world: World, fault: Fault) -> None:
    world.overrides["apply__on_orphan"] = "archive"
    issues = [world.issue(title=f"Item {n}") for n in range(105)]  # two pages of listing
    assert world.run(now=START).status == "ok"
    doomed = issues[50]
    page_id = world.page_for(doomed["html_url"])["id"]
    world.sandbox.github.delete_issue("acme/web", doomed["number"])
    world.sandbox.faults.add(fault)
    world.sandbox.reset_counts()
    advance(world, 60)

    failed = world.run(now=START + timedelta(days=1))  # the resync is due; its listing breaks off

    assert failed.status == "failed" and "acme/web" in (failed.error or "")
    assert world.sandbox.count("github", path=r"^/repos/acme/web/issues/\d+$") == 0  # nothing asked about
    assert world.notion_writes() == 0 and len(world.pages()) == 105
    world.sandbox.faults.clear()
    advance(world, 60)
    completed = world.run(now=START + timedelta(days=1, minutes=2))  # still due: the failed pass counted not

    assert actions(completed) == [("archive", page_id)]
    assert len(world.pages()) == 104


# -- refresh --item ------------------------------------------------------------------------------


def refreshed(world: World, item: tuple[str, int], **overrides: Any) -> RunResult:
    ctx = world.context(**overrides)
    try:
        return refresh(ctx, item=item)
    finally:
        ctx.close()


def written(world: World) -> list[str]:
    """What Notion writes went to: a page id for a PATCH, "new" for a create."""
    records = [r for r in world.sandbox.requests if r.api == "notion" and r.wrote]
    return [bare(r.path.rsplit("/", 1)[1]) if r.method == "PATCH" else "new" for r in records]


def trashed_and_others_changed(world: World, how: str) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """Three converged items; one's page trashed (or deleted), another closed on GitHub meanwhile."""
    world.overrides["notion__sweep_every"] = "1d"  # so that only refresh can notice
    target, other, _ = converged(world, 3, assignees=["alice"])
    page_id = world.page_for(target["html_url"])["id"]
    (world.sandbox.notion.trash_page if how == "trash" else world.sandbox.notion.delete_page)(page_id)
    world.sandbox.github.update_issue("acme/web", other["number"], state="closed", state_reason="completed")
    world.sandbox.reset_counts()
    return target, page_id, other


@pytest.mark.parametrize("how", ["trash", "delete"])
def test_refresh_item_recreates_its_trashed_page_at_once_and_writes_nothing_else(
    world: World, how: str
) -> None:
    target, page_id, other = trashed_and_others_changed(world, how)
    before = values(world.sandbox.notion.page(page_id)) if how == "trash" else None

    result = refreshed(world, ("acme/web", target["number"]))

    assert actions(result) == [("recreate", page_id)]
    assert written(world) == ["new"]
    new = world.page_for(target["html_url"])
    assert new["id"] != page_id and value(new, "Name") == target["title"]
    assert before is None or values(new) == before
    assert value(world.page_for(other["html_url"]), "Status") == "In Progress"  # the next run's business
    assert world.sandbox.count("github", path=r"/issues$") == 0  # one item asked for, no listing
    world.sandbox.reset_counts()
    caught_up = world.run()
    assert [op.key for op in caught_up.plan.writes] == [other["html_url"]]  # type: ignore[union-attr]
    nothing_to_do(world)


def test_refresh_item_restores_its_trashed_page_under_on_deleted_page_restore(world: World) -> None:
    world.overrides["apply__on_deleted_page"] = "restore"
    target, page_id, other = trashed_and_others_changed(world, "trash")

    result = refreshed(world, ("acme/web", target["number"]))

    assert actions(result) == [("recreate", page_id)] and result.plan.writes[0].restore  # type: ignore[union-attr]
    assert written(world) == [bare(page_id)]
    assert [r.body for r in patches_to(world, page_id)] == [{"in_trash": False}]
    assert world.page_for(target["html_url"])["id"] == page_id and len(world.pages(include_trashed=True)) == 3
    assert value(world.page_for(other["html_url"]), "Status") == "In Progress"


def test_refresh_item_makes_a_new_page_under_restore_when_the_old_one_is_deleted_for_good(
    world: World,
) -> None:
    world.overrides["apply__on_deleted_page"] = "restore"
    target, page_id, _ = trashed_and_others_changed(world, "delete")

    result = refreshed(world, ("acme/web", target["number"]))

    assert actions(result) == [("recreate", page_id)] and not result.plan.writes[0].restore  # type: ignore[union-attr]
    assert written(world) == ["new"] and world.page_for(target["html_url"])["id"] != page_id


def test_refresh_item_from_the_command_line_recreates_a_trashed_page(world: World, tmp_path: Path) -> None:
    target, page_id, _ = trashed_and_others_changed(world, "trash")
    config = world.write_config(tmp_path / "config.yaml")

    done = cli("refresh", "-c", str(config), "--item", f"acme/web#{target['number']}", "--format", "json")

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["summary"]["recreate"] == 1
    assert world.page_for(target["html_url"])["id"] != page_id and written(world) == ["new"]


# -- copies made by hand -------------------------------------------------------------------------


def hand_copy(world: World, issue: dict[str, Any]) -> str:
    made = world.sandbox.notion.human_create(
        world.database_id,
        {
            "Name": {"title": [{"text": {"content": issue["title"] + " (copy)"}}]},
            "GitHub URL": {"url": issue["html_url"]},
        },
    )
    return str(made["id"])


def test_copies_made_by_hand_are_named_by_page_id_and_never_written_then_trashed_under_archive(
    world: World, tmp_path: Path
) -> None:
    issues = converged(world, 3)
    original = issues[1]
    linked = {issue["html_url"]: world.page_for(issue["html_url"])["id"] for issue in issues}
    copies = sorted([hand_copy(world, original), hand_copy(world, original)])
    advance(world, 60)
    env = {"RECONCILE_CONFIG": str(world.write_config(tmp_path / "config.yaml"))}

    shown = cli("plan", "--format", "json", env=env)

    assert shown.returncode == 0, shown.stderr
    body = json.loads(shown.stdout)
    assert body["duplicates"] == [
        {"key": original["html_url"], "page_id": linked[original["html_url"]], "copies": copies}
    ]
    assert body["operations"] == []
    world.sandbox.reset_counts()
    reported = world.run()  # apply.on_duplicate: report (the default)

    assert actions(reported) == [] and world.notion_writes() == 0
    assert [(d.page_id, sorted(d.copies)) for d in reported.plan.duplicates] == [  # type: ignore[union-attr]
        (linked[original["html_url"]], copies)
    ]
    advance(world, 60)
    later = world.run()  # nothing about the item changed: the copies are still named, every run
    assert [sorted(d.copies) for d in later.plan.duplicates] == [copies]  # type: ignore[union-attr]
    assert world.notion_writes() == 0
    advance(world, 60)
    archived = world.run(apply__on_duplicate="archive")

    assert sorted(actions(archived)) == [("archive", page_id) for page_id in copies]
    assert [r.body for page_id in copies for r in patches_to(world, page_id)] == [{"in_trash": True}] * 2
    for page_id in linked.values():
        assert patches_to(world, page_id) == []
    assert {url: [p["id"] for p in found] for url, found in world.pages_by_key().items()} == {
        url: [page_id] for url, page_id in linked.items()
    }
    advance(world, 60)
    nothing_to_do(world, apply__on_duplicate="archive")


def test_the_sweep_works_on_data_sources_too(world: World) -> None:
    world.version = "2025-09-03"
    issues = converged(world, 5)
    page_id = world.page_for(issues[3]["html_url"])["id"]
    world.sandbox.notion.trash_page(page_id)

    assert actions(world.run()) == [("recreate", page_id)]
    assert world.sandbox.count("notion", "POST", r"^/v1/data_sources/[0-9a-f-]+/query$") > 0
    nothing_to_do(world)


def test_when_no_sweep_is_due_a_run_sweeps_nothing(world: World) -> None:
    world.overrides["notion__sweep_every"] = "1d"
    converged(world, 5)
    world.sandbox.reset_counts()

    nothing_to_do(world)

    assert notion_requests(world) == {"queries": 1, "page_gets": 0, "writes": 0, "all": 1}
