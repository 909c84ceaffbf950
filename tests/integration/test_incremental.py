"""Runs plan what could have changed, not what exists: the dirty set since the last applied plan,
everything when the mapping changed, and the journal's failed and deferred operations."""

from __future__ import annotations

from reconcile.clock import FakeClock
from reconcile.sandbox import Fault
from tests.conftest import MAPPING, World

ITEMS = 30


def converged(world: World, clock: FakeClock) -> None:
    """Items with pages, and runs until nothing is left to look at (the pulls' lookbacks passed)."""
    for n in range(ITEMS):
        world.issue(title=f"Item {n}", labels=["bug"] if n % 3 else [])
    assert world.run().status == "ok"
    for _ in range(2):
        clock.advance(600)
        assert world.run().status == "ok"


def test_a_steady_run_plans_nothing_and_one_change_plans_about_one_item(
    world: World, clock: FakeClock
) -> None:
    converged(world, clock)
    clock.advance(600)
    steady = world.run()
    assert steady.plan is not None and steady.plan.planned == 0 and steady.plan.writes == ()
    assert steady.plan.summary()["unchanged"] == ITEMS and steady.plan.linked == ITEMS

    issue = world.sandbox.github.issues("acme/web")[4]
    world.sandbox.github.update_issue("acme/web", issue["number"], state="closed")
    clock.advance(600)
    writes = world.notion_writes()
    changed = world.run()

    assert changed.plan is not None and 1 <= changed.plan.planned <= 2
    assert [op.key for op in changed.plan.writes] == [issue["html_url"]]
    assert world.notion_writes() == writes + 1
    assert changed.plan.summary()["unchanged"] == ITEMS - 1


def test_a_mapping_change_re_plans_every_page(world: World, clock: FakeClock) -> None:
    converged(world, clock)
    clock.advance(600)
    mapping = {**MAPPING, "properties": {**MAPPING["properties"]}}
    mapping["properties"]["Name"] = {"type": "title", "value": "{title} (#{number})"}

    result = world.run(mapping=mapping, apply__max_change_ratio=1)

    assert result.status == "ok", result.error
    assert result.plan is not None and result.plan.planned == ITEMS
    assert len(result.plan.writes) == ITEMS
    clock.advance(600)
    again = world.run(mapping=mapping, apply__max_change_ratio=1)
    assert again.plan is not None and again.plan.writes == ()


def test_failed_and_deferred_operations_are_retried_without_a_full_plan(
    world: World, clock: FakeClock
) -> None:
    converged(world, clock)
    issues = world.sandbox.github.issues("acme/web")[:5]
    for issue in issues:
        world.sandbox.github.update_issue("acme/web", issue["number"], state="closed")
    clock.advance(600)
    broken = world.page_for(issues[0]["html_url"])["id"]
    world.sandbox.faults.add(
        Fault(api="notion", kind="status", status=400, method="PATCH", path=broken, times=1)
    )

    first = world.run(apply__max_writes_per_run=3)
    assert first.applied.failed == 1 and first.applied.deferred == 2

    clock.advance(600)
    second = world.run(apply__max_writes_per_run=3)
    assert second.status == "ok", second.error
    assert second.plan is not None and second.plan.planned < ITEMS
    assert {op.key for op in second.plan.writes} == {
        issues[0]["html_url"],
        *(i["html_url"] for i in issues[3:]),
    }
    clock.advance(600)
    third = world.run()
    assert third.plan is not None and third.plan.writes == ()
