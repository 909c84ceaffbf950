"""`reconcile serve` over HTTP: /health/sync, /metrics and the status page, read-only, API checks cached.

The app runs in waitress on loopback, in-process, over the test's world (SQLite and PostgreSQL); the
installed command is started once in a subprocess too, as an operator would run it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from reconcile.jobs.context import Context
from reconcile.jobs.outcome import conclude
from reconcile.jobs.run import execute, pull_step
from reconcile.mirror import store
from reconcile.model import Applied
from reconcile.sandbox import Fault
from reconcile.serve import app as serve_app
from tests.conftest import START, World, cli


@contextmanager
def served(ctx: Context, api_ttl: float = 60.0) -> Iterator[str]:
    """The app in waitress on a free loopback port, for as long as the block runs."""
    server = serve_app.create(ctx, "127.0.0.1", 0, api_ttl=api_ttl)
    running = serve_app.InThread(server)
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        running.stop()


def families(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def items(world: World) -> None:
    """An item in each repository: their first writes add the Repository options the schema check wants."""
    world.issue(title="One", labels=["bug"])
    world.issue("acme/api", title="Two", assignees=["alice"])


@pytest.fixture
def ctx(world: World) -> Iterator[Context]:
    context = world.context()
    yield context
    context.close()


def test_health_sync_is_health_json_200_when_healthy_503_when_not(world: World, ctx: Context) -> None:
    items(world)
    assert world.run().status == "ok"
    with served(ctx, api_ttl=0) as base:
        healthy = requests.get(f"{base}/health/sync", timeout=30)
        assert healthy.status_code == 200 and healthy.headers["Content-Type"] == "application/json"
        report = healthy.json()
        assert report["status"] == "ok" and report["notion"]["status"] == "ok"
        assert set(report) >= {"status", "notion", "github", "mirror", "last_run"}

        world.sandbox.notion.revoke_token(world.sandbox.notion_token)
        failing = requests.get(f"{base}/health/sync", timeout=30)
        assert failing.status_code == 503
        assert failing.json()["notion"]["status"] == "error"
        assert world.sandbox.notion_token not in failing.text


def test_health_sync_turns_503_when_the_last_success_is_older_than_max_age(world: World) -> None:
    items(world)
    assert world.run().status == "ok"
    later = START + timedelta(hours=2)  # health.max_age defaults to 1h
    context = world.context(now=later)
    with served(context) as base:
        answer = requests.get(f"{base}/health/sync", timeout=30)
    context.close()
    assert answer.status_code == 503
    assert "more than health.max_age (1 h)" in answer.json()["last_run"]["error"]


def test_api_checks_are_cached_not_a_token_call_per_request(world: World, ctx: Context) -> None:
    items(world)
    assert world.run().status == "ok"
    with served(ctx) as base:
        before = world.sandbox.count("notion", path=r"/v1/users/me$")
        for route in ("/health/sync", "/", "/health/sync", "/", "/metrics", "/health/sync"):
            assert requests.get(base + route, timeout=30).status_code == 200
        assert world.sandbox.count("notion", path=r"/v1/users/me$") == before + 1
        assert world.sandbox.count("github", path=r"^/user$") == 1


def test_metrics_from_the_mirror_carry_the_textfile_families(world: World, tmp_path: Path) -> None:
    world.issue(title="Counted")
    world.issue("acme/api", title="Also counted")
    run_ctx = world.context()
    result = execute(run_ctx, "run", pull_step())
    textfile = tmp_path / "reconcile.prom"
    conclude(run_ctx, result, str(textfile), None)
    run_ctx.close()

    serve_ctx = world.context()
    with served(serve_ctx) as base:
        answer = requests.get(f"{base}/metrics", timeout=30)
    serve_ctx.close()
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/plain")
    served_families, written = families(answer.text), families(textfile.read_text())
    assert set(served_families) == set(written)
    for name in (
        "notion_sync_failures_total",
        "reconcile_last_run_success",
        "reconcile_operations_total",
        "reconcile_api_requests_total",
        "reconcile_runs_total",
        "reconcile_paused",
        "reconcile_nonconverging_properties",
    ):
        assert served_families[name] == written[name], name
    assert served_families["reconcile_operations_total"][(("action", "create"), ("result", "applied"))] == 2
    assert "reconcile_api_request_duration_seconds_bucket" in served_families


def test_status_page_shows_runs_failures_stale_drift_and_the_lock_with_links(world: World) -> None:
    first = world.issue(title="Fine")
    stuck = world.issue("acme/api", title="Stuck in progress", assignees=["alice"])
    assert world.run().status == "ok"
    page = world.page_for(first["html_url"])
    world.sandbox.notion.human_edit(
        page["id"], {"Priority": {"select": {"name": "High"}}}
    )  # on_change: drift
    broken = world.issue(title="Refused by Notion")
    world.sandbox.faults.add(
        Fault(
            api="notion",
            kind="status",
            status=400,
            method="POST",
            path=r"^/v1/pages$",
            message="Title is bad <b>",
        )
    )
    later = START + timedelta(days=30)  # the assigned item is stale by then
    assert world.run(now=later).status == "partial"
    world.sandbox.faults.clear()

    context = world.context(now=later)
    with served(context) as base, context.lease():
        html = requests.get(base + "/", timeout=30).text
    context.close()

    assert html.count('<tr class="run">') == 2 and "partial" in html
    assert "Title is bad &lt;b&gt;" in html  # Notion's message, escaped
    assert f'href="{broken["html_url"]}"' in html
    stuck_page = world.page_for(stuck["html_url"])["id"]
    assert re.search(r'<tr class="stale">.*?' + re.escape(stuck["html_url"]), html, re.S)
    assert f'href="https://www.notion.so/{stuck_page.replace("-", "")}"' in html
    assert re.search(r'<tr class="drift">.*?Priority.*?High.*?on_change', html, re.S)
    assert "Held by pid" in html
    assert world.sandbox.notion_token not in html and world.sandbox.github_token not in html


def test_properties_not_converging_show_on_the_page_and_in_metrics(world: World, ctx: Context) -> None:
    item = world.issue(title="Labels Notion keeps its own way", labels=["bug"])
    assert world.run().status == "ok"
    page_id = world.page_for(item["html_url"])["id"]
    with ctx.session() as session:  # what the planner records after the same value failed to take twice
        store.record_applied(
            session, page_id, {"Labels": Applied(["bug", "ui"], ["bug"], True, misses=2)}, ctx.clock.now()
        )
    with served(ctx) as base:
        html = requests.get(f"{base}/", timeout=30).text
        metrics = families(requests.get(f"{base}/metrics", timeout=30).text)
    assert metrics["reconcile_nonconverging_properties"][()] == 1
    row = re.search(r'<tr class="nonconverging">(.*?)</tr>', html, re.S)
    assert row and "Labels" in row.group(1) and "bug, ui" in row.group(1)
    assert f'href="{item["html_url"]}"' in row.group(1)


def test_read_only_unknown_routes_and_a_mirror_not_created_yet(world: World, tmp_path: Path) -> None:
    missing = tmp_path / "not-yet.db"
    config = world.config(mirror__url=f"sqlite:///{missing}")
    context = Context.build(config, clock=world.clock, migrate=False)  # as `serve` builds it
    with served(context) as base:
        assert requests.post(f"{base}/health/sync", timeout=30).status_code == 405
        assert requests.get(f"{base}/nope", timeout=30).status_code == 404
        report = requests.get(f"{base}/health/sync", timeout=30).json()
        page = requests.get(f"{base}/", timeout=30)
        metrics = requests.get(f"{base}/metrics", timeout=30)
    context.close()
    assert report["mirror"] == {"status": "ok", "note": "not created yet: the first run creates it"}
    assert page.status_code == 200 and "the mirror is created by the first run" in page.text
    assert "notion_sync_failures_total 0.0" in metrics.text
    assert not missing.exists()  # serving never creates (or migrates) the mirror


@pytest.mark.slow
def test_the_installed_command_serves_until_sigterm(world: World, tmp_path: Path) -> None:
    items(world)
    config = str(world.write_config(tmp_path / "config.yaml"))
    assert cli("run", "-c", config).returncode == 0
    with serve_process(config) as (process, base):
        assert requests.get(f"{base}/health/sync", timeout=30).json()["notion"]["status"] == "ok"
        assert "notion_sync_failures_total 0.0" in requests.get(f"{base}/metrics", timeout=30).text
        process.terminate()
        assert process.wait(30) == 0


@contextmanager
def serve_process(config: str, *extra: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`reconcile serve --port 0` in a subprocess; its base URL from the line it logs when listening."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTION_", "GITHUB_", "RECONCILE_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "reconcile", "serve", "--port", "0", "-c", config, *extra],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        base = _listening(process)
        yield process, base
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(30)
        if process.stderr:
            process.stderr.close()


def _listening(process: subprocess.Popen[str]) -> str:
    assert process.stderr is not None
    seen: list[str] = []
    for line in process.stderr:
        seen.append(line)
        found = re.search(r"serving on (http://[\d.]+:\d+)", line)
        if found:
            return found.group(1)
    raise AssertionError(f"serve never listened: {''.join(seen)}")
