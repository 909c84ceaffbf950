"""Select, status and multi-select names as Notion accepts them: trimmed, never blank, no comma, ≤ 100."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from reconcile.values import MAX_OPTION_NAME, encode, normalise, option_name, utf16_len


def test_whitespace_is_trimmed_and_a_blank_name_is_no_value() -> None:
    assert option_name("  Done \n") == "Done"
    assert option_name(" ") is None and option_name("\t\n") is None and option_name("") is None
    assert encode("select", " ") == {"select": None}


def test_multi_select_drops_blank_names_and_trims_the_others() -> None:
    assert normalise("multi_select", [" ", "bug", " bug ", "\t", "a,b"]) == ("a;b", "bug")
    assert encode("multi_select", [" "]) == {"multi_select": []}


def test_a_name_cut_at_100_does_not_end_on_a_space() -> None:
    assert option_name("x" * 99 + " yz") == "x" * 99


@given(st.one_of(st.text(), st.lists(st.text(), max_size=5)))
def test_every_name_is_one_notion_accepts_and_normalising_is_stable(value: object) -> None:
    names = normalise("multi_select", value)
    for name in names:  # type: ignore[union-attr]
        assert name and name == name.strip() and "," not in name and utf16_len(name) <= MAX_OPTION_NAME
    assert normalise("multi_select", names) == names
