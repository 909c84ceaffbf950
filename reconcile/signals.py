"""Graceful SIGTERM: abandon the request in flight, let the run record its end, exit 143.

Kubernetes, systemd and `docker stop` send SIGTERM, then SIGKILL after a grace period. On the first
SIGTERM the handler raises `Terminated` in the main thread: a request waiting on the network is abandoned
at once (a Notion call may be parked behind a long Retry-After). Its journal entry stays "sent", exactly
what a kill leaves, and the next run settles it the same way (a create is looked up by its key before
anything is sent again), so nothing is duplicated or lost. The run then closes its row, writes its metrics
and its outcome line inside `deferred()`, where further signals are only noted, and the command exits
128 + 15.

Python only runs handlers in the main thread, between bytecodes: a database commit in progress finishes
(or rolls back as a whole) before `Terminated` is raised.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

EXIT_TERMINATED = 128 + signal.SIGTERM


class Terminated(BaseException):  # not an Exception: `except Exception` must never swallow it
    """The process was asked to stop (SIGTERM)."""

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        self.signum = signum
        super().__init__(f"stopped by {signal.Signals(signum).name}")


class _State:
    received: int | None = None
    raised = False
    deferring = 0


_state = _State()


def install() -> None:
    """Handle SIGTERM from now on (the main thread only can; elsewhere this does nothing)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _handle)


def as_interrupt() -> None:
    """SIGTERM acts as Ctrl-C from now on: for a server loop (waitress) that turns any other exception
    raised in its callbacks into a logged error and goes on serving, but stops on KeyboardInterrupt."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, signal.default_int_handler)


def _handle(signum: int, frame: FrameType | None) -> None:
    _state.received = signum
    if _state.raised or _state.deferring:
        return  # noted: the command exits 143 once it has recorded its end
    _state.raised = True
    raise Terminated(signum)


def received() -> int | None:
    """The signal that asked this process to stop, if one did."""
    return _state.received


@contextmanager
def deferred() -> Iterator[None]:
    """Inside, a SIGTERM is only noted: for recording a run's end (its row, metrics, outcome line)."""
    _state.deferring += 1
    try:
        yield
    finally:
        _state.deferring -= 1


def reset() -> None:
    """Forget a signal received (tests that run several commands in one process)."""
    _state.received, _state.raised, _state.deferring = None, False, 0
