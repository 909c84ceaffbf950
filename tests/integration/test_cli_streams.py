"""Formats and streams: one JSON object per command (also on failure), `-` for stdin/stdout, no tokens
for read-only commands, options from RECONCILE_* variables, shell completion, restore's reach."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reconcile.clock import FakeClock
from reconcile.sandbox import Sandbox
from tests.conftest import World, cli

TOKENLESS = {"notion__token": "${NOTION_API_KEY}", "github__token": "${GITHUB_TOKEN}"}

# Every command that prints a result, with the arguments it needs to succeed on a synced board.
COMMANDS: list[list[str]] = [
    ["run"],
    ["run", "--dry-run"],
    ["pull"],
    ["plan"],
    ["apply"],
    ["backfill", "--since", "2020-01-01T00:00:00Z"],
    ["refresh", "--item", "acme/web#1"],
    ["stale", "--no-pull"],
    ["status"],
    ["reset", "--clear-locks"],
    ["reset", "--retry-failed"],
    ["restore", "--as-of", "2100-01-01T00:00:00Z", "--dry-run"],
    ["schema", "check"],
    ["schema", "fix"],
    ["health"],
    ["db", "upgrade"],
    ["export"],
    ["page", "set", "acme/web#1", "Priority=High"],
    ["pause"],
    ["resume"],
]


@pytest.fixture
def board(sandbox: Sandbox, sqlite_url: str, clock: FakeClock, tmp_path: Path) -> tuple[World, str]:
    world = World(sandbox, sqlite_url, clock)
    world.issue(title="One")
    world.issue("acme/api", title="Two")
    config = str(world.write_config(tmp_path / "config.yaml"))
    assert cli("run", "-c", config).returncode == 0
    world.sandbox.reset_counts()
    return world, config


def one_json_object(text: str) -> dict[str, object]:
    body = json.loads(text)  # the whole of stdout: one object, nothing before or after it
    assert isinstance(body, dict)
    return body


def test_every_command_prints_one_json_object_on_success(board: tuple[World, str]) -> None:
    _, config = board
    for args in COMMANDS:
        done = cli(*args, "--format", "json", "-c", config)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        body = one_json_object(done.stdout)
        assert "error" not in body, (args, body)


def test_every_command_prints_one_json_object_with_an_error_when_it_fails(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.yaml")
    for args in COMMANDS:
        done = cli(*args, "--format", "json", "-c", missing, cwd=tmp_path)
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        body = one_json_object(done.stdout)
        error = body["config"]["error"] if args == ["health"] else body["error"]  # type: ignore[index]
        assert "missing.yaml" in str(error), (args, body)
        assert "Traceback" not in done.stderr, (args, done.stderr)
        # one line on stderr: `error: ...`, or for a run that could not start its FAILED outcome line
        (line,) = done.stderr.strip().splitlines() if args != ["health"] else ["error: health"]
        assert line.startswith("error: ") or " FAILED: " in line, (args, done.stderr)
    health = one_json_object(cli("health", "--format", "json", "-c", missing).stdout)
    assert health["status"] == "error" and set(health) >= {"notion", "github", "mirror", "last_run"}
    run = one_json_object(cli("run", "--format", "json", "-c", missing).stdout)
    assert set(run) >= {"run_id", "status", "pulled", "summary", "applied", "failed", "deferred", "failures"}


def test_json_errors_from_the_apis_keep_each_commands_shape(board: tuple[World, str]) -> None:
    world, config = board
    world.sandbox.notion.revoke_token(world.sandbox.notion_token)
    for args in (["plan"], ["stale"], ["schema", "check"], ["reset", "--retry-failed"], ["pull"]):
        done = cli(*args, "--format", "json", "-c", config)
        assert done.returncode == 1, (args, done.stdout)
        assert "NOTION_API_KEY" in str(one_json_object(done.stdout)["error"]), args
    check = one_json_object(cli("schema", "check", "--format", "json", "-c", config).stdout)
    assert check["ok"] is False and check["problems"] == []


def test_markdown_links_items_to_github_and_pages_to_notion(board: tuple[World, str]) -> None:
    world, config = board
    world.sandbox.github.update_issue("acme/web", 1, state="closed", state_reason="completed")
    page_id = world.page_for("https://github.com/acme/web/issues/1")["id"]

    markdown = cli("plan", "--format", "markdown", "-c", config).stdout

    assert "[acme/web#1](https://github.com/acme/web/issues/1)" in markdown
    assert f"(https://www.notion.so/{page_id.replace('-', '')})" in markdown
    for args in (["status"], ["pull"], ["schema", "check"], ["health"], ["db", "upgrade"]):
        done = cli(*args, "--format", "markdown", "-c", config)
        assert done.returncode == 0 and done.stdout.startswith("### "), (args, done.stdout)


def test_plan_out_dash_piped_into_apply_dash_applies_the_plan(board: tuple[World, str]) -> None:
    world, config = board
    world.issue(title="Three")
    world.sandbox.github.update_issue("acme/web", 1, state="closed", state_reason="completed")
    world.sandbox.reset_counts()
    command = [sys.executable, "-m", "reconcile"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTION_", "GITHUB_", "RECONCILE_"))}

    plan = subprocess.run(
        [*command, "plan", "--out", "-", "-c", config], env=env, capture_output=True, text=True, timeout=120
    )
    applied = subprocess.run(
        [*command, "apply", "-", "--format", "json", "-c", config],
        input=plan.stdout,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert plan.returncode == 0 and json.loads(plan.stdout)["summary"]["create"] == 1
    assert "Plan: 1 to create, 1 to update" in plan.stderr
    assert applied.returncode == 0, applied.stderr
    assert json.loads(applied.stdout)["applied"] == 2 and world.notion_writes() == 2
    assert not (Path(config).parent / "-").exists()


def test_read_only_commands_run_without_tokens(board: tuple[World, str], tmp_path: Path) -> None:
    world, _ = board
    config = str(world.write_config(tmp_path / "tokenless.yaml", **TOKENLESS))
    world.sandbox.reset_counts()

    for args in (["status"], ["stale", "--no-pull"], ["plan", "--no-pull"], ["export", "--from-mirror"]):
        done = cli(*args, "-c", config)
        assert done.returncode == 0, (args, done.stderr)
    assert world.sandbox.count() == 0
    needs = cli("plan", "-c", config)  # pulling does need them, and says which
    assert needs.returncode == 1 and ("GITHUB_TOKEN" in needs.stderr or "NOTION_API_KEY" in needs.stderr)


def test_options_come_from_reconcile_variables(board: tuple[World, str]) -> None:
    _, config = board
    env = {"RECONCILE_CONFIG": config, "RECONCILE_PLAN_FORMAT": "json", "RECONCILE_PLAN_NO_PULL": "1"}

    done = cli("plan", env=env)

    assert done.returncode == 0, done.stderr
    assert one_json_object(done.stdout)["format_version"] == 1


def test_shell_completion_script() -> None:
    done = cli(env={"_RECONCILE_COMPLETE": "bash_source"})
    assert done.returncode == 0 and "_RECONCILE_COMPLETE=bash_complete" in done.stdout


def test_restore_before_the_mirrors_history_says_how_far_back_it_reaches(board: tuple[World, str]) -> None:
    world, config = board

    done = cli("restore", "--as-of", "2001-01-01T00:00:00Z", "-c", config)
    as_json = cli("restore", "--as-of", "2001-01-01T00:00:00Z", "--format", "json", "-c", config)

    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert "is before the mirror's history, which reaches back to 20" in done.stderr
    assert "reaches back to" in str(one_json_object(as_json.stdout)["error"])
    assert world.notion_writes() == 0
