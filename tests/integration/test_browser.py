"""The status page in a real headless browser (Debian's chromium): it renders, its links go where they should.

The installed `reconcile serve` serves a mirror that two real runs filled (one with a write Notion refused);
chromium loads `/`, dumps the DOM it built and takes a screenshot, kept in the test's temp dir.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from reconcile.sandbox import Fault, Sandbox
from tests.conftest import World, cli
from tests.integration.test_serve import serve_process

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# CI installs chromium (.ci/run), so there a missing browser is a failure, not a skip.
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="chromium is not installed (apt-get install chromium)",
)


class Page(HTMLParser):
    """Links, chart bars and table rows of a rendered page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.bars = 0
        self.rows: dict[str, int] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "a" and found.get("href"):
            self.links.append(str(found["href"]))
        if tag == "rect":
            self.bars += 1
        if tag == "tr" and found.get("class"):
            self.rows[str(found["class"])] = self.rows.get(str(found["class"]), 0) + 1


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None, "chromium is not installed"
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",  # root in a container: chromium's own sandbox cannot start
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-extensions",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            "--window-size=1280,1600",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


@needs_chromium
def test_the_status_page_renders_in_chromium_with_links_to_github_and_notion(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    world = World(sandbox, f"sqlite:///{tmp_path / 'mirror.db'}", sandbox.clock)
    done = world.issue(title="Ship the login page", labels=["bug"])
    world.issue("acme/api", title="Rate limit the export", assignees=["alice"])
    config = str(world.write_config(tmp_path / "config.yaml"))
    assert cli("run", "-c", config).returncode == 0
    edited = world.page_for(done["html_url"])["id"]
    sandbox.notion.human_edit(edited, {"Priority": {"select": {"name": "High"}}})  # on_change: drift, linked
    refused = world.issue(title="A title Notion refuses")
    sandbox.faults.add(
        Fault(
            api="notion",
            kind="status",
            status=400,
            method="POST",
            path=r"^/v1/pages$",
            message="body failed validation",
        )
    )
    assert cli("run", "-c", config).returncode == 3  # partial: one write failed
    sandbox.faults.clear()

    with serve_process(config) as (process, base):
        dom = chromium(tmp_path / "profile", "--dump-dom", f"{base}/")
        screenshot = tmp_path / "status.png"
        shot = chromium(tmp_path / "profile", f"--screenshot={screenshot}", f"{base}/")
        process.terminate()

    assert dom.returncode == 0, dom.stderr[-2000:]
    page = Page()
    page.feed(dom.stdout)
    assert "reconcile — Work" in dom.stdout and "unhealthy" not in dom.stdout.split("</header>")[0]
    assert page.bars == 2 and page.rows.get("run") == 2  # two runs, two bars in the chart
    assert page.rows.get("failure") == 1 and "body failed validation" in dom.stdout
    assert refused["html_url"] in page.links  # the failed item links to GitHub
    assert page.rows.get("drift") == 1
    assert f"https://www.notion.so/{edited.replace('-', '')}" in page.links and done["html_url"] in page.links
    assert {"/health/sync", "/metrics"} <= set(page.links)
    assert all(link.startswith(("https://github.com/", "https://www.notion.so/", "/")) for link in page.links)

    assert shot.returncode == 0 and screenshot.exists(), shot.stderr[-2000:]
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 20_000
    print(f"screenshot: {screenshot}")
