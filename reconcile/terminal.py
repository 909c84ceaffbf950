"""What the command line shows on a terminal: progress bars with rate and ETA, on stderr only."""

from __future__ import annotations

import itertools
import sys
import time
from typing import Any, TextIO

import click

MIN_TOTAL = 20  # a step this short needs no bar


class TerminalProgress:
    """click's progress bar on stderr, one per step; shown only when stderr is a terminal."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self._bar: Any = None
        self._started = 0.0

    def start(self, label: str, total: int | None = None) -> None:
        self.finish()
        if total is not None and total < MIN_TOTAL:
            return
        self._started = time.monotonic()
        self._bar = click.progressbar(
            iterable=None if total is not None else itertools.count(),
            length=total,
            label=label,
            file=self.stream,
            show_eta=True,
            show_pos=True,
            item_show_func=lambda rate: rate,
        )
        self._bar.__enter__()

    def advance(self, steps: int = 1) -> None:
        if self._bar is None:
            return
        elapsed = time.monotonic() - self._started
        rate = (self._bar.pos + steps) / elapsed if elapsed > 0 else 0.0
        self._bar.update(steps, f"{rate:.1f}/s")

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


def watching(stream: TextIO | None = None) -> bool:
    """Whether a person watches this stream (a terminal, not a pipe, a file or cron's mail)."""
    stream = stream or sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())
