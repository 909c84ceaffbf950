"""What Notion does to a value that nobody foresaw still converges: the page object a write answers with
is Notion's own form of the value (the echo rule), and a value that never takes is written at most twice
and then reported as not converging (CONTRACT §10)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from reconcile.clock import FakeClock
from reconcile.sandbox import Sandbox
from tests.conftest import World, cli


def collapse(text: str) -> str:
    """A normalisation the job cannot foresee: runs of spaces collapsed, the ends trimmed."""
    return re.sub(r" +", " ", text).strip()


def test_a_value_notion_stores_in_its_own_form_is_written_once_and_never_again(
    world: World, clock: FakeClock
) -> None:
    world.sandbox.notion.text_normaliser = collapse
    odd = world.issue(title="  Fix   the   login  ")
    plain = world.issue(title="Plain title")

    runs = []
    for _ in range(3):
        runs.append(world.run())
        clock.advance(600)

    assert [run.status for run in runs] == ["ok", "ok", "ok"]
    writes = [[op.key for op in run.plan.writes] for run in runs if run.plan is not None]
    assert sorted(writes[0]) == sorted([odd["html_url"], plain["html_url"]])  # the creates
    assert writes[1] == [] and writes[2] == []  # never written again
    assert runs[2].plan is not None and runs[2].plan.nonconverging == ()


def test_a_value_that_never_takes_is_written_at_most_twice_then_reported(
    sandbox: Sandbox, mirror_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    world = World(sandbox, mirror_url, clock)
    issue = world.issue(title="Fix   login")
    assert world.run().status == "ok"
    page_id = world.page_for(issue["html_url"])["id"]
    writes_of_name = []
    for n in range(4):  # each time, Notion's value moves away from what the job sent
        world.sandbox.notion.human_edit(
            page_id, {"Name": {"title": [{"text": {"content": f"Fix login ({n})"}}]}}
        )
        world.sandbox.notion.text_normaliser = collapse
        clock.advance(600)
        result = world.run()
        assert result.status == "ok", result.error
        writes_of_name.append(sum(1 for op in result.plan.writes if "Name" in op.changes))  # type: ignore[union-attr]

    assert writes_of_name[:1] == [1]  # corrected once (and Notion kept its own form)...
    assert sum(writes_of_name) <= 2  # ...at most once more, and then never: not converging
    assert writes_of_name[-1] == 0
    stuck = result.plan.nonconverging  # type: ignore[union-attr]
    assert [(s.page_id, s.property, s.sent) for s in stuck] == [(page_id, "Name", "Fix   login")]

    config = str(world.write_config(tmp_path / "config.yaml"))
    plan = json.loads(cli("plan", "--format", "json", "-c", config).stdout)
    assert [(s["property"], s["sent"], s["stored"]) for s in plan["nonconverging"]] == [
        ("Name", "Fix   login", "Fix login")
    ]
    status = cli("status", "-c", config)
    assert "Not converging" in status.stdout and "Name" in status.stdout
