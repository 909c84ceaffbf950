"""Convergence under a hostile Notion: 15% of requests fail, 5% of creates lose their answer; <= 3 runs."""

from __future__ import annotations

from typing import Any

import pytest

from reconcile.clients.github import item_from_api
from reconcile.clients.notion import page_from_api
from reconcile.clock import FakeClock
from reconcile.config import Config
from reconcile.mapping import expected
from reconcile.sandbox import Fault, Sandbox
from reconcile.values import equal
from tests.conftest import REPOS, World

ITEMS = 40
MAX_RUNS = 3
PAGES = r"^/v1/pages$"


def hostile(sandbox: Sandbox) -> None:
    """About 15% of Notion requests fail, in every way Notion fails; 5% of creates are done but unanswered."""
    faults = sandbox.faults
    faults.add(Fault(api="notion", kind="lost_response", method="POST", path=PAGES, probability=0.05))
    faults.add(Fault(api="notion", kind="status", status=429, probability=0.04, retry_after=2))
    for status in (500, 502, 503, 529):
        faults.add(Fault(api="notion", kind="status", status=status, probability=0.02))
    faults.add(Fault(api="notion", kind="reset", probability=0.02))
    faults.add(Fault(api="notion", kind="slow", delay=0.6, probability=0.01))


def make_items(world: World) -> list[dict[str, Any]]:
    """A mix of issues and PRs over both repos: labels, assignees, closed ones, drafts."""
    made = []
    for n in range(ITEMS):
        fields: dict[str, Any] = {"title": f"Item {n}: {'x' * (n % 7)}"}
        if n % 3 == 0:
            fields["labels"] = ["bug", "priority: high"] if n % 2 else ["enhancement"]
        if n % 4 == 1:
            fields["assignees"] = ["alice"]
        if n % 5 == 2:
            fields.update(state="closed", state_reason="not_planned" if n % 2 else "completed")
        if n % 6 == 3:
            fields.update(pull_request=True, draft=n % 12 == 3)
        made.append(world.issue(REPOS[n % 2], **fields))
    return made


def mismatches(world: World, config: Config) -> list[str]:
    """Every way Notion differs from exactly one page per item with the mapped values."""
    problems = []
    by_key = world.pages_by_key()
    urls = set()
    for repo in REPOS:
        for raw in world.sandbox.github.issues(repo):
            item = item_from_api(raw)
            urls.add(item.url)
            pages = by_key.get(item.url, [])
            if len(pages) != 1:
                problems.append(f"{item.url}: {len(pages)} pages")
                continue
            page = page_from_api(pages[0], config.mapping.key)
            for name, prop in expected(config.mapping, item).items():
                if not equal(prop.type, page.value(name), prop.value):
                    problems.append(f"{item.url} {name}: {page.value(name)!r} != {prop.value!r}")
    problems += [f"{key}: no such item" for key in by_key if key not in urls]
    return problems


@pytest.mark.parametrize("seed", [5, 8, 24])  # seeds whose faults hit creates: lost, timed out
def test_a_hostile_notion_converges_within_three_runs_then_stays_still(
    mirror_url: str, clock: FakeClock, seed: int
) -> None:
    with Sandbox(clock=clock, seed=seed, validate_requests=True) as sandbox:
        world = World(sandbox, mirror_url, clock)
        world.overrides = {"notion__timeout_seconds": 0.3}
        make_items(world)
        hostile(sandbox)
        config = world.config()

        runs, problems = 0, ["not run yet"]
        while problems and runs < MAX_RUNS:
            world.run()
            runs += 1
            assert sandbox.drain()  # the gap between cron runs: slow requests finish
            clock.advance(300)
            problems = mismatches(world, config)

        assert problems == [], f"after {runs} runs: {problems[:5]}"
        failed = [r for r in sandbox.requests if r.api == "notion" and r.status not in (200, None)]
        dropped = [r for r in sandbox.requests if r.api == "notion" and r.status is None]
        lost = [r for r in dropped if r.fault == "lost_response"]
        assert failed and lost  # the faults really happened
        writes = world.notion_writes()

        still = world.run()

        assert still.status == "ok", still.error
        assert still.plan is not None and still.plan.writes == ()
        assert world.notion_writes() == writes
        assert mismatches(world, config) == []
        assert len(world.pages()) == ITEMS


def test_lost_answers_to_many_creates_never_duplicate_a_page(mirror_url: str, clock: FakeClock) -> None:
    with Sandbox(clock=clock, seed=5) as sandbox:
        world = World(sandbox, mirror_url, clock)
        make_items(world)
        sandbox.faults.add(
            Fault(api="notion", kind="lost_response", method="POST", path=PAGES, probability=0.3)
        )

        result = world.run()

        assert result.status == "ok", result.error
        lost = [r for r in sandbox.requests if r.fault == "lost_response"]
        assert len(lost) >= 5
        assert sandbox.count("notion", method="POST", path=PAGES) == ITEMS  # none sent twice
        assert mismatches(world, world.config()) == []
