"""The mapping: templates, rules, labels with defaults, list fields, types."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from reconcile.config import PropertySpec
from reconcile.mapping import check_template, compute, expected, render
from reconcile.model import GitHubItem
from reconcile.values import normalise
from tests.conftest import MAPPING

WHEN = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


def item(**fields: Any) -> GitHubItem:
    base: dict[str, Any] = {
        "id": 1,
        "repo": "acme/web",
        "number": 7,
        "kind": "issue",
        "state": "open",
        "title": "Fix login",
        "url": "https://github.com/acme/web/issues/7",
        "created_at": WHEN,
        "updated_at": WHEN,
    }
    return GitHubItem(**{**base, **fields})


def spec(**fields: Any) -> PropertySpec:
    return PropertySpec.model_validate(fields)


def value(prop: dict[str, Any], it: GitHubItem) -> Any:
    s = spec(**prop)
    return normalise(s.type, compute(s, it))


def test_templates_render_fields_lists_booleans_and_times() -> None:
    it = item(labels=("bug", "ui"), assignees=("alice",), merged=False, milestone="v1")
    assert (
        render("{repo}#{number}: {title} [{labels}] {assigned} {milestone}", it)
        == "acme/web#7: Fix login [bug, ui] true v1"
    )
    assert render("{updated_at}", it) == "2026-01-10T12:00:00Z"
    assert render("{{literal}} {closed_at}", it) == "{literal} "


def test_unknown_template_fields_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown field"):
        check_template("{nope}")


def test_rules_take_the_first_rule_whose_conditions_all_hold() -> None:
    status = MAPPING["properties"]["Status"]
    assert value(status, item(state="closed", state_reason="not_planned")) == "Won't Do"
    assert value(status, item(state="closed", state_reason="completed")) == "Done"
    assert value(status, item(kind="pull_request")) == "In Review"
    assert value(status, item(assignees=("bob",))) == "In Progress"
    assert value(status, item()) == "Backlog"


def test_label_conditions_match_any_label_case_insensitively() -> None:
    prop = {
        "type": "select",
        "rules": [{"if": {"labels": ["Urgent", "p0"]}, "then": "Now"}, {"then": "Later"}],
    }
    assert value(prop, item(labels=("URGENT",))) == "Now"
    assert value(prop, item(labels=("p1",))) == "Later"


def test_labels_take_the_first_entry_in_written_order_else_the_default() -> None:
    prop = {"type": "select", "labels": {"priority: high": "High", "bug": "Bug"}, "default": "Medium"}
    assert value(prop, item(labels=("bug", "Priority: High"))) == "High"
    assert value(prop, item(labels=("docs",))) == "Medium"


def test_a_list_field_is_the_list_itself_in_multi_select() -> None:
    assert value({"type": "multi_select", "value": "{labels}"}, item(labels=("b", "a"))) == ("a", "b")
    assert value({"type": "multi_select", "value": "{labels}"}, item()) == ()
    assert value({"type": "multi_select", "value": "{repo}"}, item()) == ("acme/web",)


def test_numbers_checkboxes_and_dates() -> None:
    assert value({"type": "number", "value": "{number}"}, item()) == 7
    assert value({"type": "checkbox", "value": "{merged}"}, item(merged=True)) is True
    assert (
        value(
            {"type": "checkbox", "rules": [{"if": {"draft": True}, "then": True}, {"then": False}]},
            item(draft=True),
        )
        is True
    )
    assert value({"type": "date", "value": "{closed_at}"}, item()) is None
    assert value({"type": "date", "value": "{created_at}"}, item()) == "2026-01-10T12:00:00Z"


def test_a_missing_value_renders_empty_and_is_written_as_no_value() -> None:
    assert value({"type": "rich_text", "value": "{milestone}"}, item()) is None
    assert value({"type": "select", "value": "{state_reason}"}, item()) is None


def test_expected_always_sets_the_key_to_the_items_url() -> None:
    from reconcile.config import MappingConfig

    props = expected(MappingConfig.model_validate(MAPPING), item())
    assert props["GitHub URL"].value == "https://github.com/acme/web/issues/7"
    assert props["Name"].value == "Fix login"
