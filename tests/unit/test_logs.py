"""Logs: one JSON object a line with ts, level, event; secrets scrubbed from messages and tracebacks."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from reconcile.logs import add_secrets, setup

SECRET = "secret_tok_1234567890"


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_secret_never_reaches_a_log_line_not_even_in_a_traceback(tmp_path: Path, fmt: str) -> None:
    add_secrets([SECRET])
    path = tmp_path / "run.log"
    setup("debug", fmt, str(path))
    log = logging.getLogger("reconcile.test")
    try:
        raise RuntimeError(f"the server said Bearer {SECRET}")
    except RuntimeError:
        log.debug("it failed with %s", SECRET, exc_info=True)
    setup("info", "text")  # close the file handler

    text = path.read_text()
    assert SECRET not in text
    assert text.count("[redacted]") >= 2  # the message and the traceback
    assert "Traceback" in text


def test_json_lines_carry_ts_level_and_event(tmp_path: Path) -> None:
    path = tmp_path / "run.log"
    setup("info", "json", str(path))
    logging.getLogger("reconcile.test").info("pulled %d pages", 3)
    setup("info", "text")

    (line,) = path.read_text().splitlines()
    entry = json.loads(line)
    assert entry["event"] == "pulled 3 pages" and entry["level"] == "info" and entry["ts"].endswith("Z")
