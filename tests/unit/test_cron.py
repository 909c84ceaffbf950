"""The deployment files keep one entry point: the job schedules its own sweeps and resyncs (issue 9)."""

from __future__ import annotations

from pathlib import Path

CRON = Path(__file__).resolve().parents[2] / "cron"


def test_no_deployment_file_runs_a_full_pull() -> None:
    files = sorted(path for path in CRON.iterdir() if path.is_file())
    assert files
    for path in files:
        assert "--full" not in path.read_text(encoding="utf-8"), path.name
