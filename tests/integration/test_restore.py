"""`reconcile restore --as-of`: mapped properties go back to the values the mirror saw at that instant."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

from reconcile.jobs.restore import restore
from tests.conftest import World, cli


def test_restore_puts_values_back_as_they_were_at_an_instant(world: World) -> None:
    issue = world.issue(title="Keep me", labels=["priority: low"])
    world.run()
    page = world.page_for(issue["html_url"])
    world.clock.advance(3600)  # type: ignore[attr-defined]
    before_the_mistake = world.clock.now()
    world.clock.advance(3600)  # type: ignore[attr-defined]
    world.run(
        force=True,
        mapping__properties__Name__value="{repo}",
        mapping__properties__Priority__policy="overwrite",
        mapping__properties__Priority__default="Low",
        mapping__properties__Priority__labels={},
    )
    assert world.page_for(issue["html_url"])["properties"]["Name"]["title"][0]["plain_text"] == "acme/web"

    ctx = world.context()
    dry = restore(ctx, before_the_mistake, dry_run=True)
    (op,) = dry.plan.operations  # type: ignore[union-attr]
    assert op.page_id == page["id"] and op.changes["Name"].after == "Keep me"
    assert world.page_for(issue["html_url"])["properties"]["Name"]["title"][0]["plain_text"] == "acme/web"

    done = restore(ctx, before_the_mistake)
    ctx.close()
    assert done.status == "ok" and done.applied.applied == 1
    assert world.page_for(issue["html_url"])["properties"]["Name"]["title"][0]["plain_text"] == "Keep me"


def test_metrics_are_pushed_to_a_pushgateway(world: World, tmp_path: Path) -> None:
    received: list[tuple[str, bytes]] = []

    class Gateway(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            received.append((self.path, self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.handle_request)
    thread.start()
    world.issue(title="Counted")
    config = str(world.write_config(tmp_path / "config.yaml"))
    done = cli(
        "run", "--format", "json", "--pushgateway", f"http://127.0.0.1:{server.server_port}", "-c", config
    )
    thread.join(30)
    server.server_close()
    assert done.returncode == 0 and json.loads(done.stdout)["applied"] == 1
    ((path, body),) = received
    assert path == f"/metrics/job/reconcile/board/{world.database_id}"  # a group per board
    assert b'reconcile_operations_total{action="create",result="applied"} 1.0' in body
