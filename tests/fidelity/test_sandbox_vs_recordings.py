"""The sandbox answers a recorded write the way Notion answered it, in every part the job reads."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from reconcile.clock import FakeClock
from reconcile.sandbox import Sandbox
from reconcile.values import decode
from tests.fidelity.recordings_io import case_id, load

WRITES = load("notion_write_readback.json")
PROPERTY = "Recorded"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(clock=FakeClock(), validate_requests=True) as sb:
        yield sb


def schema_for(pair: dict[str, Any]) -> dict[str, Any]:
    """A database with the recorded property (its options as Notion answered them)."""
    kind, answered = pair["type"], pair["answered"][pair["type"]]
    if kind == "title":
        return {PROPERTY: {"title": {}}}
    names = [answered["name"]] if isinstance(answered, dict) and "name" in answered else []
    names += [option["name"] for option in answered] if kind == "multi_select" else []
    config = (
        {"options": [{"name": name} for name in names]}
        if kind in ("select", "status", "multi_select")
        else {}
    )
    return {"Name": {"title": {}}, PROPERTY: {kind: config}}


def as_sandbox_would_get_it(sandbox: Sandbox, value: Any) -> Any:
    """The recorded request with the recording workspace's ids swapped for the sandbox's.

    An option named together with its id loses the id (it names an option of that workspace); a user
    mention points at the sandbox's person.
    """
    value = copy.deepcopy(value)
    if isinstance(value, dict) and "name" in value:
        value.pop("id", None)
    for part in value if isinstance(value, list) else []:
        mention = part.get("mention") if isinstance(part, dict) else None
        if mention and mention.get("type") == "user":
            mention["user"]["id"] = sandbox.notion.person_id
    return value


def send(sandbox: Sandbox, pair: dict[str, Any]) -> dict[str, Any]:
    version = pair["_source"]["notion_version"]
    database = sandbox.notion.create_database("Recorded", schema_for(pair))
    parent = (
        {"data_source_id": sandbox.notion.data_source_id(database)}
        if version >= "2025-09-03"
        else {"database_id": database}
    )
    kind = pair["type"]
    body = {
        "parent": parent,
        "properties": {PROPERTY: {kind: as_sandbox_would_get_it(sandbox, pair["sent"][kind])}},
    }
    headers = {"Authorization": f"Bearer {sandbox.notion_token}", "Notion-Version": version}
    answer = requests.post(f"{sandbox.notion_url}/v1/pages", json=body, headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["properties"][PROPERTY])


def shape(prop: dict[str, Any]) -> Any:
    """What the job reads of a property: its decoded value; rich text part by part (mentions by kind)."""
    kind = prop["type"]
    if kind in ("title", "rich_text") and any(part["type"] == "mention" for part in prop[kind]):
        return [
            (p["type"], p["mention"]["type"] if p["type"] == "mention" else p["plain_text"])
            for p in prop[kind]
        ]
    return decode(prop).value


@pytest.mark.parametrize("pair", WRITES, ids=[case_id(p) for p in WRITES])
def test_the_sandbox_keeps_a_recorded_write_as_notion_did(sandbox: Sandbox, pair: dict[str, Any]) -> None:
    ours = send(sandbox, pair)
    recorded = pair["answered"]
    assert ours["type"] == recorded["type"]
    assert shape(ours) == shape(recorded)
    if pair["type"] == "date":  # the stored form itself: minute, offset, time_zone null
        assert ours["date"] == recorded["date"]
