"""Prometheus metrics: what a run observes, and one rendering of it for the textfile, Pushgateway and `serve`.

A process counts API answers (and their latency) and operation results in `Metrics`; the run stores those
counts with its row in the mirror. What is exported is a `Snapshot`: the run's own counts plus what only
the mirror knows (the last successful `run`, runs by status, a paused board, a run still in progress).
The textfile, the Pushgateway and `serve`'s /metrics all render a Snapshot through `SnapshotCollector`,
so the three always carry the same families (CONTRACT §9 and §10).
"""

from __future__ import annotations

import logging
import socket
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest, push_to_gateway, write_to_textfile
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from reconcile.errors import ReconcileError

log = logging.getLogger("reconcile.metrics")

# Upper bounds (seconds) of the API latency histogram: a paced Notion call takes ~0.3 s, a long
# Retry-After is not part of a request's duration (the wait is between attempts).
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
PUSH_TIMEOUT = 10.0  # seconds; an unreachable gateway must not hold a finished run for long
SUCCESS_STATUSES = frozenset({"ok", "paused"})  # a run that did everything it was asked to


@dataclass
class Latency:
    """One API's request durations as histogram buckets (not cumulative), their sum and count."""

    buckets: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    total: float = 0.0
    count: int = 0

    def observe(self, seconds: float) -> None:
        self.buckets[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.total += seconds
        self.count += 1


class Metrics:
    """What one process observes while it runs: API answers and their latency, operation results."""

    def __init__(self) -> None:
        self.requests: Counter[tuple[str, str]] = Counter()
        self.latency: dict[str, Latency] = {}
        self.operations: Counter[tuple[str, str]] = Counter()

    def request(self, api: str, method: str, status: int | None, seconds: float | None = None) -> None:
        """Count one HTTP answer (status "error" when none came) and how long it took."""
        self.requests[(api, str(status) if status is not None else "error")] += 1
        if seconds is not None:
            self.latency.setdefault(api, Latency()).observe(seconds)

    def operation(self, action: str, result: str) -> None:
        self.operations[(action, result)] += 1

    @property
    def failed_operations(self) -> int:
        return sum(n for (_, result), n in self.operations.items() if result == "failed")

    def as_json(self) -> dict[str, Any]:
        """Plain JSON, for the run's row in the mirror (`serve` reads it back)."""
        return {
            "requests": [[api, status, n] for (api, status), n in sorted(self.requests.items())],
            "operations": [[action, result, n] for (action, result), n in sorted(self.operations.items())],
            "latency": {
                api: {"buckets": h.buckets, "sum": h.total, "count": h.count}
                for api, h in sorted(self.latency.items())
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Metrics:
        metrics = cls()
        data = data or {}
        for api, status, n in data.get("requests", []):
            metrics.requests[(api, status)] += n
        for action, result, n in data.get("operations", []):
            metrics.operations[(action, result)] += n
        for api, h in (data.get("latency") or {}).items():
            if len(h.get("buckets", [])) == len(LATENCY_BUCKETS) + 1:
                metrics.latency[api] = Latency(list(h["buckets"]), float(h["sum"]), int(h["count"]))
        return metrics


@dataclass
class Snapshot:
    """Everything exported about a board at one moment; None means unknown (the family is left out)."""

    board: str
    observed: Metrics = field(default_factory=Metrics)
    status: str | None = None  # of the run described: ok | partial | failed | paused | crashed ...
    finished_at: datetime | None = None
    duration: float | None = None
    last_success: datetime | None = None  # of a `run`
    runs: dict[str, int] | None = None  # finished runs by status, from the mirror
    stale: int | None = None
    drift: int | None = None
    nonconverging: int | None = None
    paused: bool | None = None
    running_since: datetime | None = None  # a run of the board still in progress
    running_known: bool = False  # whether the mirror was asked about runs in progress

    @property
    def sync_failures(self) -> int:
        """Failed operations, plus one when the run failed as a whole: what the runbook's alert watches."""
        return self.observed.failed_operations + (1 if self.status in ("failed", "crashed") else 0)


class SnapshotCollector(Collector):
    """The families of CONTRACT §9 and §10, rendered from a Snapshot."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Any]:
        s = self.snapshot
        yield _counter(
            "notion_sync_failures",
            "Operations that failed, plus runs that failed as a whole.",
            s.sync_failures,
        )
        yield from self._counts(s.observed)
        yield from self._run(s)
        yield from self._board(s)

    def _counts(self, observed: Metrics) -> Iterator[Any]:
        operations = CounterMetricFamily(
            "reconcile_operations", "Operations by action and result.", labels=["action", "result"]
        )
        for (action, result), n in sorted(observed.operations.items()):
            operations.add_metric([action, result], n)
        yield operations
        requests = CounterMetricFamily(
            "reconcile_api_requests", "API requests by API and HTTP status.", labels=["api", "status"]
        )
        for (api, status), n in sorted(observed.requests.items()):
            requests.add_metric([api, status], n)
        yield requests
        latency = HistogramMetricFamily(
            "reconcile_api_request_duration_seconds", "API request durations.", labels=["api"]
        )
        for api, h in sorted(observed.latency.items()):
            latency.add_metric([api], _cumulative(h), h.total)
        yield latency

    def _run(self, s: Snapshot) -> Iterator[Any]:
        if s.status is not None:
            yield _gauge(
                "reconcile_last_run_success",
                "1 when the last run succeeded, else 0.",
                float(s.status in SUCCESS_STATUSES),
            )
        if s.finished_at is not None:
            yield _gauge(
                "reconcile_last_run_timestamp_seconds", "When the last run ended.", s.finished_at.timestamp()
            )
        if s.duration is not None:
            yield _gauge("reconcile_run_duration_seconds", "How long the last run took.", s.duration)
        if s.last_success is not None:
            yield _gauge(
                "reconcile_last_success_timestamp_seconds",
                "When a `run` last succeeded.",
                s.last_success.timestamp(),
            )
        if s.runs is not None:
            runs = CounterMetricFamily("reconcile_runs", "Runs of this board by outcome.", labels=["status"])
            for status, n in sorted(s.runs.items()):
                runs.add_metric([status], n)
            yield runs
        if s.running_known:
            since = s.running_since.timestamp() if s.running_since else 0.0
            yield _gauge(
                "reconcile_running_since_timestamp_seconds",
                "When the run in progress started (0: none).",
                since,
            )

    def _board(self, s: Snapshot) -> Iterator[Any]:
        if s.stale is not None:
            yield _gauge("reconcile_stale_pages", "Stale pages found by the last plan.", s.stale)
        if s.drift is not None:
            yield _gauge("reconcile_drift_items", "Differences the policies left alone.", s.drift)
        if s.nonconverging is not None:
            yield _gauge(
                "reconcile_nonconverging_properties",
                "Properties Notion keeps storing differently from what was written.",
                s.nonconverging,
            )
        if s.paused is not None:
            yield _gauge("reconcile_paused", "1 while the board is paused.", float(s.paused))


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, value=value)


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def _cumulative(h: Latency) -> list[tuple[str, float]]:
    bounds = [*(str(bound) for bound in LATENCY_BUCKETS), "+Inf"]
    running, out = 0, []
    for bound, n in zip(bounds, h.buckets, strict=True):
        running += n
        out.append((bound, float(running)))
    return out


def registry(snapshot: Snapshot) -> CollectorRegistry:
    found = CollectorRegistry(auto_describe=False)
    found.register(SnapshotCollector(snapshot))
    return found


def render(snapshot: Snapshot) -> bytes:
    """Prometheus text format."""
    return generate_latest(registry(snapshot))


def export(
    snapshot: Snapshot, textfile: str | None, pushgateway: str | None, instance: str | None = None
) -> None:
    """Write the textfile (a failure is an error) and push (an unreachable gateway is only a warning)."""
    found = registry(snapshot)
    if textfile:
        try:
            write_to_textfile(textfile, found)
        except OSError as exc:
            raise ReconcileError(f"--metrics-textfile {textfile}: {exc.strerror or exc}") from None
    if pushgateway:
        key = {"board": snapshot.board, "instance": instance or socket.gethostname()}
        try:
            push_to_gateway(
                pushgateway, job="reconcile", registry=found, grouping_key=key, timeout=PUSH_TIMEOUT
            )
        except OSError as exc:  # URLError, refused, timed out: the run's outcome stands
            log.warning("metrics: could not push to the Pushgateway at %s: %s", pushgateway, _reason(exc))


def _reason(exc: OSError) -> str:
    return str(getattr(exc, "reason", None) or exc.strerror or exc)
