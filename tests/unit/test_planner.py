"""The planner, pure: creates, updates, policies, deleted pages, orphans, adoption, ratio guard."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from reconcile.config import config_from_dict
from reconcile.mapping import expected
from reconcile.model import Applied, GitHubItem, NotionPage, Prop
from reconcile.planner import MirrorState, Scope, change_ratio_refusal, plan
from reconcile.values import decode, encode
from tests.conftest import MAPPING
from tests.unit.test_mapping import item
from tests.unit.test_values import as_notion_returns

NOW = datetime(2026, 2, 1, tzinfo=UTC)


def config(**apply: Any) -> Any:
    return config_from_dict(
        {
            "version": 1,
            "github": {"repos": ["acme/web"]},
            "notion": {"database_id": "db"},
            "mapping": MAPPING,
            "apply": apply,
        }
    )


def page_for(it: GitHubItem, page_id: str = "p1", **changed: Any) -> NotionPage:
    """The page the job would have made for the item, with some values changed by hand."""
    props = dict(expected(config().mapping, it))
    for name, new in changed.items():
        props[name.replace("_", " ")] = Prop(props[name.replace("_", " ")].type, new)
    return NotionPage(page_id, props, NOW - timedelta(days=1), NOW - timedelta(days=1), key=it.url)


def state(items: list[GitHubItem], pages: list[NotionPage], **extra: Any) -> MirrorState:
    return MirrorState(items=items, pages={p.id: p for p in pages}, **extra)


def test_an_item_without_a_page_is_created_with_every_non_empty_value() -> None:
    result = plan(config(), state([item()], []), NOW)
    (op,) = result.operations
    assert op.action == "create" and op.page_id is None
    assert op.changes["Name"].after == "Fix login" and op.changes["GitHub URL"].after == item().url
    assert "Labels" not in op.changes  # empty: written as no value


def test_a_page_found_by_key_is_adopted_not_duplicated() -> None:
    result = plan(config(), state([item()], [page_for(item())]), NOW)
    assert result.operations == () and result.unchanged == 1
    assert [(a.page_id, a.item_id) for a in result.adoptions if a.item_id] == [("p1", 1)]


def test_only_differing_properties_are_listed() -> None:
    result = plan(config(), state([item(state="closed")], [page_for(item())], links={1: "p1"}), NOW)
    (op,) = result.operations
    assert op.action == "update" and set(op.changes) == {"Status"}


def test_on_change_without_a_record_adopts_the_derived_value_and_writes_nothing() -> None:
    edited = page_for(item(), Priority="High")
    result = plan(config(), state([item()], [edited], links={1: "p1"}), NOW)
    assert result.operations == ()
    assert [(a.property, a.value) for a in result.adoptions if a.property] == [("Priority", "Medium")]
    assert [(d.property, d.notion, d.expected) for d in result.drift] == [("Priority", "High", "Medium")]


def test_on_change_writes_when_the_derived_value_moves_from_the_last_write() -> None:
    edited = page_for(item(), Priority="High")
    moved = item(labels=("priority: low",))
    last = {("p1", "Priority"): Applied("Medium")}
    result = plan(config(), state([moved], [edited], links={1: "p1"}, applied=last), NOW)
    (op,) = result.operations
    assert op.changes["Priority"].before == "High" and op.changes["Priority"].after == "Low"


def test_a_trashed_linked_page_is_recreated_or_restored_or_ignored() -> None:
    trashed = replace(page_for(item()), in_trash=True)
    mirror = state([item()], [trashed], links={1: "p1"})
    (recreate,) = plan(config(), mirror, NOW).operations
    assert recreate.action == "recreate" and not recreate.restore and recreate.changes["Name"].before is None
    (restore,) = plan(config(on_deleted_page="restore"), mirror, NOW).operations
    assert restore.restore and restore.changes == {}
    assert plan(config(on_deleted_page="ignore"), mirror, NOW).operations == ()


def test_orphans_are_reported_or_archived_only_when_github_confirmed_them_gone() -> None:
    page = page_for(item())
    assert plan(config(on_orphan="archive"), state([], [page]), NOW).operations == ()  # merely absent
    gone = {item().url: "deleted on GitHub"}
    reported = plan(config(), state([], [page], gone=gone), NOW)
    assert [o.page_id for o in reported.orphans] == ["p1"] and reported.operations == ()
    (archive,) = plan(config(on_orphan="archive"), state([], [page], gone=gone), NOW).operations
    assert archive.action == "archive" and archive.page_id == "p1"


def test_a_transferred_item_keeps_its_page_and_the_key_follows() -> None:
    moved = item(repo="acme/api", number=3, url="https://github.com/acme/api/issues/3")
    result = plan(config(), state([moved], [page_for(item())], links={1: "p1"}), NOW)
    (op,) = result.operations
    assert op.action == "update" and op.changes["GitHub URL"].after == moved.url


def test_a_scope_limits_the_plan_to_one_item() -> None:
    other = item(id=2, number=8, url="https://github.com/acme/web/issues/8")
    result = plan(config(), state([item(), other], []), NOW, Scope(item_ids={2}))
    assert [op.key for op in result.operations] == [other.url]


def test_the_change_ratio_guard_starts_above_ten_pages() -> None:
    items = [item(id=n, number=n, url=f"https://github.com/acme/web/issues/{n}") for n in range(1, 31)]
    pages = [page_for(it, f"p{it.id}") for it in items]
    closed = [replace(it, state="closed") for it in items]
    few = plan(
        config(), state(closed[:10] + items[10:], pages, links={it.id: f"p{it.id}" for it in items}), NOW
    )
    assert change_ratio_refusal(few, 0.1) is None  # 10 modifications: under the floor
    many = plan(config(), state(closed, pages, links={it.id: f"p{it.id}" for it in items}), NOW)
    assert "30 of 30 linked pages" in (change_ratio_refusal(many, 0.5) or "")


item_strategy = st.builds(
    item,
    title=st.text(min_size=0, max_size=300),
    state=st.sampled_from(["open", "closed"]),
    state_reason=st.sampled_from([None, "completed", "not_planned"]),
    kind=st.sampled_from(["issue", "pull_request"]),
    labels=st.lists(
        st.sampled_from(["bug", "chore", "enhancement", "priority: high", "a,b", "Bug"]), max_size=4
    ).map(tuple),
    assignees=st.lists(st.sampled_from(["alice", "bob"]), max_size=2).map(tuple),
    updated_at=st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
    ),
)


def written_and_read_back(it: GitHubItem) -> tuple[NotionPage, dict[tuple[str, str], Any]]:
    """The page the job creates for the item, as Notion returns it, and the values the job wrote."""
    created = plan(config(), state([it], []), NOW).operations[0]
    kinds = {name: config().property_type(name) or "" for name in created.changes}
    read_back = {
        name: decode(as_notion_returns(kinds[name], encode(kinds[name], change.after)))
        for name, change in created.changes.items()
    }
    page = NotionPage("p1", read_back, NOW, NOW, key=read_back["GitHub URL"].value)
    return page, {
        ("p1", name): Applied(change.after, read_back[name].value, has_stored=True)
        for name, change in created.changes.items()
    }


@given(item_strategy)
def test_an_unchanged_item_never_produces_a_write(it: GitHubItem) -> None:
    """Created, written to Notion, read back as Notion returns it: the next plan has nothing to do."""
    page, last = written_and_read_back(it)
    again = plan(config(), state([it], [page], links={it.id: "p1"}, applied=last), NOW)
    assert again.operations == () and again.drift == ()


@given(item_strategy)
def test_an_unchanged_item_adopted_without_a_mirror_never_produces_a_write(it: GitHubItem) -> None:
    """A page found by its key, with no record of past writes: adopted, nothing written."""
    page, _ = written_and_read_back(it)
    again = plan(config(), state([it], [page]), NOW)
    assert again.operations == () and again.drift == ()


# -- what Notion keeps of a write: the echo rule and the perpetual-diff guard --------------------


def stored_otherwise(it: GitHubItem, name: str, kept: Any, misses: int = 1) -> tuple[NotionPage, Any]:
    """A page whose `name` Notion kept as `kept` after the job wrote the derived value."""
    page = page_for(it, **{name.replace(" ", "_"): kept})
    sent = expected(config().mapping, it)[name].value
    return page, {("p1", name): Applied(sent, kept, has_stored=True, misses=misses)}


def test_a_value_notion_stored_in_its_own_form_is_unchanged_while_neither_side_moves() -> None:
    it = item(title="Fix   login")  # say Notion collapsed the spaces
    page, records = stored_otherwise(it, "Name", "Fix login")
    result = plan(config(), state([it], [page], links={1: "p1"}, applied=records), NOW)
    assert result.operations == () and result.nonconverging == ()


def test_the_page_moving_away_from_what_notion_stored_is_drift_and_is_corrected() -> None:
    it = item(title="Fix   login")
    _, records = stored_otherwise(it, "Name", "Fix login")
    edited = page_for(it, Name="Someone's title")
    (op,) = plan(config(), state([it], [edited], links={1: "p1"}, applied=records), NOW).operations
    assert op.changes["Name"].after == "Fix   login"


def test_the_derived_value_moving_is_written_even_where_notion_kept_another_form() -> None:
    it = item(title="Fix   login")
    page, records = stored_otherwise(it, "Name", "Fix login", misses=5)
    moved = replace(it, title="Fix logout")
    (op,) = plan(config(), state([moved], [page], links={1: "p1"}, applied=records), NOW).operations
    assert op.changes["Name"].after == "Fix logout"


def test_a_value_rewritten_twice_that_never_takes_is_reported_and_not_written_again() -> None:
    it = item(title="Fix   login")
    _, records = stored_otherwise(it, "Name", "Fix login", misses=2)
    elsewhere = page_for(it, Name="Fix login (again)")  # and Notion's value keeps moving
    result = plan(config(), state([it], [elsewhere], links={1: "p1"}, applied=records), NOW)
    assert result.operations == ()
    (stuck,) = result.nonconverging
    assert (stuck.page_id, stuck.property) == ("p1", "Name")
    assert (stuck.sent, stuck.stored) == ("Fix   login", "Fix login")


def test_a_record_from_before_the_stored_form_was_kept_compares_as_before() -> None:
    it = item(state="closed")
    records = {("p1", "Status"): Applied("Backlog")}  # no `stored`: a 0.1 mirror
    (op,) = plan(config(), state([it], [page_for(item())], links={1: "p1"}, applied=records), NOW).operations
    assert op.changes["Status"].after == "Done"
