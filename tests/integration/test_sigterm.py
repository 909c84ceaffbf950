"""SIGTERM (Kubernetes, systemd, docker stop) mid-apply: exit 143 at once, with the run's end recorded.

The sandbox parks a create (a `hold` fault) so the signal lands while a write is in flight: the run
abandons it, journals it, writes its metrics and outcome line, exits 143 within seconds; the next run
settles the abandoned write as after a kill and converges with no duplicate page.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from reconcile.mirror.db import open_engine
from reconcile.mirror.tables import OperationRow, RunRow
from reconcile.sandbox import Fault
from tests.conftest import World
from tests.integration.test_crash import assert_converged, live, start

pytestmark = pytest.mark.slow
__all__ = ["live"]  # the fixture, shared with the kill tests

GRACE = 10  # seconds: well inside Kubernetes' default terminationGracePeriodSeconds (30)


@pytest.mark.parametrize("process", [False, True], ids=["before Notion made it", "after Notion made it"])
def test_sigterm_mid_apply_exits_143_with_its_outcome_and_the_next_run_converges(
    live: World, tmp_path: Path, process: bool
) -> None:
    log, prom = tmp_path / "run.log", tmp_path / "run.prom"
    hold = live.sandbox.faults.add(
        Fault(
            api="notion", kind="hold", method="POST", path=r"^/v1/pages$", times=1, after=3, process=process
        )
    )
    run = start(
        live, tmp_path, "run", "--log-format", "json", "--log-file", str(log), "--metrics-textfile", str(prom)
    )
    try:
        assert hold.arrived.wait(60), run.communicate(timeout=60)
        run.send_signal(signal.SIGTERM)
        assert run.wait(GRACE) == 143, run.communicate()
    finally:
        if run.poll() is None:
            run.kill()
        hold.release()
        live.sandbox.faults.clear()
        assert live.sandbox.drain(30)

    entries = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    outcome = entries[-1]
    assert outcome["level"] == "ERROR" and outcome["event"].startswith("run FAILED: stopped by SIGTERM")
    assert outcome["run_id"] == 1 and outcome["status"] == "failed"
    found = {s.name: s.value for f in text_string_to_metric_families(prom.read_text()) for s in f.samples}
    assert found["notion_sync_failures_total"] >= 1 and found["reconcile_last_run_success"] == 0

    engine = open_engine(live.mirror_url)
    with engine.connect() as connection:
        (status,) = connection.execute(select(RunRow.status).where(RunRow.id == 1)).one()
        states = [
            row.state
            for row in connection.execute(select(OperationRow.state).where(OperationRow.run_id == 1))
        ]
    engine.dispose()
    assert status == "failed"  # not left "running"
    assert states.count("applied") == 3 and states.count("ambiguous") == 1  # the one in flight, journalled
    assert len(live.pages()) == (4 if process else 3)
    assert_converged(live)  # one page per item: the abandoned create was looked up, not repeated
