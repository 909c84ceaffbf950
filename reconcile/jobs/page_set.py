"""`reconcile page set TARGET NAME=VALUE...`: write values to one page by hand, journalled like any write.

The write is a one-operation plan run through `execute`, so the lock, the journal, the change-ratio
guard, recovery and the pause apply as to every other write. Values are parsed by the type the
database gives the property. A value set on an `on_change` property stands until GitHub's value
moves: what GitHub derives now is recorded as the job's last write (Operation.derived). An
`overwrite` property is set too, and the next run corrects it; the result says so.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reconcile.clients.github import place_of
from reconcile.clients.notion import page_from_api
from reconcile.config import Config
from reconcile.errors import ConfigError, ReconcileError
from reconcile.jobs.context import Context
from reconcile.jobs.pull import PullResult, ask_github
from reconcile.jobs.refresh import parse_item
from reconcile.jobs.run import RunResult, execute
from reconcile.mapping import expected
from reconcile.mirror import store
from reconcile.model import Change, GitHubItem, NotionPage, Operation, Plan, Prop, Value, jsonable
from reconcile.values import equal, normalise

SETTABLE = ("title", "rich_text", "select", "status", "multi_select", "url", "number", "date", "checkbox")
_UUID = re.compile(
    r"([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})(?:[?#].*)?$", re.IGNORECASE
)


class PageSetError(ReconcileError):
    """The target or a value cannot be set (no such page, no such option, not a date...)."""


@dataclass(frozen=True)
class Target:
    """A page by its id, or the page of a GitHub item."""

    page_id: str | None = None
    item: tuple[str, int] | None = None

    def describe(self) -> str:
        return f"{self.item[0]}#{self.item[1]}" if self.item else f"page {self.page_id}"


@dataclass
class PageSetResult:
    """The run that wrote, and what it set on which page, with a word on each property's policy."""

    run: RunResult
    page_id: str | None = None
    values: dict[str, Value] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            **self.run.as_json(),
            "page_id": self.page_id,
            "set": {name: jsonable(value) for name, value in self.values.items()},
            "notes": self.notes,
        }


# -- parsing (pure) ------------------------------------------------------------------------------


def parse_target(text: str) -> Target:
    """OWNER/REPO#N (or the item's URL), or a page id with or without dashes (or the page's URL)."""
    text = text.strip()
    if "#" in text or place_of(text):
        return Target(item=parse_item(text))
    match = _UUID.search(text)
    if match is None:
        raise ConfigError(f"TARGET: {text!r} is neither OWNER/REPO#N nor a page id")
    return Target(page_id="-".join(match.groups()).lower())


def parse_assignments(args: Sequence[str]) -> dict[str, str]:
    """NAME=VALUE arguments (the first `=` separates them; VALUE may be empty to clear)."""
    if not args:
        raise ConfigError("give at least one NAME=VALUE")
    pairs: dict[str, str] = {}
    for arg in args:
        name, equals, text = arg.partition("=")
        if not equals or not name.strip():
            raise ConfigError(f"{arg!r} is not NAME=VALUE")
        if name.strip() in pairs:
            raise ConfigError(f"{name.strip()} is given twice")
        pairs[name.strip()] = text
    return pairs


def parse_value(name: str, schema: Mapping[str, Any], text: str) -> Value:
    """The value `text` means for the property `name` as the database defines it (schema entry)."""
    kind = str(schema.get("type"))
    if kind not in SETTABLE:
        raise PageSetError(f"{name}: a {kind} property cannot be set by hand here")
    text = text.strip() if kind not in ("title", "rich_text") else text
    if kind in ("select", "status"):
        return _option(name, schema, text) if text else None
    if kind == "multi_select":  # names it does not have yet are added by Notion, as labels come and go
        parts = {part.strip() for part in text.split(",") if part.strip()}
        return tuple(sorted({_option(name, schema, part, new=True) for part in parts}))
    if kind == "number":
        return _number(name, text)
    if kind == "date":
        return _date(name, text)
    if kind == "checkbox":
        return _checkbox(name, text)
    return normalise(kind, text)


def _option(name: str, schema: Mapping[str, Any], text: str, *, new: bool = False) -> str:
    """An option of the property, matched exactly or else ignoring case (`new`: or a name it lacks)."""
    options = [str(o.get("name")) for o in (schema.get(str(schema.get("type"))) or {}).get("options", [])]
    if text in options:
        return text
    folded = [option for option in options if option.casefold() == text.casefold()]
    if len(folded) == 1:
        return folded[0]
    if new:
        return str(normalise("select", text))
    close = difflib.get_close_matches(text, options, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    listed = ", ".join(options) or "none"
    raise PageSetError(f"{name}: {text!r} is not one of its options{hint}; options: {listed}")


def _number(name: str, text: str) -> Value:
    if not text:
        return None
    value = normalise("number", text)
    if value is None:
        raise PageSetError(f"{name}: {text!r} is not a number")
    return value


def _date(name: str, text: str) -> Value:
    if not text:
        return None
    value = normalise("date", text)
    if value is None:
        raise PageSetError(f"{name}: {text!r} is not an ISO-8601 date (2026-01-10) or instant")
    return value


def _checkbox(name: str, text: str) -> bool:
    if text.lower() not in ("true", "false"):
        raise PageSetError(f"{name}: {text!r} is not true or false")
    return text.lower() == "true"


def parse_values(
    config: Config, assignments: Mapping[str, str], schema: Mapping[str, Any]
) -> dict[str, tuple[str, Value]]:
    """Each NAME=VALUE as (the property's type, the value), checked against the database's schema."""
    check_names(config, list(assignments), schema)
    return {
        name: (str(schema[name].get("type")), parse_value(name, schema[name], text))
        for name, text in assignments.items()
    }


def check_names(config: Config, names: Sequence[str], schema: Mapping[str, Any]) -> None:
    """Every name is a property of the database, and none is the join key."""
    for name in names:
        if name == config.mapping.key:
            raise PageSetError(f"{name} is the join key: it always holds the item's GitHub URL")
        if name not in schema:
            close = difflib.get_close_matches(name, list(schema), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise PageSetError(f"{name}: the database has no such property{hint}")


def policy_note(config: Config, name: str, derived: Value) -> str | None:
    """What becomes of a value set by hand on an item's page, by the property's policy."""
    spec = config.mapping.properties.get(name)
    if spec is None:
        return None
    if spec.policy == "on_change":
        return f"{name} stands until GitHub's value changes (policy on_change)"
    if spec.policy == "create_only":
        return f"{name} stands: the job writes it only when it makes a page (policy create_only)"
    return f"{name} is owned by GitHub (policy overwrite): the next run sets it back to {_shown(derived)}"


def _shown(value: Value) -> str:
    if value is None or value == ():
        return "empty"
    if isinstance(value, tuple):
        return ", ".join(value)
    return repr(value) if isinstance(value, str) else str(value)


# -- the write -----------------------------------------------------------------------------------


@dataclass
class _Found:
    """What prepare finds, for the planner (both run inside `execute`)."""

    page: NotionPage | None = None
    item: GitHubItem | None = None
    expected: dict[str, Prop] = field(default_factory=dict)  # what GitHub's item derives now
    changes: dict[str, Change] = field(default_factory=dict)


def page_set(
    ctx: Context, target: Target, assignments: Mapping[str, str], *, dry_run: bool = False
) -> PageSetResult:
    """Set the values on the target's page: one journalled update, under the lock.

    The values are checked against the database's schema first: a bad one is an error before any run.
    """
    values = parse_values(ctx.config, assignments, ctx.notion.schema())
    found = _Found()

    def prepare(ctx: Context) -> PullResult:
        pulled = PullResult()
        found.page, found.item = _locate(ctx, target, pulled)
        found.expected = expected(ctx.config.mapping, found.item) if found.item else {}
        for name, (kind, value) in values.items():
            current = found.page.value(name)
            if not equal(kind, current, value):
                found.changes[name] = Change(current, value)
        return pulled

    def planner(ctx: Context) -> Plan:
        assert found.page is not None
        operations = (_operation(ctx.config, found),) if found.changes else ()
        return Plan(ctx.now(), ctx.board, operations, unchanged=0 if operations else 1, linked=1)

    run = execute(ctx, "page set", prepare, planner=planner, dry_run=dry_run)
    result = PageSetResult(run, found.page.id if found.page else None)
    if found.page is not None and run.error is None:
        result.values = {name: change.after for name, change in found.changes.items()}
        result.notes = _notes(ctx.config, found, list(assignments))
    return result


def _operation(config: Config, found: _Found) -> Operation:
    """The update; for `on_change` properties, GitHub's value now is what the job records as written."""
    page, item = found.page, found.item
    assert page is not None
    derived = {
        name: found.expected[name].value
        for name in found.changes
        if name in found.expected and config.mapping.properties[name].policy == "on_change"
    }
    ref, item_id = (item.ref(), item.id) if item else (None, None)
    return Operation("update", page.key, page.id, found.changes, "set by hand", ref, item_id, derived=derived)


def _notes(config: Config, found: _Found, names: list[str]) -> list[str]:
    """What became of each value: already there, or what its policy does with it (on an item's page)."""
    notes = []
    for name in names:
        change, derived = found.changes.get(name), found.expected.get(name)
        if change is None:
            notes.append(f"{name} already holds that value")
        elif derived is not None and not equal(derived.type, derived.value, change.after):
            notes += [note] if (note := policy_note(config, name, derived.value)) else []
    return notes


def _locate(ctx: Context, target: Target, pulled: PullResult) -> tuple[NotionPage, GitHubItem | None]:
    """The target's page as Notion has it now, and its GitHub item as GitHub has it now (if any)."""
    if target.item is not None:
        item = _item(ctx, *target.item, pulled)
        if item is None:
            raise PageSetError(f"{target.describe()}: GitHub has no such item")
        raws = ctx.notion.find_by_key(ctx.config.mapping.key, [item.url])
        if not raws:
            raise PageSetError(f"{target.describe()} has no page yet (`reconcile run` makes it)")
        raw = raws[0]  # the oldest, as the planner picks among duplicates
    else:
        found = ctx.notion.get_page(str(target.page_id))
        if found is None:
            raise PageSetError(f"{target.describe()} is not a page of database {ctx.board}")
        raw = found
    page = _save_page(ctx, raw, pulled)
    if not page.alive:
        raise PageSetError(f"page {page.id} is in the trash")
    if target.item is None:
        return page, _item_of(ctx, page, pulled)
    return page, item


def _item_of(ctx: Context, page: NotionPage, pulled: PullResult) -> GitHubItem | None:
    """The GitHub item a page carries the key of, when it is one of the configured repositories'."""
    place = place_of(page.key) if page.key else None
    if place is None or place[0] not in ctx.config.github.repos:
        return None
    return _item(ctx, *place, pulled)


def _item(ctx: Context, repo: str, number: int, pulled: PullResult) -> GitHubItem | None:
    """The item as GitHub has it now (stored in the mirror); None when it is gone or not configured."""
    if repo not in ctx.config.github.repos:
        raise PageSetError(f"{repo} is not one of github.repos ({', '.join(ctx.config.github.repos)})")
    verdict = ask_github(ctx, repo, number)
    if verdict.item is None or verdict.gone is not None:
        return None
    with ctx.session() as session:
        store.save_items(session, [verdict.item], ctx.clock.now())
    pulled.github += 1
    return verdict.item


def _save_page(ctx: Context, raw: dict[str, Any], pulled: PullResult) -> NotionPage:
    page = page_from_api(raw, ctx.config.mapping.key)
    with ctx.session() as session:
        store.save_pages(session, ctx.board, [page], ctx.clock.now())
    pulled.notion += 1
    return page
