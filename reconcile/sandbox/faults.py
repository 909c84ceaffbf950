"""Fault rules: scripted or probabilistic misbehaviour injected before a request is handled."""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field

KINDS = ("status", "slow", "reset", "lost_response", "hold")
APIS = ("github", "notion")


@dataclass
class Fault:
    """One rule: which requests it hits (api, method, path regex) and what it does to them."""

    # `times` limits a rule to the next N matching requests and `probability` makes it fire at random
    # (seeded RNG); with neither it hits every matching request until `Sandbox.faults.clear()`.
    # `hold` parks the request until `release()` (or the sandbox stops), then drops the connection;
    # with `process=True` the request's work is done first. `arrived` is set when a request is parked,
    # so a test can act (kill the client, say) at exactly that point without sleeping.

    api: str
    kind: str
    status: int | None = None
    method: str | None = None
    path: str | None = None
    times: int | None = None
    probability: float | None = None
    retry_after: int | None = None
    delay: float = 0.0
    variant: str | None = None
    code: str | None = None
    message: str | None = None
    process: bool = False
    after: int = 0  # let this many matching requests through before the rule starts firing
    arrived: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)
    released: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)

    def release(self) -> None:
        """Let the parked requests of a `hold` fault go (their connections are dropped)."""
        self.released.set()

    def __post_init__(self) -> None:
        if self.api not in APIS:
            raise ValueError(f"Fault.api must be one of {APIS}, not {self.api!r}")
        if self.kind not in KINDS:
            raise ValueError(f"Fault.kind must be one of {KINDS}, not {self.kind!r}")
        if self.kind == "status" and self.status is None:
            raise ValueError("a status fault needs status=")
        if self.probability is not None and not 0.0 <= self.probability <= 1.0:
            raise ValueError("Fault.probability must be within [0, 1]")
        if self.after < 0:
            raise ValueError("Fault.after must not be negative")
        if self.times is not None and self.times < 1:
            raise ValueError("Fault.times must be at least 1")
        if self.variant not in (None, "primary", "secondary"):
            raise ValueError("Fault.variant must be 'primary' or 'secondary' (GitHub 403/429)")

    def matches(self, api: str, method: str, path: str) -> bool:
        """Whether this rule applies to the request (before times/probability)."""
        if api != self.api:
            return False
        if self.method is not None and method.upper() != self.method.upper():
            return False
        return self.path is None or re.search(self.path, path) is not None


@dataclass
class _Rule:
    fault: Fault
    remaining: int | None
    passed: int = 0


class FaultSet:
    """The active rules, checked in the order they were added; the first that fires wins."""

    def __init__(self, seed: int = 0) -> None:
        self._rules: list[_Rule] = []
        self._rng = random.Random(f"faults-{seed}")
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        """Activate a rule."""
        with self._lock:
            self._rules.append(_Rule(fault, fault.times))
        return fault

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules.clear()

    @property
    def active(self) -> list[Fault]:
        """The rules still active."""
        with self._lock:
            return [rule.fault for rule in self._rules]

    def pick(self, api: str, method: str, path: str) -> Fault | None:
        """The rule that fires for this request, if any (consuming one of its `times`)."""
        with self._lock:
            for rule in list(self._rules):
                if self._fires(rule, api, method, path):
                    return rule.fault
        return None

    def _fires(self, rule: _Rule, api: str, method: str, path: str) -> bool:
        fault = rule.fault
        if not fault.matches(api, method, path):
            return False
        if rule.passed < fault.after:
            rule.passed += 1
            return False
        if fault.probability is not None and self._rng.random() >= fault.probability:
            return False
        if rule.remaining is not None:
            rule.remaining -= 1
            if rule.remaining <= 0:
                self._rules.remove(rule)
        return True
