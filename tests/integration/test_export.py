"""`reconcile export`: a complete read of the database as JSON or CSV, to a file or stdout (backups)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tests.conftest import World, cli

TITLES = (
    "Commas, everywhere, really",
    'She said "hi", then left',
    "Line one\nline two",
    "🚀 Launch 👩‍💻 the thing",
    "Plain",
)


def a_board(world: World, tmp_path: Path) -> tuple[str, dict[str, str]]:
    """Issues with awkward titles synced to pages, one page made by hand and one trashed; the config."""
    for title in TITLES:
        world.issue(title=title, labels=["bug", "priority: high"])
    doomed = world.issue(title="Trashed later")
    world.run()
    hand = world.sandbox.notion.human_create(
        world.database_id, {"Name": {"title": [{"text": {"content": "Made by hand"}}]}}
    )
    world.sandbox.notion.trash_page(world.page_for(doomed["html_url"])["id"])
    titles = {page["id"]: _title(page) for page in world.pages()}
    assert hand["id"] in titles and len(titles) == len(TITLES) + 1
    world.sandbox.reset_counts()
    return str(world.write_config(tmp_path / "config.yaml")), titles


def _title(page: dict[str, object]) -> str:
    return "".join(part["plain_text"] for part in page["properties"]["Name"]["title"])  # type: ignore[index]


def test_export_json_to_stdout_names_every_live_page_with_its_values(world: World, tmp_path: Path) -> None:
    config, titles = a_board(world, tmp_path)

    done = cli("export", "-c", config)

    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["database_id"] == world.database_id and body["source"] == "notion"
    assert body["count"] == len(body["pages"]) == len(titles)
    pages = {page["id"]: page for page in body["pages"]}
    assert {pid: page["properties"]["Name"] for pid, page in pages.items()} == titles
    some = next(page for page in body["pages"] if page["properties"]["Name"] == "Plain")
    assert some["properties"]["Labels"] == ["bug", "priority: high"]
    assert some["properties"]["Priority"] == "High" and some["properties"]["GitHub URL"].startswith("http")
    assert some["url"] == f"https://www.notion.so/{some['id'].replace('-', '')}"
    assert world.notion_writes() == 0


def test_export_csv_to_a_file_has_a_header_and_one_row_per_page_whatever_the_titles(
    world: World, tmp_path: Path
) -> None:
    config, titles = a_board(world, tmp_path)
    out = tmp_path / "backup.csv"

    done = cli("export", "--format", "csv", "--out", str(out), "-c", config)

    assert done.returncode == 0, done.stderr
    assert f"Exported {len(titles)} pages" in done.stdout
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    assert header[:4] == ["id", "url", "created_time", "last_edited_time"] and "Name" in header
    assert len(body) == len(titles)
    name = header.index("Name")
    assert {row[0]: row[name] for row in body} == titles
    assert set(TITLES) <= {row[name] for row in body}
    assert not list(tmp_path.glob(".*partial"))


def test_export_from_the_mirror_needs_no_tokens(world: World, tmp_path: Path) -> None:
    config, titles = a_board(world, tmp_path)
    assert cli("pull", "--full", "-c", config).returncode == 0
    tokenless = str(
        world.write_config(
            tmp_path / "tokenless.yaml", notion__token="${NOTION_API_KEY}", github__token="${GITHUB_TOKEN}"
        )
    )
    world.sandbox.reset_counts()

    done = cli("export", "--from-mirror", "--out", "-", "-c", tokenless)

    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["source"] == "mirror"
    assert {page["id"]: page["properties"]["Name"] for page in body["pages"]} == titles
    assert world.sandbox.count(api="notion") == 0
    live = cli("export", "-c", tokenless)  # a live read does need the Notion token
    assert live.returncode == 1 and "NOTION_API_KEY" in live.stderr
    assert "NOTION_API_KEY" in json.loads(live.stdout)["error"]  # JSON, the default format, even then


def test_a_failed_export_prints_only_the_error_and_keeps_the_last_backup(
    world: World, tmp_path: Path
) -> None:
    config, _ = a_board(world, tmp_path)
    out = tmp_path / "backup.json"
    out.write_text("yesterday's backup")
    world.sandbox.notion.revoke_token(world.sandbox.notion_token)

    as_json = cli("export", "--out", str(out), "-c", config)
    to_stdout = cli("export", "--format", "csv", "-c", config)

    assert as_json.returncode == 1 and "Traceback" not in as_json.stderr
    assert "NOTION_API_KEY" in json.loads(as_json.stdout)["error"]
    assert out.read_text() == "yesterday's backup" and not list(tmp_path.glob(".*partial"))
    assert to_stdout.returncode == 1 and to_stdout.stdout == ""
    assert to_stdout.stderr.count("\n") == 1 and to_stdout.stderr.startswith("error: ")
