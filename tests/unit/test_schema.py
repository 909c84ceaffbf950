"""schema check / fix, pure: every value the mapping can produce is an option, near misses are named."""

from __future__ import annotations

import copy
from typing import Any

from reconcile.config import config_from_dict
from reconcile.jobs.schema import compare, near_miss, patch_for
from tests.conftest import MAPPING, SCHEMA

STATUS_DEFAULTS = ["Not started", "In progress", "Done"]


def config(**stale: Any) -> Any:
    mapping = copy.deepcopy(MAPPING)
    return config_from_dict(
        {
            "version": 1,
            "github": {"token": "t", "repos": ["acme/web", "acme/api"]},
            "notion": {"token": "t", "database_id": "d"},
            "mapping": mapping,
            "stale": {"property": "Status", **stale},
        }
    )


def schema(**changes: Any) -> dict[str, Any]:
    """The API's schema of the demo database, with some properties replaced (None removes one)."""
    configs = {**copy.deepcopy(SCHEMA), **changes}
    repositories = {"select": {"options": [{"name": "acme/web"}, {"name": "acme/api"}]}}
    configs["Repository"] = configs.get("Repository") and repositories
    result = {}
    for name, body in configs.items():
        if body is None:
            continue
        kind = next(iter(body))
        inner = dict(body[kind])
        if "options" in inner:
            inner["options"] = [{"id": f"{name}-{o['name']}", **o} for o in inner["options"]]
        result[name] = {"id": name, "name": name, "type": kind, kind: inner}
    return result


def options(*names: str, kind: str = "select") -> dict[str, Any]:
    return {kind: {"options": [{"name": name} for name in names]}}


def test_near_misses_differ_only_by_case_or_spacing() -> None:
    assert near_miss("In Progress", STATUS_DEFAULTS) == "In progress"
    assert near_miss("inprogress", ["In  Progress "]) == "In  Progress "
    assert near_miss("In Review", STATUS_DEFAULTS) is None
    assert near_miss("Done", STATUS_DEFAULTS) is None  # the same name is no near miss


def test_the_demo_database_matches_the_demo_mapping() -> None:
    assert compare(config(), schema()) == []


def test_a_select_mapped_onto_notions_builtin_status_names_the_spelling() -> None:
    problems = compare(config(), schema(Status=options(*STATUS_DEFAULTS, kind="status")))
    assert {
        "property": "Status",
        "problem": "wrong_type",
        "expected": "select",
        "actual": "status",
    } in problems
    assert {
        "property": "Status",
        "problem": "missing_option",
        "expected": "In Progress",
        "actual": None,
        "suggestion": "In progress",
    } in problems
    assert {p["expected"] for p in problems if p["problem"] == "missing_option"} == {
        "Won't Do",
        "In Review",
        "In Progress",
        "Backlog",
    }


def test_stale_status_and_set_status_must_be_options_too() -> None:
    names = ("Backlog", "In Progress", "In Review", "Done", "Won't Do")
    problems = compare(
        config(status="Blocked", action="report", set_status=None), schema(Status=options(*names))
    )
    assert [(p["expected"], p.get("suggestion")) for p in problems] == [("Blocked", None)]
    problems = compare(config(status="in review"), schema(Status=options(*names)))
    assert [(p["expected"], p.get("suggestion")) for p in problems] == [("in review", "In Review")]


def test_a_property_name_that_differs_only_by_case_is_named() -> None:
    problems = compare(config(), schema(Labels=None, labels={"multi_select": {"options": []}}))
    assert problems == [
        {
            "property": "Labels",
            "problem": "missing",
            "expected": "multi_select",
            "actual": None,
            "suggestion": "labels",
        }
    ]


def test_fix_adds_nothing_beside_a_near_miss_and_says_why() -> None:
    cfg = config()
    db = schema(Priority=options("High", "medium", "Low"))
    problems = compare(cfg, db)
    patch, unfixable = patch_for(cfg, db, problems)
    assert patch == {}
    (reason,) = unfixable
    assert "'Medium'" in reason and "'medium'" in reason and "case or spacing" in reason


def test_fix_never_retypes_a_property_to_add_options() -> None:
    cfg = config()
    db = schema(Status=options("Backlog", "Done", kind="status"))
    patch, unfixable = patch_for(cfg, db, compare(cfg, db))
    assert "Status" not in patch
    assert any("is status, the mapping needs select" in reason for reason in unfixable)


def test_fix_still_adds_what_is_simply_missing() -> None:
    cfg = config()
    db = schema(Priority=options("High", "Low"))
    patch, unfixable = patch_for(cfg, db, compare(cfg, db))
    assert unfixable == []
    assert patch == {
        "Priority": {
            "select": {"options": [{"id": "Priority-High"}, {"id": "Priority-Low"}, {"name": "Medium"}]}
        }
    }
