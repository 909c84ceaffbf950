"""A failing deployment is never silent: every run that knew its flags leaves metrics and an outcome line.

Driven as cron drives it: the installed command in a subprocess with `--log-file` and
`--metrics-textfile`, tokens from the environment. A run failing as a whole (a revoked token, a database
not shared, an unset variable, a mirror never upgraded) counts in `notion_sync_failures_total` and sets
`reconcile_last_run_success 0`, names its outcome in its last log line, and makes `health` exit 1;
the next good run sets all of it back.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from reconcile.sandbox import Sandbox
from tests.conftest import World, cli, empty_postgres_database

pytestmark = pytest.mark.slow


@dataclass
class Deployment:
    """A world, a config reading both tokens from the environment, and cron's files."""

    world: World
    config: Path
    env: dict[str, str]
    log: Path
    prom: Path

    def run(self, *extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return cli(
            "run",
            "-c",
            str(self.config),
            "--log-file",
            str(self.log),
            "--metrics-textfile",
            str(self.prom),
            *extra,
            env=self.env if env is None else env,
        )

    def health(self, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return cli("health", "--format", "json", "-c", str(self.config), env=self.env if env is None else env)


@pytest.fixture
def deployment(sandbox: Sandbox, tmp_path: Path) -> Deployment:
    world = World(sandbox, f"sqlite:///{tmp_path / 'mirror.db'}", sandbox.clock)
    world.issue(title="Watched", labels=["bug"])
    world.issue("acme/api", title="Also watched")
    config = world.write_config(
        tmp_path / "config.yaml", notion__token="${NOTION_API_KEY}", github__token="${GITHUB_TOKEN}"
    )
    env = {"NOTION_API_KEY": sandbox.notion_token, "GITHUB_TOKEN": sandbox.github_token}
    return Deployment(world, config, env, tmp_path / "reconcile.log", tmp_path / "reconcile.prom")


def metrics(path: Path) -> dict[str, float]:
    """Each sample by name, labels folded in as name{k=v,...}."""
    found = {}
    for family in text_string_to_metric_families(path.read_text(encoding="utf-8")):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return found


def last_line(path: Path) -> str:
    return path.read_text(encoding="utf-8").splitlines()[-1]


def assert_failed_visibly(
    deployment: Deployment,
    done: subprocess.CompletedProcess[str],
    why: str,
    env: dict[str, str] | None = None,
) -> None:
    assert done.returncode == 1, done.stderr
    found = metrics(deployment.prom)
    assert found["notion_sync_failures_total"] >= 1
    assert found["reconcile_last_run_success"] == 0
    assert "reconcile_last_run_timestamp_seconds" in found
    outcome = last_line(deployment.log)
    assert " ERROR " in outcome and "run FAILED: " in outcome and why in outcome, outcome
    assert "Traceback" not in done.stderr
    assert deployment.health(env).returncode == 1


def assert_recovered(deployment: Deployment) -> None:
    done = deployment.run()
    assert done.returncode == 0, done.stderr
    found = metrics(deployment.prom)
    assert found["notion_sync_failures_total"] == 0
    assert found["reconcile_last_run_success"] == 1
    assert found["reconcile_runs_total{status=ok}"] >= 1
    assert found["reconcile_last_success_timestamp_seconds"] == found["reconcile_last_run_timestamp_seconds"]
    assert " INFO " in last_line(deployment.log) and "run SUCCESS: " in last_line(deployment.log)
    health = deployment.health()
    assert health.returncode == 0, health.stdout
    assert json.loads(health.stdout)["last_run"]["status"] == "ok"


def test_a_revoked_token_fails_visibly_until_the_next_good_run(deployment: Deployment) -> None:
    token = deployment.env["NOTION_API_KEY"]
    deployment.world.sandbox.notion.revoke_token(token)
    assert_failed_visibly(deployment, deployment.run(), "NOTION_API_KEY")

    deployment.world.sandbox.notion.add_token(token)
    report = json.loads(deployment.health().stdout)  # the token works again, but the last run failed
    assert report["status"] == "error" and report["notion"]["status"] == "ok"
    assert "the last run (#1) failed" in report["last_run"]["error"]
    assert_recovered(deployment)


def test_a_database_not_shared_fails_visibly_until_the_next_good_run(deployment: Deployment) -> None:
    sandbox, database = deployment.world.sandbox, deployment.world.database_id
    sandbox.notion.unshare(database, deployment.env["NOTION_API_KEY"])
    assert_failed_visibly(deployment, deployment.run(), "NOTION_DB_ID")

    sandbox.notion.share(database, deployment.env["NOTION_API_KEY"])
    assert_recovered(deployment)


def test_an_unset_variable_fails_visibly_before_the_run_starts(deployment: Deployment) -> None:
    without = {k: v for k, v in deployment.env.items() if k != "GITHUB_TOKEN"}
    done = deployment.run("--format", "json", env=without)
    assert_failed_visibly(deployment, done, "environment variable GITHUB_TOKEN is not set", without)
    assert json.loads(done.stdout)["status"] == "failed"  # the run's JSON, as for any failed run
    assert_recovered(deployment)


def test_a_lock_out_is_a_warning_and_restates_the_last_outcome(deployment: Deployment) -> None:
    from reconcile.clock import SystemClock
    from reconcile.mirror.db import open_engine
    from reconcile.mirror.lock import Lease

    assert deployment.run().returncode == 0
    before = metrics(deployment.prom)
    engine = open_engine(deployment.world.mirror_url)
    with Lease(engine, SystemClock(), deployment.world.database_id):
        done = deployment.run()
    engine.dispose()
    assert done.returncode == 75
    outcome = last_line(deployment.log)
    assert " WARNING " in outcome and "run LOCKED: another run holds the lock" in outcome
    after = metrics(deployment.prom)
    assert after["reconcile_last_run_success"] == 1 and after["notion_sync_failures_total"] == 0
    assert after["reconcile_last_run_timestamp_seconds"] == before["reconcile_last_run_timestamp_seconds"]
    assert after["reconcile_runs_total{status=locked}"] == 1


def test_an_unusable_log_file_is_one_line_and_the_metrics_are_still_written(deployment: Deployment) -> None:
    done = cli(
        "run",
        "-c",
        str(deployment.config),
        "--log-file",
        "/nonexistent/reconcile.log",
        "--metrics-textfile",
        str(deployment.prom),
        env=deployment.env,
    )
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert "ERROR run FAILED: --log-file /nonexistent/reconcile.log: No such file or directory" in line
    assert metrics(deployment.prom)["reconcile_last_run_success"] == 0
    other = cli("status", "-c", str(deployment.config), "--log-file", "/nonexistent/x.log")
    assert other.returncode == 1
    assert other.stderr.strip() == "error: --log-file /nonexistent/x.log: No such file or directory"


def test_an_unreachable_pushgateway_is_a_warning_not_a_failed_run(deployment: Deployment) -> None:
    done = deployment.run("--pushgateway", "http://127.0.0.1:9")  # discard port: nothing listens
    assert done.returncode == 0, done.stderr
    lines = deployment.log.read_text(encoding="utf-8").splitlines()
    assert any(" WARNING " in line and "could not push to the Pushgateway" in line for line in lines)
    assert "run SUCCESS" in lines[-1]
    assert metrics(deployment.prom)["reconcile_last_run_success"] == 1


def test_each_line_of_a_run_carries_its_id_and_requests_are_logged_at_debug(deployment: Deployment) -> None:
    done = deployment.run("--log-format", "json", "--log-level", "debug")
    assert done.returncode == 0, done.stderr
    entries = [json.loads(line) for line in deployment.log.read_text(encoding="utf-8").splitlines()]
    of_run = [entry for entry in entries if entry.get("run_id") == 1]
    assert of_run and of_run[-1]["event"].startswith("run SUCCESS")
    assert {entry["level"] for entry in entries} <= {"DEBUG", "INFO", "WARNING", "ERROR"}
    requests = [entry for entry in entries if entry.get("method") and entry.get("path")]
    assert {"status", "duration_ms"} <= set(requests[0])
    assert any(entry["path"] == "/v1/pages" and entry["status"] == 200 for entry in requests)
    assert all(entry.get("run_id") == 1 for entry in requests)
    written = [entry for entry in entries if entry.get("action") == "create"]
    assert written and {"key", "page_id"} <= set(written[0])
    assert metrics(deployment.prom)["reconcile_api_request_duration_seconds_count{api=notion}"] >= 3


@pytest.fixture
def never_upgraded() -> Iterator[str]:
    """An empty PostgreSQL database: what a team's mirror is before `reconcile db upgrade`."""
    yield from empty_postgres_database()


@pytest.mark.postgres
def test_a_postgres_mirror_never_upgraded_fails_visibly(deployment: Deployment, never_upgraded: str) -> None:
    deployment.env = {**deployment.env, "RECONCILE_DATABASE_URL": never_upgraded}
    assert_failed_visibly(deployment, deployment.run(), "run `reconcile db upgrade` first")
    assert cli("db", "upgrade", env={"RECONCILE_DATABASE_URL": never_upgraded}).returncode == 0
    assert_recovered(deployment)
