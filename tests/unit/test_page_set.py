"""`page set`, pure: targets, NAME=VALUE arguments, and values read by the property's type."""

from __future__ import annotations

from typing import Any

import pytest

from reconcile.config import config_from_dict
from reconcile.errors import ReconcileError
from reconcile.jobs.page_set import Target, parse_assignments, parse_target, parse_value, policy_note
from tests.conftest import MAPPING

PAGE = "8da2ec67-1c3f-4a5e-9b7d-0123456789ab"
SELECT = {"type": "select", "select": {"options": [{"name": "High"}, {"name": "Low"}, {"name": "Won't Do"}]}}
STATUS = {"type": "status", "status": {"options": [{"name": "Backlog"}, {"name": "Done"}]}}
MULTI = {"type": "multi_select", "multi_select": {"options": [{"name": "Bug"}]}}


def test_targets_are_items_or_page_ids_in_any_spelling() -> None:
    assert parse_target("acme/web#12") == Target(item=("acme/web", 12))
    assert parse_target("https://github.com/acme/web/pull/3") == Target(item=("acme/web", 3))
    for spelling in (
        PAGE,
        PAGE.replace("-", ""),
        PAGE.upper(),
        f"https://www.notion.so/Fix-login-{PAGE.replace('-', '')}",
    ):
        assert parse_target(spelling) == Target(page_id=PAGE), spelling
    with pytest.raises(ReconcileError, match="neither OWNER/REPO#N nor a page id"):
        parse_target("page-one")


def test_assignments_split_at_the_first_equals_sign() -> None:
    assert parse_assignments(["Name=a=b", "Notes=", " Status =Done"]) == {
        "Name": "a=b",
        "Notes": "",
        "Status": "Done",
    }
    for bad, message in (
        (["Status"], "not NAME=VALUE"),
        (["=x"], "not NAME=VALUE"),
        (["A=1", "A=2"], "twice"),
        ([], "at least one"),
    ):
        with pytest.raises(ReconcileError, match=message):
            parse_assignments(bad)


@pytest.mark.parametrize(
    ("schema", "text", "value"),
    [
        (SELECT, "Low", "Low"),
        (SELECT, "low", "Low"),
        (SELECT, " won't do ", "Won't Do"),
        (SELECT, "", None),
        (STATUS, "done", "Done"),
        (MULTI, "bug, docs,, new one", ("Bug", "docs", "new one")),
        (MULTI, "", ()),
        ({"type": "number"}, "3.5", 3.5),
        ({"type": "number"}, "-2", -2),
        ({"type": "number"}, "", None),
        ({"type": "date"}, "2026-02-01", "2026-02-01"),
        ({"type": "date"}, "2026-02-01T10:00:00+01:00", "2026-02-01T09:00:00Z"),
        ({"type": "checkbox"}, "TRUE", True),
        ({"type": "checkbox"}, "false", False),
        ({"type": "title"}, '  Spaced, "quoted" 🚀 ', '  Spaced, "quoted" 🚀 '),
        ({"type": "rich_text"}, "", None),
        ({"type": "url"}, "https://example.com/x", "https://example.com/x"),
    ],
)
def test_values_are_read_by_the_property_type(schema: dict[str, Any], text: str, value: Any) -> None:
    assert parse_value("P", schema, text) == value


@pytest.mark.parametrize(
    ("schema", "text", "message"),
    [
        (
            SELECT,
            "Hgh",
            "P: 'Hgh' is not one of its options (did you mean 'High'?); options: High, Low, Won't Do",
        ),
        (STATUS, "Doing", "'Doing' is not one of its options"),
        ({"type": "number"}, "three", "'three' is not a number"),
        ({"type": "date"}, "tomorrow", "not an ISO-8601 date"),
        ({"type": "checkbox"}, "yes", "'yes' is not true or false"),
        ({"type": "people"}, "alice", "a people property cannot be set"),
    ],
)
def test_bad_values_name_the_property_and_what_is_wrong(
    schema: dict[str, Any], text: str, message: str
) -> None:
    with pytest.raises(ReconcileError) as caught:
        parse_value("P", schema, text)
    assert message in str(caught.value)


def test_the_note_says_what_becomes_of_the_value_by_policy() -> None:
    config = config_from_dict(
        {
            "github": {"repos": ["acme/web"]},
            "notion": {"database_id": "db"},
            "mapping": MAPPING,
        }
    )
    assert (
        policy_note(config, "Priority", "Medium")
        == "Priority stands until GitHub's value changes (policy on_change)"
    )
    assert "next run sets it back to 'Done'" in str(policy_note(config, "Status", "Done"))
    assert "create_only" in str(policy_note(config, "Type", "Bug"))
    assert policy_note(config, "Notes", None) is None
