"""Property values: normalising, comparing, splitting text, encoding and decoding."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from reconcile.values import MAX_TEXT, decode, encode, equal, normalise, option_name, split_text, utf16_len


def as_notion_returns(kind: str, written: dict[str, Any]) -> dict[str, Any]:
    """What Notion gives back for a value we wrote (the read shape of the same value)."""
    raw = written[kind]
    if kind in ("title", "rich_text"):
        raw = [{"type": "text", "text": part["text"], "plain_text": part["text"]["content"]} for part in raw]
    elif kind in ("select", "status") and raw:
        raw = {"id": "x", "name": raw["name"], "color": "default"}
    elif kind == "multi_select":
        raw = [{"id": "x", "name": option["name"], "color": "default"} for option in raw]
    elif kind == "date" and raw:
        start = raw["start"]
        if start.endswith("Z"):  # Notion may answer an instant with milliseconds and an offset
            start = start[:-1] + ("" if "." in start else ".000") + "+00:00"
        raw = {"start": start, "end": None, "time_zone": None}
    return {"id": "p", "type": kind, kind: raw}


def test_dates_compare_as_instants() -> None:
    assert equal("date", "2025-01-10T12:00:00Z", "2025-01-10T12:00:00.000+00:00")
    assert equal("date", "2025-01-10T13:00:00+01:00", "2025-01-10T12:00:00Z")
    assert normalise("date", "2025-01-10") == "2025-01-10"


def test_date_times_compare_at_the_minute_notion_keeps() -> None:
    assert normalise("date", "2025-01-10T12:00:37Z") == "2025-01-10T12:00:00Z"
    assert equal("date", "2025-01-10T12:00:01Z", "2025-01-10T12:00:59.999Z")
    assert not equal("date", "2025-01-10T12:00:59Z", "2025-01-10T12:01:00Z")
    assert normalise("date", datetime(2025, 1, 10, 12, 0, 37, 123456, tzinfo=UTC)) == "2025-01-10T12:00:00Z"


def test_a_time_zone_is_folded_into_the_offset_of_a_naive_time() -> None:
    london = {"start": "2026-06-27T05:57:26.066867", "end": None, "time_zone": "Europe/London"}
    assert decode({"type": "date", "date": london}).value == "2026-06-27T04:57:00Z"
    assert equal("date", london, "2026-06-27T05:57:00.000+01:00")
    # an explicit offset wins over the zone; an unknown zone is taken as UTC
    assert normalise("date", {"start": "2026-06-27T05:57:26Z", "time_zone": "Europe/London"}) == (
        "2026-06-27T05:57:00Z"
    )
    assert normalise("date", {"start": "2026-06-27T05:57:26", "time_zone": "Mars/Olympus"}) == (
        "2026-06-27T05:57:00Z"
    )


def test_a_date_range_keeps_its_end() -> None:
    both = {"start": "2022-12-16", "end": "2022-12-18", "time_zone": None}
    assert decode({"type": "date", "date": both}).value == "2022-12-16/2022-12-18"
    assert not equal("date", both, "2022-12-16")
    assert encode("date", "2022-12-16/2022-12-18") == {"date": {"start": "2022-12-16", "end": "2022-12-18"}}
    assert encode("date", "2025-01-10T12:00:37Z") == {"date": {"start": "2025-01-10T12:00:00Z", "end": None}}
    assert encode("date", None) == {"date": None}


def test_multi_select_compares_as_a_set() -> None:
    assert equal("multi_select", ["b", "a"], ("a", "b"))
    assert normalise("multi_select", ["b", "a", "b"]) == ("a", "b")


def test_text_compares_as_plain_text_and_empty_is_no_value() -> None:
    assert normalise("rich_text", "") is None
    assert equal("title", None, "")


def test_select_names_lose_commas_and_stop_at_100_characters() -> None:
    assert option_name("a,b") == "a;b"
    assert option_name("é" * 150) == "é" * 100
    assert utf16_len(option_name("😀" * 80) or "") <= 100


def test_numbers_and_checkboxes() -> None:
    assert normalise("number", "42") == 42 and normalise("number", "4.5") == 4.5
    assert normalise("number", "v1.0") is None
    assert equal("number", 1, 1.0)
    assert normalise("checkbox", "true") is True and normalise("checkbox", None) is False


@given(st.text(min_size=1, max_size=6000))
def test_split_text_keeps_every_character_within_the_limit(text: str) -> None:
    chunks = split_text(text)
    assert "".join(chunks) == text
    assert all(utf16_len(chunk) <= 2000 for chunk in chunks)


def test_text_past_what_one_write_can_hold_is_cut_so_it_never_differs_after_writing() -> None:
    text = "x" * (MAX_TEXT + 10)
    assert len(normalise("rich_text", text) or "") == MAX_TEXT
    assert len(encode("rich_text", text)["rich_text"]) == 100


values_by_kind = {
    "title": st.text(max_size=4500),
    "rich_text": st.text(max_size=300),
    "select": st.text(max_size=120),
    "multi_select": st.lists(st.text(max_size=30), max_size=8),
    "url": st.from_regex(r"https://github\.com/[a-z]{1,8}/[a-z]{1,8}/issues/[0-9]{1,4}", fullmatch=True),
    "number": st.one_of(st.none(), st.integers(-(10**9), 10**9), st.floats(-1e6, 1e6, allow_nan=False)),
    "date": st.datetimes(timezones=st.just(UTC)),
    "checkbox": st.booleans(),
}


@given(
    st.sampled_from(sorted(values_by_kind)).flatmap(
        lambda kind: st.tuples(st.just(kind), values_by_kind[kind])
    )
)
def test_a_value_written_and_read_back_equals_itself(case: tuple[str, Any]) -> None:
    kind, raw = case
    expected = normalise(kind, raw)
    read_back = decode(as_notion_returns(kind, encode(kind, expected))).value
    assert equal(kind, read_back, expected)
