"""The shipped deployment files keep their promises (the validators in .ci/check-deploy check their syntax).

Alert rules and the dashboard only name metrics reconcile exports; the CronJob, the image and the systemd
unit keep the properties operators rely on (a deadline, a non-root read-only container, a writable state
directory, a migration step, signals forwarded).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconcile.metrics import Metrics, Snapshot, render

ROOT = Path(__file__).resolve().parents[2]
METRIC = re.compile(r"\b((?:notion|reconcile)_[a-z_]+)\b")


def exported() -> set[str]:
    """Every sample name reconcile can export (a snapshot with every family present)."""
    observed = Metrics()
    observed.request("notion", "POST", 200, 0.2)
    observed.operation("create", "applied")
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    snapshot = Snapshot(
        "b1",
        observed,
        status="ok",
        finished_at=moment,
        duration=1.0,
        last_success=moment,
        runs={"ok": 1},
        stale=0,
        drift=0,
        nonconverging=0,
        paused=False,
        running_known=True,
    )
    return set(re.findall(r"^([a-z_]+)", render(snapshot).decode(), re.M))


def test_every_family_of_the_contract_is_exported() -> None:
    names = exported()
    for name in (
        "notion_sync_failures_total",
        "reconcile_operations_total",
        "reconcile_api_requests_total",
        "reconcile_last_success_timestamp_seconds",
        "reconcile_run_duration_seconds",
        "reconcile_stale_pages",
        "reconcile_drift_items",
        "reconcile_last_run_timestamp_seconds",
        "reconcile_last_run_success",
        "reconcile_runs_total",
        "reconcile_api_request_duration_seconds_bucket",
        "reconcile_nonconverging_properties",
        "reconcile_paused",
    ):
        assert name in names, name


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def dashboard_exprs() -> list[str]:
    dashboard = json.loads((ROOT / "deploy/grafana/reconcile.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_alerts_and_dashboard_name_only_exported_metrics() -> None:
    names = exported()
    exprs = [rule["expr"] for rule in alert_rules()] + dashboard_exprs()
    used = {name for expr in exprs for name in METRIC.findall(expr)}
    assert used and used <= names, used - names
    assert {rule["alert"] for rule in alert_rules()} >= {
        "NotionSyncFailure",
        "ReconcileLastSuccessStale",
        "ReconcileRunStuck",
        "ReconcileNotConverging",
    }
    assert next(r for r in alert_rules() if r["alert"] == "NotionSyncFailure")["expr"] == (
        "notion_sync_failures_total > 0"
    )


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed (Debian: prometheus)")
def test_the_dashboards_queries_parse(tmp_path: Path) -> None:
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query{n}", "expr": expr.replace("$board", ".*")}
                    for n, expr in enumerate(dashboard_exprs())
                ],
            }
        ]
    }
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(yaml.safe_dump(rules))
    done = subprocess.run(
        ["promtool", "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


def kubernetes() -> dict[str, dict[str, Any]]:
    docs = [
        doc
        for name in ("kubernetes-cronjob.yaml", "kubernetes-serve.yaml")
        for doc in yaml.safe_load_all((ROOT / "cron" / name).read_text())
    ]
    return {
        doc["kind"] if doc["metadata"]["name"] == "reconcile" else doc["metadata"]["name"]: doc
        for doc in docs
    }


def test_the_cronjob_has_a_deadline_a_migration_step_and_locked_down_containers() -> None:
    job = kubernetes()["CronJob"]["spec"]["jobTemplate"]["spec"]
    pod = job["template"]["spec"]
    assert job["activeDeadlineSeconds"] <= 1500 and job["backoffLimit"] == 0
    assert pod["securityContext"]["runAsNonRoot"] is True
    (upgrade,) = pod["initContainers"]
    assert upgrade["args"][:2] == ["db", "upgrade"]
    for container in [*pod["initContainers"], *pod["containers"]]:
        assert not container["image"].endswith(":latest") and ":" in container["image"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert {"requests", "limits"} <= set(container["resources"])
    env = {item["name"]: item for item in pod["containers"][0]["env"]}
    for secret in ("NOTION_API_KEY", "GITHUB_TOKEN", "RECONCILE_DATABASE_URL"):
        assert "secretKeyRef" in env[secret]["valueFrom"], secret


def test_the_backup_cronjob_is_locked_down_too_and_only_reads() -> None:
    job = kubernetes()["reconcile-backup"]["spec"]["jobTemplate"]["spec"]
    (container,) = job["template"]["spec"]["containers"]
    assert job["activeDeadlineSeconds"] <= 1500 and "export" in " ".join(container["args"])
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert not container["image"].endswith(":latest")
    assert "GITHUB_TOKEN" not in {item["name"] for item in container["env"]}  # a Notion read needs no more


def test_the_image_caches_dependencies_runs_non_root_and_forwards_signals() -> None:
    dockerfile = (ROOT / "cron/Dockerfile").read_text()
    assert dockerfile.index("pip install --requirement") < dockerfile.index("COPY reconcile ")
    assert re.search(r"^USER 10001", dockerfile, re.M)
    assert re.search(r"^WORKDIR /var/lib/reconcile", dockerfile, re.M)  # writable: the default mirror
    assert 'ENTRYPOINT ["/usr/bin/tini", "--", "reconcile"]' in dockerfile
    assert re.search(r"^FROM python:3\.\d+-slim-\w+$", dockerfile, re.M)  # a pinned tag


def test_the_systemd_unit_keeps_its_mirror_in_the_state_directory() -> None:
    unit = (ROOT / "cron/reconcile.service").read_text()
    assert "StateDirectory=reconcile" in unit and "WorkingDirectory=%S/reconcile" in unit
    assert "RECONCILE_DATABASE_URL=sqlite:////var/lib/reconcile/" in unit
    assert re.search(r"^TimeoutStartSec=\d+min$", unit, re.M)
    assert "SuccessExitStatus=75" in unit
