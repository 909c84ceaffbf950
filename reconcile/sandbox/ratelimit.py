"""Rate limiters on the sandbox clock: Notion's token bucket and GitHub's hourly budget."""

from __future__ import annotations

import math
from dataclasses import dataclass

from reconcile.clock import Clock


class TokenBucket:
    """Average `rate` requests a second with bursts up to `burst`, on the clock's monotonic time."""

    def __init__(self, rate: float, burst: int, clock: Clock) -> None:
        self._rate = rate
        self._burst = float(max(burst, 1))
        self._clock = clock
        self._tokens = self._burst
        self._stamp = clock.monotonic()

    def take(self) -> int:
        """0 when the request may go ahead; else the whole seconds to wait (at least 1)."""
        now = self._clock.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0
        return max(1, math.ceil((1.0 - self._tokens) / self._rate))


@dataclass
class HourlyBudget:
    """GitHub's primary rate limit: `limit` requests per window of an hour from the first one."""

    limit: int
    used: int = 0
    reset_epoch: int = 0

    def refresh(self, now_epoch: float) -> None:
        """Start a new window when the current one is over."""
        if now_epoch >= self.reset_epoch:
            self.used = 0
            self.reset_epoch = int(now_epoch) + 3600

    @property
    def remaining(self) -> int:
        """Requests left in the window."""
        return max(self.limit - self.used, 0)

    def spend(self) -> None:
        """Count one request."""
        self.used += 1

    def headers(self) -> dict[str, str]:
        """The `x-ratelimit-*` headers describing this budget."""
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-reset": str(self.reset_epoch),
            "x-ratelimit-used": str(self.used),
            "x-ratelimit-resource": "core",
        }
