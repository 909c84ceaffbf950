"""Rendering, pure: plans and stale lists as text (own sections), CONTRACT §8 JSON and markdown."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from reconcile.model import Change, Drift, ItemRef, Operation, Orphan, Plan, StalePage
from reconcile.report import dumps, plan_json, plan_json_chunks, render_plan, render_stale, summary_line
from tests.unit.test_mapping import item

NOW = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
URL = "https://github.com/acme/web/issues/7"
REF = ItemRef("acme/web", 7, "issue")

STALE_ITEM = StalePage(
    "page-stale",
    URL,
    "Fix | login",
    "In Progress",
    NOW - timedelta(days=20),
    item(assignees=("alice", "bob")),
)
STALE_BY_HAND = StalePage("page-hand", None, "Hand-made", "In Progress", NOW - timedelta(days=30))


def a_plan(stale_changes: dict[str, Change] | None = None) -> Plan:
    update = Operation("update", URL, "page-1", {"Status": Change("In Progress", "Done")}, "drift", REF, 1)
    stale_op = Operation("stale", URL, "page-stale", stale_changes or {}, "In Progress, idle", REF, 1)
    return Plan(
        generated_at=NOW,
        database_id="db",
        operations=(update, stale_op),
        unchanged=3,
        drift=(Drift(URL, "page-1", "Priority", "High", "Low", "on_change"),),
        orphans=(Orphan("https://github.com/acme/web/issues/9", "page-9", "deleted on GitHub (gone)"),),
        stale=(STALE_ITEM,),
        linked=4,
    )


# -- plans ---------------------------------------------------------------------------------------


def test_plan_json_lists_operations_drift_and_orphans_as_the_contract_shapes_them() -> None:
    body = json.loads(render_plan(a_plan(), "json"))
    assert body["format_version"] == 1 and body["generated_at"] == "2026-02-01T12:00:00Z"
    assert body["summary"] == {
        "create": 0,
        "update": 1,
        "recreate": 0,
        "archive": 0,
        "stale": 1,
        "unchanged": 3,
    }
    assert [op["action"] for op in body["operations"]] == ["update", "stale"]
    assert body["operations"][1]["changes"] == {}
    assert body["drift"] == [
        {
            "key": URL,
            "page_id": "page-1",
            "property": "Priority",
            "notion": "High",
            "expected": "Low",
            "policy": "on_change",
        }
    ]
    assert body["orphans"] == [
        {
            "key": "https://github.com/acme/web/issues/9",
            "page_id": "page-9",
            "reason": "deleted on GitHub (gone)",
        }
    ]


def test_plan_text_puts_stale_pages_drift_and_orphans_in_their_own_sections() -> None:
    text = render_plan(a_plan(), "text")
    sections = [line for line in text.splitlines() if line and not line.startswith(" ")]
    assert sections == [
        "Plan for database db at 2026-02-01T12:00:00Z",
        "Stale pages (1):",
        "Drift left alone by the policies (1, informational):",
        "Orphans (1, reported; set apply.on_orphan: archive to trash them):",
        "Plan: 0 to create, 1 to update, 0 to recreate, 0 to archive, 1 stale; 3 unchanged.",
    ]
    head, stale_part = text.split("Stale pages (1):")
    assert "~ update   acme/web#7 (page page-1)" in head and "page-stale" not in head  # not an operation
    assert "Priority" not in head  # drift is never listed as an operation
    assert '"Fix | login" (page page-stale): In Progress, last activity 2026-01-12 (20 days)' in stale_part
    assert "acme/web#7 is open, assigned to alice, bob" in stale_part
    assert 'Priority: Notion has "High", the mapping says "Low" (on_change)' in text


def test_plan_text_shows_what_a_stale_action_writes_under_the_stale_page() -> None:
    text = render_plan(a_plan({"Status": Change("In Progress", "Backlog")}), "text")
    stale_part = text.split("Stale pages (1):")[1]
    assert 'Status: "In Progress" -> "Backlog"' in stale_part.split("Drift")[0]


def test_plan_json_in_pieces_is_the_same_text_an_operation_a_piece() -> None:
    """What `plan --format json` prints for 100,000 writes is built an operation at a time, never whole."""
    many = Plan(
        generated_at=NOW,
        database_id="db",
        operations=(*a_plan().operations, *creates([3, 1, 2], 'acme/ünï\\code"')),
        unchanged=3,
        drift=a_plan().drift,
    )
    for plan in (a_plan(), many, Plan(generated_at=NOW, database_id="db")):
        pieces = list(plan_json_chunks(plan))
        assert "".join(pieces) == dumps(plan_json(plan))
        assert len(pieces) == (len(plan.operations) + 2 if plan.operations else 1)
        assert all(piece.count('"action"') <= 1 for piece in pieces)


def test_plan_markdown_has_a_table_per_section() -> None:
    markdown = render_plan(a_plan({"Status": Change("In Progress", "Backlog")}), "markdown")
    lines = markdown.splitlines()
    assert lines[0] == "### reconcile plan — 0 create, 1 update, 0 recreate, 0 archive, 1 stale, 3 unchanged"
    assert [line for line in lines if line.startswith("####")] == [
        "#### Stale pages (1)",
        "#### Drift left alone (1)",
        "#### Orphans (1)",
    ]
    assert (
        f"| ~ update | [acme/web#7]({URL}) | [`page-1`](https://www.notion.so/page1) | "
        '**Status**: "In Progress" → "Done" | drift |'
    ) in lines
    stale_row = next(line for line in lines if line.startswith("| [`page-stale`]"))
    assert "Fix \\| login" in stale_row  # a pipe in a title must not break the table
    assert stale_row.endswith('**Status**: "In Progress" → "Backlog" |')
    assert f'| [acme/web#7]({URL}) | Priority | "High" | "Low" | on_change |' in lines
    assert (
        "| [acme/web#9](https://github.com/acme/web/issues/9) | [`page-9`](https://www.notion.so/page9) |"
        in (markdown)
    )
    assert not any(line.startswith("| ! stale") for line in lines)  # stale pages are not in the operations


def test_a_plan_without_anything_to_do_says_so_in_every_format() -> None:
    empty = Plan(generated_at=NOW, database_id="db", unchanged=5)
    assert "No changes: Notion matches GitHub." in render_plan(empty, "text")
    assert "No changes: Notion matches GitHub." in render_plan(empty, "markdown")
    assert "Stale pages" not in render_plan(empty, "text") + render_plan(empty, "markdown")
    body = json.loads(render_plan(empty, "json"))
    assert body["operations"] == [] and "drift" not in body and "orphans" not in body


# -- stale lists ---------------------------------------------------------------------------------


def test_stale_json_is_exactly_the_contract_shape() -> None:
    body = json.loads(render_stale([STALE_ITEM, STALE_BY_HAND], NOW, "json"))
    assert body == {
        "generated_at": "2026-02-01T12:00:00Z",
        "stale": [
            {
                "page_id": "page-stale",
                "key": URL,
                "title": "Fix | login",
                "status": "In Progress",
                "last_activity": "2026-01-12T12:00:00Z",
                "github": {"repo": "acme/web", "number": 7, "state": "open", "assignees": ["alice", "bob"]},
            },
            {
                "page_id": "page-hand",
                "key": None,
                "title": "Hand-made",
                "status": "In Progress",
                "last_activity": "2026-01-02T12:00:00Z",
                "github": None,
            },
        ],
    }


def test_stale_text_and_markdown_name_page_title_status_activity_and_github_state() -> None:
    text = render_stale([STALE_ITEM, STALE_BY_HAND], NOW, "text")
    first, second = text.splitlines()[1:]
    assert text.splitlines()[0] == "Stale pages (2):"
    assert "page-stale" in first and "In Progress" in first and "2026-01-12" in first
    assert "acme/web#7 is open, assigned to alice, bob" in first
    assert "page-hand" in second and "no GitHub item" in second

    markdown = render_stale([STALE_ITEM, STALE_BY_HAND], NOW, "markdown").splitlines()
    assert markdown[:4] == [
        "### Stale pages (2)",
        "",
        "| page | title | status | last activity | GitHub |",
        "|---|---|---|---|---|",
    ]
    assert markdown[4] == (
        "| [`page-stale`](https://www.notion.so/pagestale) | Fix \\| login | In Progress | 2026-01-12 (20 d) "
        f"| [acme/web#7]({URL}) (open; alice, bob) |"
    )
    assert markdown[5] == (
        "| [`page-hand`](https://www.notion.so/pagehand) | Hand-made | In Progress | 2026-01-02 (30 d) | — |"
    )


def test_no_stale_pages_in_every_format() -> None:
    assert render_stale([], NOW, "text") == "No stale pages."
    assert render_stale([], NOW, "markdown") == "### Stale pages (0)\n\nNone."
    assert json.loads(render_stale([], NOW, "json")) == {"generated_at": "2026-02-01T12:00:00Z", "stale": []}


# -- volume and order ----------------------------------------------------------------------------


def creates(numbers: list[int], repo: str = "acme/web") -> list[Operation]:
    return [
        Operation(
            "create",
            f"https://github.com/{repo}/issues/{n}",
            None,
            {"Name": Change(None, f"Item {n}")},
            "no page for this item",
            ItemRef(repo, n, "issue"),
            n,
        )
        for n in numbers
    ]


def test_items_are_listed_by_repository_then_number_numerically() -> None:
    plan = Plan(NOW, "db", (*creates([10, 2, 1]), *creates([3], "acme/api")))

    text = render_plan(plan, "text")
    markdown = render_plan(plan, "markdown")
    listed = [op["github"]["number"] for op in json.loads(render_plan(plan, "json"))["operations"]]

    order = ["acme/api#3", "acme/web#1", "acme/web#2", "acme/web#10"]
    assert [line.split()[2] for line in text.splitlines() if "+ create" in line] == order
    assert [
        row.split("[")[1].split("]")[0] for row in markdown.splitlines() if "| + create |" in row
    ] == order
    assert listed == [3, 1, 2, 10]


def test_a_long_plan_is_listed_compactly_unless_verbose() -> None:
    update = Operation("update", URL, "page-1", {"Status": Change("In Progress", "Done")}, "drift", REF, 1)
    plan = Plan(NOW, "db", (update, *creates(list(range(100, 300)))), unchanged=7)

    text = render_plan(plan, "text")
    full = render_plan(plan, "text", verbose=True)
    markdown = render_plan(plan, "markdown")

    assert "  200 create, 1 update; the first 20:" in text or "  1 update, 200 create; the first 20:" in text
    assert sum("+ create" in line or "~ update" in line for line in text.splitlines()) == 20
    assert "… and 181 more operations (--verbose lists them all)" in text
    assert text.splitlines()[-1] == summary_line(plan)
    assert sum("+ create" in line for line in full.splitlines()) == 200 and "more operations" not in full
    assert sum(line.startswith("| + create") for line in markdown.splitlines()) == 19
    assert "… and 181 more operations" in markdown
    assert render_plan(plan, "text", quiet=True) == summary_line(plan)
    assert len(json.loads(render_plan(plan, "json"))["operations"]) == 201
