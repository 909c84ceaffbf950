"""Logs: dated UTC lines, levels in capitals, run ids, structured fields; secrets scrubbed everywhere."""

from __future__ import annotations

import json
import logging
import re
import threading
from pathlib import Path

import pytest

from reconcile.logs import LogFileError, add_secrets, run_context, setup

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
    assert entry["event"] == "pulled 3 pages" and entry["level"] == "INFO" and entry["ts"].endswith("Z")


def test_text_lines_begin_with_a_utc_date_time_and_the_level_in_capitals(tmp_path: Path) -> None:
    path = tmp_path / "run.log"
    setup("debug", "text", str(path))
    log = logging.getLogger("reconcile.test")
    for level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR):
        log.log(level, "something")
    setup("info", "text")

    lines = path.read_text().splitlines()
    assert [line.split()[1] for line in lines] == ["DEBUG", "INFO", "WARNING", "ERROR"]
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ", line) for line in lines)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_every_line_of_a_run_carries_its_run_id_even_from_another_thread(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "run.log"
    setup("info", fmt, str(path))
    log = logging.getLogger("reconcile.test")
    log.info("before")
    with run_context(42):
        log.info("inside")
        beat = threading.Thread(target=lambda: log.warning("from the heartbeat"))
        beat.start()
        beat.join()
    log.info("after")
    setup("info", "text")

    lines = path.read_text().splitlines()
    if fmt == "json":
        assert [json.loads(line).get("run_id") for line in lines] == [None, 42, 42, None]
    else:
        assert ["[run 42]" in line for line in lines] == [False, True, True, False]


def test_structured_fields_go_to_json_and_text(tmp_path: Path) -> None:
    fields = {
        "action": "create",
        "key": "https://github.com/a/b/issues/1",
        "page_id": "p1",
        "duration_ms": 12,
    }
    for fmt in ("json", "text"):
        path = tmp_path / f"run.{fmt}"
        setup("info", fmt, str(path))
        logging.getLogger("reconcile.test").info("wrote it", extra=fields)
        setup("info", "text")
        line = path.read_text().strip()
        if fmt == "json":
            assert fields.items() <= json.loads(line).items()
        else:
            assert line.endswith(
                "wrote it action=create key=https://github.com/a/b/issues/1 page_id=p1 duration_ms=12"
            )


def test_an_unusable_log_file_is_a_clear_error_and_stderr_still_works(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(LogFileError, match=r"--log-file .*/nowhere/x\.log: No such file or directory"):
        setup("info", "text", str(tmp_path / "nowhere" / "x.log"))
    logging.getLogger("reconcile.test").error("still heard")
    assert "ERROR still heard" in capsys.readouterr().err
    setup("info", "text")
