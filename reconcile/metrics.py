"""Prometheus metrics of one run: a textfile for node_exporter, or a push to a Pushgateway."""

from __future__ import annotations

from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, push_to_gateway, write_to_textfile

from reconcile.errors import ReconcileError


class Metrics:
    """The metrics named in CONTRACT §9, in a registry of their own."""

    def __init__(self, board: str | None = None) -> None:
        self.board = board  # boards pushing to one Pushgateway each keep a group of their own
        self.registry = CollectorRegistry()
        self.sync_failures = Counter(
            "notion_sync_failures", "Operations that failed to apply to Notion.", registry=self.registry
        )
        self.operations = Counter(
            "reconcile_operations",
            "Operations by action and result.",
            ["action", "result"],
            registry=self.registry,
        )
        self.requests = Counter(
            "reconcile_api_requests",
            "API requests by API and HTTP status.",
            ["api", "status"],
            registry=self.registry,
        )
        self.last_success = Gauge(
            "reconcile_last_success_timestamp_seconds", "When a run last succeeded.", registry=self.registry
        )
        self.duration = Gauge(
            "reconcile_run_duration_seconds", "How long the run took.", registry=self.registry
        )
        self.stale = Gauge("reconcile_stale_pages", "Stale pages found by the run.", registry=self.registry)
        self.drift = Gauge(
            "reconcile_drift_items", "Differences the policies left alone.", registry=self.registry
        )

    def request(self, api: str, method: str, status: int | None) -> None:
        """Count one HTTP answer (status "error" when none came)."""
        self.requests.labels(api, str(status) if status is not None else "error").inc()

    def operation(self, action: str, result: str) -> None:
        self.operations.labels(action, result).inc()
        if result == "failed":
            self.sync_failures.inc()

    def succeeded_at(self, moment: datetime | None) -> None:
        if moment is not None:
            self.last_success.set(moment.timestamp())

    def export(self, textfile: str | None, pushgateway: str | None) -> None:
        """Write and/or push the registry; a failure is a clear error, not a traceback."""
        try:
            if textfile:
                write_to_textfile(textfile, self.registry)
            if pushgateway:
                grouping = {"board": self.board} if self.board else None
                push_to_gateway(pushgateway, job="reconcile", registry=self.registry, grouping_key=grouping)
        except OSError as exc:
            raise ReconcileError(f"metrics: cannot write {textfile or pushgateway}: {exc}") from None
