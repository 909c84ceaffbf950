"""The demo's sample data."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sandbox_helpers import notion_client

from reconcile.clock import FakeClock
from reconcile.sandbox import Sandbox
from reconcile.sandbox.sample import LABELS, build_sample


def test_sample_data(clock: FakeClock) -> None:
    with Sandbox(clock=clock) as sb:
        info = build_sample(sb)
        items = [item for repo in info.repos for item in sb.github.issues(repo)]
        assert info.repos == ("acme/web", "acme/api") and 24 <= len(items) <= 48
        issues = [i for i in items if "pull_request" not in i]
        pulls = [i for i in items if "pull_request" in i]
        reasons = Counter(i["state_reason"] for i in issues if i["state"] == "closed")
        assert reasons["completed"] and reasons["not_planned"] and any(i["state"] == "open" for i in issues)
        assert any(i["assignees"] for i in issues)
        assert any(p["draft"] for p in pulls) and any(p["pull_request"]["merged_at"] for p in pulls)
        assert any(p["state"] == "open" and not p["draft"] for p in pulls)
        assert {label["name"] for i in items for label in i["labels"]} <= set(LABELS)
        assert any(ord(ch) > 0xFFFF for i in items for ch in i["title"])
        assert any(len(i["title"]) >= 250 for i in items)
        ages = [(clock.now().timestamp() - _epoch(i["created_at"])) / 86400 for i in items]
        assert max(ages) <= 60 and min(ages) >= 1
        schema = sb.notion.schema(info.database_id)
        assert {name: prop["type"] for name, prop in schema.items()} == {
            "Name": "title",
            "GitHub URL": "url",
            "Status": "select",
            "Type": "select",
            "Priority": "select",
            "Repository": "select",
            "Labels": "multi_select",
            "Last Updated": "date",
            "Notes": "rich_text",
        }
        assert [o["name"] for o in schema["Status"]["select"]["options"]] == [
            "Backlog",
            "In Progress",
            "In Review",
            "Done",
            "Won't Do",
        ]
        assert sb.notion.pages(info.database_id) == []
        database = notion_client(sb).get(f"/v1/databases/{info.database_id}").json()
        assert database["title"][0]["plain_text"] == "Engineering work"
        titles = [i["title"] for i in items]
    with Sandbox(clock=FakeClock()) as again:
        build_sample(again)
        assert [i["title"] for repo in info.repos for i in again.github.issues(repo)] == titles


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()
