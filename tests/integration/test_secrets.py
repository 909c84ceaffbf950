"""Tokens never leave the process: not on stdout, stderr, the log file, the mirror's bytes or the metrics."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from reconcile.sandbox import Fault, Sandbox
from tests.conftest import World, cli

pytestmark = pytest.mark.slow


@pytest.fixture
def setup(sandbox: Sandbox, tmp_path: Path) -> tuple[World, Path, dict[str, str]]:
    """A world whose config reads both tokens from the environment, a SQLite mirror in tmp_path."""
    world = World(sandbox, f"sqlite:///{tmp_path / 'mirror.db'}", sandbox.clock)
    world.issue(title="Secret keeping", labels=["bug"])
    world.issue("acme/api", title="Another", assignees=["alice"])
    config = world.write_config(
        tmp_path / "config.yaml", notion__token="${NOTION_API_KEY}", github__token="${GITHUB_TOKEN}"
    )
    env = {"NOTION_API_KEY": sandbox.notion_token, "GITHUB_TOKEN": sandbox.github_token}
    return world, config, env


def reconcile(
    config: Path, env: dict[str, str], *extra: str
) -> tuple[subprocess.CompletedProcess[str], Path]:
    log = config.parent / "reconcile.log"
    done = cli(
        "run",
        "-c",
        str(config),
        "--log-format",
        "json",
        "--log-level",
        "debug",
        "--log-file",
        str(log),
        *extra,
        env=env,
    )
    return done, log


def everything_written(tmp_path: Path, done: subprocess.CompletedProcess[str]) -> dict[str, bytes]:
    """stdout, stderr and every file the run left in its directory (log, mirror and its journals, metrics)."""
    found = {"stdout": done.stdout.encode(), "stderr": done.stderr.encode()}
    for path in tmp_path.iterdir():
        if path.is_file() and path.name != "config.yaml":
            found[path.name] = path.read_bytes()
    return found


def assert_nowhere(secrets: list[str], places: dict[str, bytes]) -> None:
    for secret in secrets:
        leaks = [name for name, data in places.items() if secret.encode() in data]
        assert leaks == [], f"a token leaked into {leaks}"


def test_a_notion_auth_failure_exits_1_naming_the_variable_and_leaks_no_token(
    setup: tuple[World, Path, dict[str, str]], tmp_path: Path
) -> None:
    world, config, env = setup
    world.sandbox.notion.revoke_token(env["NOTION_API_KEY"])

    done, log = reconcile(config, env, "--format", "json")

    assert done.returncode == 1, done.stderr
    assert "NOTION_API_KEY" in done.stdout + done.stderr
    assert json.loads(done.stdout)["status"] == "failed"
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert any(line["level"] == "ERROR" and "NOTION_API_KEY" in line["event"] for line in lines)
    places = everything_written(tmp_path, done)
    assert {"reconcile.log", "mirror.db"} <= set(places)
    assert_nowhere([env["NOTION_API_KEY"], env["GITHUB_TOKEN"]], places)
    assert world.pages() == []


def test_a_wrong_github_token_exits_1_naming_the_variable_and_leaks_no_token(
    setup: tuple[World, Path, dict[str, str]], tmp_path: Path
) -> None:
    _, config, env = setup
    env["GITHUB_TOKEN"] = "ghp_wrongwrongwrong0123456789abcdefABCDEF"

    done, _ = reconcile(config, env)

    assert done.returncode == 1
    assert "GITHUB_TOKEN" in done.stdout + done.stderr and "acme/web" in done.stdout + done.stderr
    assert_nowhere([env["NOTION_API_KEY"], env["GITHUB_TOKEN"]], everything_written(tmp_path, done))


def test_a_successful_run_and_its_metrics_leak_no_token(
    setup: tuple[World, Path, dict[str, str]], tmp_path: Path
) -> None:
    world, config, env = setup
    metrics = tmp_path / "reconcile.prom"

    done, log = reconcile(config, env, "--metrics-textfile", str(metrics))

    assert done.returncode == 0, done.stderr
    assert len(world.pages()) == 2
    assert "reconcile_api_requests_total" in metrics.read_text(encoding="utf-8")
    assert log.stat().st_size > 0
    assert_nowhere([env["NOTION_API_KEY"], env["GITHUB_TOKEN"]], everything_written(tmp_path, done))


def test_a_run_with_failures_and_retries_leaks_no_token(
    setup: tuple[World, Path, dict[str, str]], tmp_path: Path
) -> None:
    world, config, env = setup
    world.sandbox.faults.add(
        Fault(api="notion", kind="status", status=400, method="POST", path=r"^/v1/pages$", times=1)
    )
    world.sandbox.faults.add(Fault(api="github", kind="status", status=502, times=1))
    world.sandbox.faults.add(
        Fault(api="notion", kind="lost_response", method="POST", path=r"^/v1/pages$", times=1)
    )

    done, _ = reconcile(config, env, "--format", "json", "--metrics-textfile", str(tmp_path / "m.prom"))

    assert done.returncode == 3, done.stderr
    assert json.loads(done.stdout)["failed"] == 1
    assert_nowhere([env["NOTION_API_KEY"], env["GITHUB_TOKEN"]], everything_written(tmp_path, done))
