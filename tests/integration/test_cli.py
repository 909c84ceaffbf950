"""The installed command as cron and operators use it: options, exit codes, JSON, errors, logs, metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconcile.mirror.db import head_revision
from tests.conftest import World, cli


@pytest.fixture
def config(world: World, tmp_path: Path) -> str:
    world.issue(title="One", labels=["bug"])
    world.issue("acme/api", title="Two", assignees=["alice"])
    return str(world.write_config(tmp_path / "config.yaml"))


def test_usage_errors_exit_1_so_that_2_always_means_changes_pending(tmp_path: Path) -> None:
    for args in (["run", "--no-such-flag"], ["backfill"], ["frobnicate"], ["run", "--since", "yesterday"]):
        done = cli(*args, cwd=tmp_path)
        assert done.returncode == 1, (args, done.stderr)
        assert "Traceback" not in done.stderr


def test_help_lists_every_command_of_the_contract() -> None:
    done = cli("--help")
    for command in (
        "run",
        "pull",
        "plan",
        "apply",
        "backfill",
        "stale",
        "schema",
        "health",
        "status",
        "reset",
        "refresh",
        "restore",
        "db",
        "demo",
    ):
        assert f"  {command} " in done.stdout
    assert cli("run", "--help").returncode == 0


def test_a_bad_config_is_one_line_and_exit_1(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("version: 1\napply:\n  batch_sise: 3\n")
    done = cli("run", "-c", str(path))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "config.yaml:3: apply.batch_sise: unknown key (did you mean batch_size?)" in done.stderr


def test_common_options_go_before_or_after_the_command(world: World, config: str, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    before = cli("-c", config, "--log-format", "json", "--log-file", str(log), "run", "--dry-run")
    after = cli("run", "--dry-run", "-c", config, "--log-level", "warning")
    assert before.returncode == 0, before.stderr
    assert after.returncode == 0, after.stderr
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert entries and all({"ts", "level", "event"} <= set(entry) for entry in entries)
    assert after.stderr.strip() == ""  # warnings only, and there were none


def test_run_prints_one_json_object_and_exits_by_the_contract(world: World, config: str) -> None:
    dry = cli("run", "--dry-run", "--detailed-exitcode", "--format", "json", "-c", config)
    assert dry.returncode == 2, dry.stderr
    assert json.loads(dry.stdout)["summary"]["create"] == 2

    done = cli("run", "--format", "json", "-c", config)
    result = json.loads(done.stdout)
    assert done.returncode == 0, done.stderr
    assert set(result) >= {
        "run_id",
        "status",
        "pulled",
        "summary",
        "applied",
        "failed",
        "deferred",
        "failures",
    }
    assert (result["status"], result["applied"], result["failed"]) == ("ok", 2, 0)
    assert result["pulled"]["github"] == 2

    again = cli("run", "--dry-run", "--detailed-exitcode", "-c", config)
    assert again.returncode == 0 and "No changes" in again.stdout


def test_a_failed_run_still_prints_its_json_and_exits_1(world: World, config: str) -> None:
    world.sandbox.notion.revoke_token(world.sandbox.notion_token)
    done = cli("run", "--format", "json", "-c", config)
    assert done.returncode == 1
    result = json.loads(done.stdout)
    assert result["status"] == "failed" and "NOTION_API_KEY" in result["error"]


def test_plan_formats(world: World, config: str) -> None:
    text = cli("plan", "-c", config)
    markdown = cli("plan", "--format", "markdown", "-c", config)
    data = json.loads(cli("plan", "--format", "json", "--no-pull", "-c", config).stdout)
    assert "+ create" in text.stdout and "Plan: 2 to create" in text.stdout
    assert markdown.stdout.startswith("### reconcile plan") and "| + create |" in markdown.stdout
    assert data["format_version"] == 1 and data["operations"][0]["github"]["repo"] in ("acme/web", "acme/api")
    assert world.notion_writes() == 0


def test_db_upgrade_creates_the_mirror(world: World, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    done = cli("db", "upgrade", env={"RECONCILE_DATABASE_URL": url}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"revision {head_revision()}" in done.stdout and (tmp_path / "fresh.db").exists()


def test_metrics_textfile(world: World, config: str, tmp_path: Path) -> None:
    metrics = tmp_path / "reconcile.prom"
    assert cli("run", "--metrics-textfile", str(metrics), "-c", config).returncode == 0
    text = metrics.read_text()
    for name in (
        "notion_sync_failures_total",
        "reconcile_operations_total",
        "reconcile_api_requests_total",
        "reconcile_last_success_timestamp_seconds",
        "reconcile_run_duration_seconds",
        "reconcile_stale_pages",
        "reconcile_drift_items",
    ):
        assert name in text
    assert 'reconcile_operations_total{action="create",result="applied"} 2.0' in text


def test_health_checks_both_tokens_the_mirror_and_the_schema(world: World, config: str) -> None:
    assert cli("run", "-c", config).returncode == 0
    done = cli("health", "--format", "json", "-c", config)
    report = json.loads(done.stdout)
    assert done.returncode == 0, done.stdout
    assert report["status"] == "ok"
    assert {report[part]["status"] for part in ("notion", "github", "mirror")} == {"ok"}
    assert report["last_run"]["finished_at"] is not None

    world.sandbox.github.revoke_token(world.sandbox.github_token)
    broken = json.loads(cli("health", "--format", "json", "-c", config).stdout)
    assert broken["status"] == "error" and "GITHUB_TOKEN" in broken["github"]["error"]


def test_schema_check_and_fix(world: World, tmp_path: Path) -> None:
    world.overrides = {
        "mapping__properties__Milestone": {"type": "select", "value": "{milestone}"},
        "mapping__properties__Status__rules": [
            {"if": {"state": "closed"}, "then": "Shipped"},
            {"then": "Backlog"},
        ],
    }
    config = str(world.write_config(tmp_path / "config.yaml"))

    check = cli("schema", "check", "--format", "json", "-c", config)
    problems = {(p["property"], p["problem"], p["expected"]) for p in json.loads(check.stdout)["problems"]}
    assert check.returncode == 1
    assert problems == {
        ("Milestone", "missing", "select"),
        ("Status", "missing_option", "Shipped"),
        ("Repository", "missing_option", "acme/web"),
        ("Repository", "missing_option", "acme/api"),
    }

    fixed = cli("schema", "fix", "-c", config)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert cli("schema", "check", "-c", config).returncode == 0
    assert "Shipped" in {
        o["name"] for o in world.sandbox.notion.schema(world.database_id)["Status"]["select"]["options"]
    }


def test_a_bad_reconcile_now_is_a_clear_error(config: str) -> None:
    done = cli("stale", "--no-pull", "-c", config, env={"RECONCILE_NOW": "last tuesday"})
    assert done.returncode == 1 and "RECONCILE_NOW" in done.stderr and "Traceback" not in done.stderr


def test_db_upgrade_needs_only_the_mirror_url(tmp_path: Path) -> None:
    bare = cli("db", "upgrade", cwd=tmp_path)  # no config at all: the default SQLite file
    assert bare.returncode == 0 and (tmp_path / "reconcile.db").exists()
    (tmp_path / "config.yaml").write_text(
        "version: 1\nmirror:\n  url: sqlite:///${HERE}/m.db\ngithub:\n  token: ${GITHUB_TOKEN}\n"
    )
    done = cli("db", "upgrade", cwd=tmp_path, env={"HERE": str(tmp_path)})  # tokens need not be set for this
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "m.db").exists()


def test_health_with_a_broken_config_still_answers_in_its_shape(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("version: 1\ngithub: {repos: [acme/web]}\n")
    done = cli("health", "--format", "json", "-c", str(path))
    report = json.loads(done.stdout)
    assert done.returncode == 1
    assert report["status"] == "error" and "notion" in report["config"]["error"]
    assert {report[part]["status"] for part in ("notion", "github", "mirror", "last_run")} == {"unknown"}
