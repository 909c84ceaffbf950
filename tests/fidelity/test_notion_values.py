"""Our decoders and the precision rule against recorded real Notion answers (recordings/SOURCES.md)."""

from __future__ import annotations

from typing import Any

import pytest

from reconcile.clients.notion import page_from_api
from reconcile.values import decode, encode, equal, normalise
from tests.fidelity.recordings_io import case_id, load, written_value

PROPERTY_VALUES = load("notion_property_values.json")
WRITES = load("notion_write_readback.json")
PAGES = load("notion_pages.json")


def as_value(expected: Any) -> Any:
    """The JSON form of an expected value as the decoder gives it (lists are sorted tuples)."""
    return tuple(expected) if isinstance(expected, list) else expected


@pytest.mark.parametrize("case", PROPERTY_VALUES, ids=[case_id(c) for c in PROPERTY_VALUES])
def test_every_recorded_property_decodes_to_its_value(case: dict[str, Any]) -> None:
    decoded = decode(case["property"])
    assert decoded.type == case["property"]["type"]
    assert decoded.value == as_value(case["expected"])


def test_the_recordings_cover_every_type_we_read_or_write() -> None:
    kinds = {case["property"]["type"] for case in PROPERTY_VALUES}
    read_or_written = {
        *("title", "rich_text", "select", "status", "multi_select", "url", "number", "date", "checkbox"),
        *("people", "relation", "formula", "unique_id", "created_time", "last_edited_time", "email"),
        "phone_number",
    }
    assert read_or_written <= kinds
    parts = {part["type"] for case in PROPERTY_VALUES for part in case["property"].get("rich_text", [])}
    assert {"text", "mention", "equation"} <= parts
    assert any("/" in str(case["expected"]) for case in PROPERTY_VALUES if case["property"]["type"] == "date")


@pytest.mark.parametrize("pair", WRITES, ids=[case_id(p) for p in WRITES])
def test_what_was_sent_equals_what_notion_kept_at_notions_precision(pair: dict[str, Any]) -> None:
    kind = pair["type"]
    sent = written_value(kind, pair["sent"][kind])
    stored = decode(pair["answered"]).value
    assert equal(kind, sent, stored), (sent, stored)
    # and our own write of that value reads back unchanged: encode -> Notion's answer -> decode
    assert equal(kind, decode({"type": kind, **encode(kind, normalise(kind, sent))}).value, stored)


def test_the_write_recordings_cover_every_type_we_write_and_each_version() -> None:
    assert {pair["type"] for pair in WRITES} >= {
        *("title", "rich_text", "select", "status", "multi_select", "url", "number", "date", "checkbox"),
    }
    versions = {pair["_source"]["notion_version"] for pair in WRITES if pair["type"] == "date"}
    assert versions == {"2022-06-28", "2025-09-03", "2026-03-11"}


def test_a_date_time_with_seconds_is_kept_to_the_minute() -> None:
    floored = [pair for pair in WRITES if pair["type"] == "date" and "T" in pair["sent"]["date"]["start"]]
    assert floored and all(pair["answered"]["date"]["start"][17:19] == "00" for pair in floored)
    with_seconds = [p for p in floored if p["sent"]["date"]["start"][17:19] != "00"]
    assert with_seconds  # so the rule is tested on values that really lose their seconds
    for pair in with_seconds:
        sent = pair["sent"]["date"]
        assert not sent.get("time_zone") or decode(pair["answered"]).value == normalise("date", sent)


@pytest.mark.parametrize("answer", PAGES, ids=[case_id(p) for p in PAGES])
def test_recorded_pages_and_lists_read_as_pages(answer: dict[str, Any]) -> None:
    raw = answer["object"]
    pages = raw["results"] if raw["object"] == "list" else [raw]
    assert raw.get("request_id")  # every recorded answer carries it; nothing of ours trips on it
    for page in pages:
        read = page_from_api(page, answer["key_property"])
        assert read.id == page["id"] and read.in_trash == bool(page["in_trash"])
        assert read.last_edited_time.second == 0  # Notion's page timestamps are minutes too
        assert set(read.properties) == set(page["properties"])
        url = page["properties"].get(answer["key_property"], {}).get("url")
        assert read.key == url


def test_a_trashed_page_is_in_trash_but_not_is_archived() -> None:
    trashed = [answer["object"] for answer in PAGES if answer["object"].get("in_trash")]
    assert {page.get("is_archived") for page in trashed} == {False}
    assert all(page_from_api(page, "URL").in_trash for page in trashed)
    newest = [a["object"] for a in PAGES if a["_source"]["notion_version"] == "2026-03-11"]
    assert newest and all("archived" not in page for page in newest if page["object"] == "page")
