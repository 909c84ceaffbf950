"""`schema check` / `schema fix` through the CLI against the sandbox: names as Notion has them."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from reconcile.sandbox import Sandbox
from reconcile.sandbox.sample import SCHEMA as SAMPLE_SCHEMA
from tests.conftest import cli

SAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"


def env_for(sandbox: Sandbox, database_id: str, tmp_path: Path) -> dict[str, str]:
    return {
        "NOTION_API_KEY": sandbox.notion_token,
        "NOTION_DB_ID": database_id,
        "NOTION_API_URL": sandbox.notion_url,
        "GITHUB_TOKEN": sandbox.github_token,
        "GITHUB_API_URL": sandbox.github_url,
        "RECONCILE_DATABASE_URL": f"sqlite:///{tmp_path / 'mirror.db'}",
    }


def builtin_status_board(sandbox: Sandbox) -> str:
    """The sample board, but with Notion's built-in Status property (Not started / In progress / Done)."""
    schema = copy.deepcopy(SAMPLE_SCHEMA)
    schema["Status"] = {"status": {}}
    schema["Repository"] = {"select": {"options": [{"name": "acme/web"}, {"name": "acme/api"}]}}
    return sandbox.notion.create_database("Engineering work", schema)


def test_check_names_in_progress_and_suggests_notions_spelling(sandbox: Sandbox, tmp_path: Path) -> None:
    database_id = builtin_status_board(sandbox)
    options = [o["name"] for o in sandbox.notion.schema(database_id)["Status"]["status"]["options"]]
    assert options == ["Not started", "In progress", "Done"]
    env = env_for(sandbox, database_id, tmp_path)

    text = cli("schema", "check", "-c", str(SAMPLE_CONFIG), env=env, cwd=tmp_path)
    data = cli("schema", "check", "--format", "json", "-c", str(SAMPLE_CONFIG), env=env, cwd=tmp_path)

    assert text.returncode == 1 and data.returncode == 1, text.stderr
    assert "Status: has no option 'In Progress'; did you mean `In progress`?" in text.stdout
    problems = json.loads(data.stdout)["problems"]
    assert {
        "property": "Status",
        "problem": "missing_option",
        "expected": "In Progress",
        "actual": None,
        "suggestion": "In progress",
    } in problems
    assert all(set(p) <= {"property", "problem", "expected", "actual", "suggestion"} for p in problems)


def test_fix_stops_rather_than_add_a_second_spelling(sandbox: Sandbox, tmp_path: Path) -> None:
    schema = copy.deepcopy(SAMPLE_SCHEMA)
    schema["Priority"] = {"select": {"options": [{"name": "High"}, {"name": "medium"}, {"name": "Low"}]}}
    schema["labels"] = schema.pop("Labels")
    database_id = sandbox.notion.create_database("Engineering work", schema)
    env = env_for(sandbox, database_id, tmp_path)
    before = sandbox.notion.schema(database_id)

    fixed = cli("schema", "fix", "-c", str(SAMPLE_CONFIG), env=env, cwd=tmp_path)

    assert fixed.returncode == 1, fixed.stdout + fixed.stderr
    assert "not adding the option 'Medium'" in fixed.stdout and "'medium'" in fixed.stdout
    assert "not adding the property 'Labels'" in fixed.stdout and "'labels'" in fixed.stdout
    assert sandbox.notion.schema(database_id) == before
    assert sandbox.writes("notion") == 0
