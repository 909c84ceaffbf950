"""Progress of long steps: the job reports applies and full reads; a terminal shows a bar on stderr."""

from __future__ import annotations

import io
from pathlib import Path

from reconcile.clock import FakeClock
from reconcile.jobs.export import export
from reconcile.jobs.run import execute, pull_step
from reconcile.sandbox import Sandbox
from reconcile.terminal import TerminalProgress, watching
from tests.conftest import World


class Recorder:
    """A Progress that remembers what it was told."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, int | None, int]] = []

    def start(self, label: str, total: int | None = None) -> None:
        self.steps.append((label, total, 0))

    def advance(self, steps: int = 1) -> None:
        label, total, done = self.steps[-1]
        self.steps[-1] = (label, total, done + steps)

    def finish(self) -> None:
        pass


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_run_reports_its_read_and_its_writes_and_export_its_pages(
    sandbox: Sandbox, sqlite_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    world = World(sandbox, sqlite_url, clock)
    for n in range(5):
        world.issue(title=f"Item {n}")
    ctx = world.context()
    ctx.progress = recorder = Recorder()

    execute(ctx, "run", pull_step(full=True))
    export(ctx, io.StringIO(), "csv")
    ctx.close()

    assert recorder.steps == [
        ("Reading Notion pages", None, 0),
        ("Applying", 5, 5),
        ("Exporting pages", None, 5),
    ]


def test_the_terminal_bar_shows_label_position_and_rate_only_for_long_steps() -> None:
    screen = Terminal()
    progress = TerminalProgress(screen)

    progress.start("Applying", 40)
    for _ in range(40):
        progress.advance()
    progress.finish()
    progress.start("Applying", 3)  # too short to be worth a bar
    progress.advance()
    progress.finish()

    shown = screen.getvalue()
    assert "Applying" in shown and "40/40" in shown and "/s" in shown
    assert "3/3" not in shown and "1/3" not in shown
    assert watching(screen) and not watching(io.StringIO())
