"""Notion keeps date-times to the minute: timestamps with seconds never make a write by themselves."""

from __future__ import annotations

from datetime import timedelta

from reconcile.clock import FakeClock
from tests.conftest import REPOS, START, World

ITEMS = 1000


def test_a_thousand_items_with_seconds_converge_in_one_run(world: World, clock: FakeClock) -> None:
    for n in range(ITEMS):
        stamp = START - timedelta(days=n % 30, seconds=7 * n + 13)  # seconds everywhere, never :00
        world.issue(REPOS[n % 2], title=f"Item {n}", created_at=stamp, updated_at=stamp)

    first = world.run()
    assert first.status == "ok", first.error
    assert len(world.pages()) == ITEMS
    assert all(
        page["properties"]["Last Updated"]["date"]["start"][17:] == "00.000+00:00" for page in world.pages()
    )
    for _ in range(2):
        clock.advance(97)
        before = world.notion_writes()
        again = world.run()
        assert again.status == "ok", again.error
        assert again.plan is not None and again.plan.writes == ()
        assert world.notion_writes() == before


def test_a_change_within_the_minute_writes_nothing_and_across_it_once(world: World, clock: FakeClock) -> None:
    issue = world.issue(title="Seconds matter not")  # updated 12:00:37
    assert world.run().status == "ok"
    page = world.page_for(issue["html_url"])
    assert page["properties"]["Last Updated"]["date"]["start"] == "2026-01-10T12:00:00.000+00:00"

    clock.advance(10)
    world.sandbox.github.update_issue("acme/web", issue["number"], body="edited at 12:00:47")
    before = world.notion_writes()
    same_minute = world.run()
    assert same_minute.status == "ok", same_minute.error
    assert world.notion_writes() == before

    clock.advance(30)
    world.sandbox.github.update_issue("acme/web", issue["number"], body="edited at 12:01:17")
    next_minute = world.run()
    assert next_minute.status == "ok", next_minute.error
    assert world.notion_writes() == before + 1
    updated = world.page_for(issue["html_url"])
    assert updated["properties"]["Last Updated"]["date"]["start"] == "2026-01-10T12:01:00.000+00:00"
