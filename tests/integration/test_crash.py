"""Kill the real command (SIGKILL) at many points of a run; the next run must converge.

The sandbox parks a chosen request (a `hold` fault) and tells the test when it arrived, so the process
is killed at exactly that point: before a write reaches Notion, after Notion did it but before the
outcome was journalled, in the middle of a batch, during a pull, during recovery. On SQLite and on
the real PostgreSQL server.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconcile.clock import SystemClock
from reconcile.sandbox import Fault, Sandbox
from tests.conftest import World

pytestmark = pytest.mark.slow
ITEMS = 12


@pytest.fixture
def live(mirror_url: str) -> Iterator[World]:
    """A world on the real clock, for runs in a child process."""
    with Sandbox(clock=SystemClock(), seed=3) as sandbox:
        world = World(sandbox, mirror_url, SystemClock())
        world.overrides = {"apply__batch_size": 5}
        for n in range(ITEMS):
            world.issue(
                "acme/web" if n % 2 else "acme/api",
                title=f"Item {n}",
                labels=["bug"] if n % 3 else [],
                assignees=["alice"] if n % 4 == 0 else [],
            )
        yield world


def start(world: World, tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    config = world.write_config(tmp_path / "config.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTION_", "GITHUB_", "RECONCILE_"))}
    return subprocess.Popen(
        [sys.executable, "-m", "reconcile", *args, "-c", str(config)],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def kill_when_held(world: World, tmp_path: Path, fault: Fault, *args: str) -> None:
    """Run the command until the held request arrives, SIGKILL it there, then let the request go."""
    world.sandbox.faults.add(fault)
    process = start(world, tmp_path, "run", *args)
    try:
        assert fault.arrived.wait(60), f"the held request never came: {process.communicate(timeout=60)}"
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
        fault.release()
        world.sandbox.faults.clear()
        assert world.sandbox.drain(30)
    assert process.returncode == -signal.SIGKILL


def assert_converged(world: World) -> None:
    """One page per item, every value as the mapping says: a fresh plan has nothing to write."""
    result = world.run()
    assert result.status == "ok", result.error
    pages = world.pages_by_key()
    urls = {
        issue["html_url"] for repo in ("acme/web", "acme/api") for issue in world.sandbox.github.issues(repo)
    }
    assert set(pages) == urls
    assert all(len(found) == 1 for found in pages.values()), {
        k: len(v) for k, v in pages.items() if len(v) > 1
    }
    again = world.run()
    assert again.plan is not None and again.plan.writes == ()


def creates(after: int = 0, process: bool = False) -> Fault:
    return Fault(
        api="notion", kind="hold", method="POST", path=r"^/v1/pages$", times=1, after=after, process=process
    )


def test_killed_before_a_create_reached_notion(live: World, tmp_path: Path) -> None:
    kill_when_held(live, tmp_path, creates(after=3, process=False))
    assert len(live.pages()) == 3
    assert_converged(live)


def test_killed_after_notion_created_the_page_but_before_the_outcome_was_journalled(
    live: World, tmp_path: Path
) -> None:
    kill_when_held(live, tmp_path, creates(after=0, process=True))
    assert len(live.pages()) == 1  # made, and the job never heard of it
    assert_converged(live)


def test_killed_in_the_middle_of_the_second_batch(live: World, tmp_path: Path) -> None:
    kill_when_held(live, tmp_path, creates(after=7, process=True))
    assert len(live.pages()) == 8
    assert_converged(live)


def test_killed_during_an_update_after_notion_applied_it(live: World, tmp_path: Path) -> None:
    live.run()
    for repo in ("acme/web", "acme/api"):
        for issue in live.sandbox.github.issues(repo)[:3]:
            live.sandbox.github.update_issue(repo, issue["number"], state="closed", state_reason="completed")
    hold = Fault(
        api="notion", kind="hold", method="PATCH", path=r"^/v1/pages/", times=1, after=2, process=True
    )
    kill_when_held(live, tmp_path, hold)
    assert_converged(live)


def test_killed_during_the_pull(live: World, tmp_path: Path) -> None:
    kill_when_held(live, tmp_path, Fault(api="notion", kind="hold", method="POST", path=r"/query$", times=1))
    assert live.pages() == []
    assert_converged(live)


def test_killed_again_while_recovering_from_the_first_kill(live: World, tmp_path: Path) -> None:
    kill_when_held(live, tmp_path, creates(after=4, process=True))
    # the next run starts by looking up the create it cannot be sure of: kill it right there
    kill_when_held(live, tmp_path, Fault(api="notion", kind="hold", method="POST", path=r"/query$", times=1))
    assert len(live.pages()) == 5
    assert_converged(live)


def test_two_runs_started_together_one_exits_75_and_nothing_is_duplicated(
    live: World, tmp_path: Path
) -> None:
    hold = live.sandbox.faults.add(creates(after=2, process=False))
    first = start(live, tmp_path, "run")
    try:
        assert hold.arrived.wait(60)
        second = start(live, tmp_path, "run", "--format", "json")
        out, err = second.communicate(timeout=60)
        assert second.returncode == 75, err
        assert '"status": "locked"' in out
        assert "another run holds the lock" in err
    finally:
        hold.release()
        live.sandbox.faults.clear()
    assert first.wait(60) == 0, first.communicate()
    assert_converged(live)


def test_a_lock_left_by_a_killed_run_does_not_block_the_next(live: World, tmp_path: Path) -> None:
    kill_when_held(live, tmp_path, creates(after=1))
    process = start(live, tmp_path, "run")
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "taking over the lock" in err
    assert_converged(live)
