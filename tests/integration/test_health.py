"""`reconcile health` means it: a stale last success or a failed last `run` is unhealthy (exit 1).

Only `run` counts (a `refresh` proves nothing about the schedule), RECONCILE_NOW is "now", a SQLite
mirror not created yet is fine, and the text output is for people: no Python reprs, the GitHub rate
limit's headroom shown.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from reconcile.sandbox import Fault, Sandbox
from tests.conftest import World, cli

pytestmark = pytest.mark.slow


@pytest.fixture
def setup(sandbox: Sandbox, tmp_path: Path) -> tuple[World, str]:
    world = World(sandbox, f"sqlite:///{tmp_path / 'mirror.db'}", sandbox.clock)
    world.issue(title="One", labels=["bug"])
    world.issue("acme/api", title="Two", assignees=["alice"])
    return world, str(world.write_config(tmp_path / "config.yaml", health={"max_age": "2h"}))


def health(config: str, now: str | None = None, fmt: str = "json") -> tuple[int, str]:
    done = cli("health", "--format", fmt, "-c", config, env={"RECONCILE_NOW": now} if now else None)
    return done.returncode, done.stdout


def finished_at(config: str) -> str:
    return json.loads(health(config)[1])["last_run"]["finished_at"]


def later(instant: str, hours: float) -> str:
    from datetime import timedelta

    from reconcile.model import iso, parse_instant

    return iso(parse_instant(instant) + timedelta(hours=hours))


def test_a_new_setup_is_healthy_before_its_first_run(setup: tuple[World, str], tmp_path: Path) -> None:
    _, config = setup
    code, text = health(config, fmt="text")
    # before its first writes the sample database lacks the Repository options: that alone is flagged
    assert code == 1 and re.findall(r"^  (\w+)\s+error", text, re.M) == ["schema"], text
    assert re.search(r"mirror\s+ok\s+not created yet: the first run creates it", text)
    assert re.search(r"last_run\s+ok\s+no run yet", text)
    assert not (tmp_path / "mirror.db").exists()  # looking did not create it


def test_the_last_success_older_than_max_age_is_unhealthy(setup: tuple[World, str]) -> None:
    _, config = setup
    assert cli("run", "-c", config).returncode == 0
    at = finished_at(config)
    assert health(config, now=later(at, 1.5))[0] == 0  # within health.max_age (2h)
    code, out = health(config, now=later(at, 3))
    report = json.loads(out)
    assert code == 1 and report["status"] == "error"
    assert report["last_run"]["error"] == (
        "the last successful run was 3 h ago, more than health.max_age (2 h)"
    )
    assert report["last_run"]["age_seconds"] == 3 * 3600 and report["last_run"]["max_age_seconds"] == 7200


def test_only_run_counts_as_a_success(setup: tuple[World, str]) -> None:
    _, config = setup
    assert cli("run", "-c", config).returncode == 0
    at = finished_at(config)
    assert cli("refresh", "--item", "acme/web#1", "-c", config).returncode == 0
    assert cli("run", "--dry-run", "-c", config).returncode == 0
    report = json.loads(health(config)[1])
    assert report["last_run"]["finished_at"] == at and report["last_run"]["run_id"] == 1


def test_a_failed_last_run_is_unhealthy_even_when_the_apis_answer(setup: tuple[World, str]) -> None:
    world, config = setup
    assert cli("run", "-c", config).returncode == 0
    world.sandbox.faults.add(Fault(api="github", kind="status", status=500))  # GitHub down for the run
    assert cli("run", "-c", config).returncode == 1
    world.sandbox.faults.clear()
    code, out = health(config)
    report = json.loads(out)
    assert code == 1 and report["github"]["status"] == "ok"
    assert report["last_run"]["error"].startswith("the last run (#2) failed: github")
    assert report["last_run"]["last"]["status"] == "failed"
    assert cli("run", "-c", config).returncode == 0
    assert health(config)[0] == 0


def test_text_output_is_for_people(setup: tuple[World, str]) -> None:
    _, config = setup
    assert cli("run", "-c", config).returncode == 0
    code, text = health(config, fmt="text")
    assert code == 0, text
    assert text.splitlines()[0] == "Health: ok"
    assert re.search(
        r"github\s+ok\s+acme/web, acme/api as sandbox-user; rate limit \d+/5000 left, resets ", text
    )
    assert re.search(r"last_run\s+ok\s+#1 succeeded at \S+Z \(\d+ s ago; max 2 h\)", text)
    assert not re.search(r"[\[\]{}']|None", text), text  # no Python reprs


def test_rate_limit_waits_are_warnings_naming_the_rate_limit(
    setup: tuple[World, str], tmp_path: Path
) -> None:
    world, config = setup
    world.sandbox.faults.add(
        Fault(api="notion", kind="status", status=429, method="POST", path=r"/query$", times=1, retry_after=1)
    )
    log = tmp_path / "run.log"
    assert cli("run", "-c", config, "--log-file", str(log)).returncode == 0
    lines = log.read_text().splitlines()
    assert any(" WARNING " in line and "notion rate limit: POST" in line and "429" in line for line in lines)
