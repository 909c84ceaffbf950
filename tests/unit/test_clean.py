"""clean: what enters the mirror holds no NUL and no lone surrogate; anything else passes untouched."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from reconcile.mirror.clean import clean, clean_text
from reconcile.model import GitHubItem

AT = datetime(2026, 1, 10, tzinfo=UTC)


def test_nul_is_dropped_and_lone_surrogates_become_the_replacement_character() -> None:
    assert clean_text("a\x00b") == "ab"
    assert clean_text("x\ud800y\udfff") == "x\ufffdy\ufffd"
    assert clean_text("\ud83d\ude00") == "😀"  # a split pair is joined, not replaced
    assert clean_text("plain ✓ 😀") == "plain ✓ 😀"


@given(st.text())
def test_cleaned_text_encodes_as_utf8_without_nul_and_cleaning_is_idempotent(text: str) -> None:
    cleaned = clean_text(text)
    assert "\x00" not in cleaned
    cleaned.encode("utf-8")
    assert clean_text(cleaned) == cleaned


def test_an_item_is_cleaned_field_by_field_and_a_clean_one_is_returned_as_is() -> None:
    item = GitHubItem(
        id=1,
        repo="acme/web",
        number=1,
        kind="issue",
        state="open",
        state_reason=None,
        title="T\x00",
        url="https://github.com/acme/web/issues/1",
        labels=("a\x00", "b"),
        author="n\x00",
        milestone="m\ud800",
        created_at=AT,
        updated_at=AT,
    )
    cleaned = clean(item)
    fields = (cleaned.title, cleaned.labels, cleaned.author, cleaned.milestone)
    assert fields == ("T", ("a", "b"), "n", "m\ufffd")
    assert clean(cleaned) is cleaned
    assert clean({"k\x00": ["v\x00", 1, None]}) == {"k": ["v", 1, None]}


NESTED = st.recursive(
    st.text() | st.integers() | st.none(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=12,
)


@given(NESTED)
def test_whatever_text_a_nested_value_holds_the_cleaned_value_stores_and_a_clean_one_is_untouched(
    value: object,
) -> None:
    """The quick check (one repr) never lets NUL or a lone surrogate through, nor copies a clean value."""
    cleaned = clean(value)
    for text in _strings(cleaned):
        assert "\x00" not in text
        text.encode("utf-8")  # no lone surrogate
    assert clean(cleaned) is cleaned


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for key, part in value.items() for s in _strings(key) + _strings(part)]
    if isinstance(value, list):
        return [s for part in value for s in _strings(part)]
    return []
