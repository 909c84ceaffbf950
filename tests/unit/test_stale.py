"""Stale rules, pure: which pages are stale, what each action writes, when a page is flagged again."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from reconcile.config import config_from_dict
from reconcile.errors import ConfigError
from reconcile.mapping import expected
from reconcile.model import GitHubItem, NotionPage, Prop
from reconcile.planner import MirrorState, Scope, plan
from reconcile.stale import annotated, find_stale, last_activity, remarked
from tests.conftest import MAPPING
from tests.unit.test_mapping import item

NOW = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def config(policy: str = "on_change", apply: dict[str, Any] | None = None, **stale: Any) -> Any:
    mapping = copy.deepcopy(MAPPING)
    mapping["properties"]["Status"]["policy"] = policy
    return config_from_dict(
        {
            "version": 1,
            "github": {"repos": ["acme/web"]},
            "notion": {"database_id": "db"},
            "mapping": mapping,
            "stale": {"after_days": 14, **stale},
            "apply": apply or {},
        }
    )


def assigned(**fields: Any) -> GitHubItem:
    """An open, assigned issue last updated 30 days before NOW: its page says In Progress."""
    return item(assignees=("alice",), updated_at=NOW - 30 * DAY, **fields)


def page(
    it: GitHubItem | None,
    page_id: str = "p1",
    edited: datetime = NOW - 20 * DAY,
    status: str = "In Progress",
    notes: str | None = None,
    **flags: Any,
) -> NotionPage:
    """The job's page for the item (or a page made by hand, without a key), last edited at `edited`."""
    props = dict(expected(config().mapping, it)) if it else {"Name": Prop("title", "Hand-made")}
    props["Status"] = Prop("select", status)
    props["Notes"] = Prop("rich_text", notes)
    key = it.url if it else None
    return NotionPage(page_id, props, NOW - 60 * DAY, edited, key=key, **flags)


def stale_ids(pages: list[NotionPage], owners: dict[str, GitHubItem], **rules: Any) -> list[str]:
    return [found.page_id for found in find_stale(pages, owners, config(**rules).stale, NOW)]


def mirror(items: list[GitHubItem], pages: list[NotionPage]) -> MirrorState:
    links = {it.id: p.id for it, p in zip(items, pages, strict=False)}
    return MirrorState(items=items, pages={p.id: p for p in pages}, links=links)


# -- which pages are stale ----------------------------------------------------------------------


def test_exactly_the_idle_pages_in_the_stale_status_are_found() -> None:
    old, fresh_page, fresh_item, done = (
        assigned(id=n, number=n, url=f"https://github.com/acme/web/issues/{n}") for n in (1, 2, 3, 4)
    )
    fresh_item = replace(fresh_item, updated_at=NOW - 2 * DAY)
    pages = [
        page(old, "old"),
        page(fresh_page, "fresh-page", edited=NOW - 2 * DAY),
        page(fresh_item, "fresh-item"),
        page(done, "done", status="Done"),
    ]
    owners = {"old": old, "fresh-page": fresh_page, "fresh-item": fresh_item, "done": done}

    assert stale_ids(pages, owners) == ["old"]


def test_activity_is_the_later_of_the_page_edit_and_the_item_update() -> None:
    it = assigned()
    later_item = replace(it, updated_at=NOW - 15 * DAY)
    assert last_activity(page(it, edited=NOW - 20 * DAY), later_item) == NOW - 15 * DAY
    assert last_activity(page(it, edited=NOW - 16 * DAY), it) == NOW - 16 * DAY
    (found,) = find_stale([page(it)], {"p1": later_item}, config().stale, NOW)
    assert found.last_activity == NOW - 15 * DAY and found.github == later_item


def test_the_boundary_is_after_days_of_idleness() -> None:
    it = item(assignees=("alice",), updated_at=NOW - 30 * DAY)
    just_over = page(it, edited=NOW - 14 * DAY - timedelta(minutes=1))
    just_under = page(it, edited=NOW - 14 * DAY + timedelta(minutes=1))
    assert stale_ids([just_over], {"p1": it}) == ["p1"]
    assert stale_ids([just_under], {"p1": it}) == []
    assert stale_ids([just_under], {"p1": it}, after_days=13.5) == ["p1"]


def test_a_page_made_by_hand_without_a_key_can_be_stale() -> None:
    (found,) = find_stale([page(None, "hand")], {}, config().stale, NOW)
    assert (found.page_id, found.key, found.github, found.title) == ("hand", None, None, "Hand-made")


def test_trashed_and_deleted_pages_are_never_stale() -> None:
    it = assigned()
    pages = [page(it, "trashed", in_trash=True), page(it, "gone", gone=True)]
    assert stale_ids(pages, {"trashed": it, "gone": it}) == []


def test_the_status_watched_and_the_property_holding_it_come_from_the_config() -> None:
    it = assigned()
    review = page(it, status="In Review")
    assert stale_ids([review], {"p1": it}) == []
    assert stale_ids([review], {"p1": it}, status="In Review") == ["p1"]
    assert stale_ids([review], {"p1": it}, property="Type", status="In Review") == []


# -- what each action writes --------------------------------------------------------------------


def test_report_yields_a_stale_operation_with_no_changes_that_does_not_write() -> None:
    it = assigned()
    result = plan(config(), mirror([it], [page(it)]), NOW)
    (op,) = result.operations
    assert (op.action, op.page_id, op.key, dict(op.changes)) == ("stale", "p1", it.url, {})
    assert op.item is not None and (op.item.repo, op.item.number) == ("acme/web", 7)
    assert "no activity for 20 days" in op.reason
    assert result.writes == () and result.summary()["stale"] == 1
    assert [s.page_id for s in result.stale] == ["p1"]


def test_set_status_moves_the_status() -> None:
    it = assigned()
    result = plan(config(action="set_status", set_status="Backlog"), mirror([it], [page(it)]), NOW)
    (op,) = result.writes
    assert op.action == "stale"
    assert {name: (c.before, c.after) for name, c in op.changes.items()} == {
        "Status": ("In Progress", "Backlog")
    }


def test_annotate_appends_a_remark_to_the_notes_and_keeps_what_was_there() -> None:
    it = assigned()
    rules = {"action": "annotate", "annotate_property": "Notes"}
    result = plan(config(**rules), mirror([it], [page(it, notes="Waiting on design")]), NOW)
    (op,) = result.writes
    change = op.changes["Notes"]
    assert change.before == "Waiting on design"
    assert change.after.startswith("Waiting on design\nreconcile 2026-02-01 12:00 UTC: stale")
    assert change.after.endswith("no activity since 2026-01-12")
    assert set(op.changes) == {"Notes"}


def test_a_stale_hand_made_page_is_annotated_without_a_github_reference() -> None:
    result = plan(config(action="annotate", annotate_property="Notes"), mirror([], [page(None, "hand")]), NOW)
    (op,) = result.writes
    assert (op.action, op.key, op.item, op.page_id) == ("stale", None, None, "hand")


def test_set_status_is_refused_at_config_load_when_the_status_property_is_overwrite() -> None:
    with pytest.raises(ConfigError) as refused:
        config(policy="overwrite", action="set_status", set_status="Backlog")
    message = str(refused.value)
    assert "stale.action" in message and "mapping.properties.Status.policy" in message
    assert "(top level)" not in message and len(message.splitlines()) == 1
    assert (
        config(policy="create_only", action="set_status", set_status="Backlog").stale.action == "set_status"
    )
    assert config(policy="overwrite", action="annotate", annotate_property="Notes").stale.action == "annotate"


# -- flagged again only after another idle spell ------------------------------------------------


def test_an_annotated_page_is_not_flagged_again_until_idle_for_after_days_once_more() -> None:
    it = assigned()
    rules = config(action="annotate", annotate_property="Notes").stale
    (first,) = find_stale([page(it)], {"p1": it}, rules, NOW)
    # RECONCILE_NOW may be far from the clock that stamps last_edited_time: the remark itself counts
    notes = annotated(None, first, NOW)
    remarked_page = page(it, notes=notes)  # last_edited_time as before the annotation

    assert remarked(notes) == [NOW.replace(second=0, microsecond=0)]
    assert find_stale([remarked_page], {"p1": it}, rules, NOW) == []
    assert find_stale([remarked_page], {"p1": it}, rules, NOW + 13 * DAY) == []
    (again,) = find_stale([remarked_page], {"p1": it}, rules, NOW + 15 * DAY)
    assert again.last_activity == NOW


def test_only_the_jobs_own_remarks_with_a_real_date_count_as_activity() -> None:
    assert remarked("reconcile 2026-01-05: stale — old style\nreconcile 2026-01-20 08:30 UTC: stale — x") == [
        datetime(2026, 1, 5, tzinfo=UTC),
        datetime(2026, 1, 20, 8, 30, tzinfo=UTC),
    ]
    assert remarked("see reconcile 2026-01-20 08:30 UTC: stale") == []  # not at a line start
    assert remarked("reconcile 2026-13-45: stale, typed by a person") == []
    assert remarked(None) == []


def test_a_page_moved_out_of_the_status_is_not_flagged_while_it_stays_out() -> None:
    it = assigned()
    moved = page(it, status="Backlog")
    rules = config(action="set_status", set_status="Backlog").stale
    assert find_stale([moved], {"p1": it}, rules, NOW + 100 * DAY) == []


# -- inside a plan ------------------------------------------------------------------------------


def test_a_page_being_archived_as_an_orphan_gets_no_stale_operation() -> None:
    it = assigned()
    orphan = page(it)
    gone = {it.url: "deleted on GitHub"}
    result = plan(
        config(apply={"on_orphan": "archive"}), MirrorState(items=[], pages={"p1": orphan}, gone=gone), NOW
    )
    assert [op.action for op in result.operations] == ["archive"]
    reported = plan(config(), MirrorState(items=[], pages={"p1": orphan}, gone=gone), NOW)
    assert [op.action for op in reported.operations] == ["stale"] and reported.orphans


def test_a_scope_keeps_other_stale_pages_out_of_the_plan() -> None:
    one = assigned()
    two = assigned(id=2, number=8, url="https://github.com/acme/web/issues/8")
    state = mirror([one, two], [page(one, "p1"), page(two, "p2")])
    assert [
        op.page_id for op in plan(config(), state, NOW, Scope(item_ids={2}, page_ids={"p2"})).operations
    ] == ["p2"]
    assert [op.page_id for op in plan(config(), state, NOW).operations] == ["p1", "p2"]
