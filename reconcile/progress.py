"""Progress of long steps (applies, full reads), reported to whoever watches; silent by default.

The library calls `start`, `advance` and `finish`; the command line shows a bar on a terminal
(reconcile/terminal.py). Nothing here prints.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Something that follows one step at a time: started with a label (and a total, when known)."""

    def start(self, label: str, total: int | None = None) -> None: ...

    def advance(self, steps: int = 1) -> None: ...

    def finish(self) -> None: ...


class Silent:
    """No one is watching (cron, tests, a pipe)."""

    def start(self, label: str, total: int | None = None) -> None:
        pass

    def advance(self, steps: int = 1) -> None:
        pass

    def finish(self) -> None:
        pass
