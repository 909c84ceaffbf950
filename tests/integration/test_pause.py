"""`reconcile pause` / `resume` over the sandbox: a paused board is written nothing, then catches up."""

from __future__ import annotations

import json
from pathlib import Path

from reconcile.clock import FakeClock
from reconcile.sandbox import Sandbox
from tests.conftest import World, cli
from tests.integration.test_end_to_end import value


def test_a_paused_run_writes_nothing_and_resume_applies_exactly_what_is_pending(
    world: World, tmp_path: Path
) -> None:
    first = world.issue(title="Before the pause")
    config = str(world.write_config(tmp_path / "config.yaml"))
    assert cli("run", "-c", config).returncode == 0

    paused = cli("pause", "--reason", "moving the board", "-c", config)
    assert paused.returncode == 0, paused.stderr
    assert "paused since" in paused.stdout and "moving the board" in paused.stdout
    world.issue(title="During the pause")
    world.sandbox.github.update_issue("acme/web", first["number"], state="closed", state_reason="completed")
    world.sandbox.reset_counts()

    done = cli("run", "--format", "json", "-c", config)

    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert (body["status"], body["applied"]) == ("paused", 0)
    assert body["paused"]["reason"] == "moving the board"
    assert world.sandbox.count(api="notion") == 0  # not even a read
    status = json.loads(cli("status", "--format", "json", "-c", config).stdout)
    assert status["paused"]["reason"] == "moving the board"
    assert status["runs"][0]["status"] == "paused"

    resumed = cli("resume", "-c", config)
    assert resumed.returncode == 0 and "resumed" in resumed.stdout
    caught_up = json.loads(cli("run", "--format", "json", "-c", config).stdout)

    assert caught_up["status"] == "ok" and "paused" not in caught_up
    assert (caught_up["summary"]["create"], caught_up["summary"]["update"], caught_up["applied"]) == (1, 1, 2)
    assert world.notion_writes() == 2
    assert value(world.page_for(first["html_url"]), "Status") == "Done"
    assert json.loads(cli("status", "--format", "json", "-c", config).stdout)["paused"] is None


def test_every_command_that_writes_writes_nothing_while_paused(
    sandbox: Sandbox, sqlite_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    world = World(sandbox, sqlite_url, clock)
    issue = world.issue(title="Frozen", assignees=["alice"])
    world.overrides = {"mapping__properties__Milestone": {"type": "select", "value": "{milestone}"}}
    config = str(world.write_config(tmp_path / "config.yaml"))
    assert cli("run", "-c", config).returncode == 3  # the database has no Milestone: a schema problem
    page_id = world.page_for(issue["html_url"])["id"]
    world.sandbox.github.update_issue("acme/web", issue["number"], state="closed", state_reason="completed")
    assert cli("pause", "-c", config).returncode == 0
    world.sandbox.reset_counts()

    for args in (
        ["run"],
        ["apply"],
        ["backfill", "--since", "2020-01-01T00:00:00Z"],
        ["refresh", "--item", f"acme/web#{issue['number']}"],
        ["restore", "--as-of", "2100-01-01T00:00:00Z"],
        ["page", "set", page_id, "Status=Backlog"],
        ["reset", "--retry-failed"],
    ):
        done = cli(*args, "--format", "json", "-c", config)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        assert json.loads(done.stdout)["status"] == "paused", args
    fix = cli("schema", "fix", "--format", "json", "-c", config)
    assert fix.returncode == 0, fix.stderr
    assert json.loads(fix.stdout)["status"] == "paused" and json.loads(fix.stdout)["ok"] is False

    assert world.notion_writes() == 0
    assert value(world.page_for(issue["html_url"]), "Status") == "In Progress"


def test_pause_and_resume_need_no_tokens_and_pausing_twice_keeps_the_first_time(
    world: World, tmp_path: Path
) -> None:
    config = str(
        world.write_config(
            tmp_path / "config.yaml", notion__token="${NOTION_API_KEY}", github__token="${GITHUB_TOKEN}"
        )
    )
    first = json.loads(cli("pause", "--format", "json", "-c", config).stdout)
    again = json.loads(cli("pause", "--reason", "still", "--format", "json", "-c", config).stdout)

    assert first["status"] == again["status"] == "paused"
    assert again["paused"] == {"since": first["paused"]["since"], "reason": "still"}
    text = cli("status", "-c", config)
    assert text.returncode == 0 and "PAUSED since" in text.stdout and "still" in text.stdout
    lifted = json.loads(cli("resume", "--format", "json", "-c", config).stdout)
    assert lifted["resumed"]["reason"] == "still"
    assert json.loads(cli("resume", "--format", "json", "-c", config).stdout)["resumed"] is None
