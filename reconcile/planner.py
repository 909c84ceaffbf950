"""Expected vs actual (+ what the job last wrote) -> Plan. Pure: the mirror's rows and "now" come in."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from reconcile.config import Config
from reconcile.mapping import expected
from reconcile.model import (
    Adoption,
    Applied,
    Change,
    Drift,
    Duplicate,
    GitHubItem,
    NonConverging,
    NotionPage,
    Operation,
    Orphan,
    Plan,
    Prop,
    StalePage,
    Value,
)
from reconcile.stale import find_stale, stale_operations
from reconcile.values import equal

# A plan may modify up to this many pages whatever max_change_ratio says (CONTRACT §5).
RATIO_FLOOR = 10
# Order in which a plan lists (and apply performs) its operations: mend what exists first.
ACTION_ORDER = {"recreate": 0, "update": 1, "create": 2, "archive": 3, "stale": 4}
# Writes of one derived value in a row that Notion kept in another form, after which the property is
# not converging: it is reported and not written again until the value derived from GitHub changes.
MAX_MISSES = 2


@dataclass(frozen=True)
class MirrorState:
    """What the mirror knows, as plain values."""

    items: Sequence[GitHubItem]
    pages: Mapping[str, NotionPage]
    links: Mapping[int, str] = field(default_factory=dict)  # GitHub item id -> page id
    applied: Mapping[tuple[str, str], Applied] = field(default_factory=dict)  # (page id, property)
    gone: Mapping[str, str] = field(default_factory=dict)  # key of an item GitHub confirmed gone -> why


@dataclass(frozen=True)
class Scope:
    """Which items and pages a plan may touch; None means all (refresh narrows it to one)."""

    item_ids: Collection[int] | None = None
    page_ids: Collection[str] | None = None

    def has_item(self, item: GitHubItem, page_id: str | None) -> bool:
        if self.item_ids is None and self.page_ids is None:
            return True
        return (self.item_ids is not None and item.id in self.item_ids) or (
            self.page_ids is not None and page_id in self.page_ids
        )

    def has_page(self, page_id: str) -> bool:
        if self.item_ids is None and self.page_ids is None:
            return True
        return self.page_ids is not None and page_id in self.page_ids


def plan(config: Config, state: MirrorState, now: datetime, scope: Scope | None = None) -> Plan:
    """The operations that make Notion match the mapping, and what is left alone (all in memory)."""
    builder = PlanBuilder(config, now, scope)
    owners = builder.add_items(state)
    builder.add_orphans(state.pages.values(), state.gone)
    builder.add_stale(state.pages.values(), owners)
    return builder.build()


def change_ratio_refusal(plan: Plan, max_ratio: float) -> str | None:
    """Why the plan modifies too much of the database, or None when it may go ahead."""
    modified = plan.modifications()
    if modified <= RATIO_FLOOR or modified <= max_ratio * plan.linked:
        return None
    share = modified / plan.linked if plan.linked else 1.0
    return (
        f"the plan would modify {modified} of {plan.linked} linked pages ({share:.0%}), more than "
        f"apply.max_change_ratio {max_ratio:.0%} allows; check the pull and the mapping, then use --force"
    )


def pages_by_key(pages: Iterable[NotionPage]) -> dict[str, NotionPage]:
    """Live pages by key; where several carry one key, the oldest wins."""
    return {key: found[0] for key, found in _live_by_key(pages).items()}


def _live_by_key(pages: Iterable[NotionPage]) -> dict[str, list[NotionPage]]:
    """Live pages by key, oldest first: where several carry one key, the oldest is the item's."""
    index: dict[str, list[NotionPage]] = {}
    for page in sorted(pages, key=lambda page: (page.created_time, page.id)):
        if page.alive and page.key:
            index.setdefault(page.key, []).append(page)
    return index


class PlanBuilder:
    """Accumulates one plan from parts: the items of one or more states (the mirror hands them in
    chunks), then the orphan and stale candidates, then `build`."""

    def __init__(
        self,
        config: Config,
        now: datetime,
        scope: Scope | None = None,
        unwritable: Collection[str] = (),
    ) -> None:
        self.config, self.now, self.scope = config, now, scope or Scope()
        self.unwritable = frozenset(unwritable)  # properties the database lacks (or has as another type)
        self.operations: list[Operation] = []
        self.drift: list[Drift] = []
        self.orphans: list[Orphan] = []
        self.duplicates: list[Duplicate] = []
        self.nonconverging: list[NonConverging] = []
        self.adoptions: list[Adoption] = []
        self.stale: list[StalePage] = []
        self.owned: set[str] = set()  # pages that belong to a GitHub item (the base of max_change_ratio)
        self.planned = 0  # items planned
        self.unchanged = 0
        self.applied: Mapping[tuple[str, str], Applied] = {}  # of the chunk `add_items` is planning

    # -- items --------------------------------------------------------------------------------

    def add_items(self, state: MirrorState) -> dict[str, GitHubItem]:
        """Plan each item of the state; returns page id -> item for the pages they own."""
        self.applied = state.applied
        keyed = _live_by_key(state.pages.values())
        linked_pages = set(state.links.values())
        owners: dict[str, GitHubItem] = {}
        for item in sorted(state.items, key=lambda item: (item.repo, item.number)):
            linked = state.pages.get(state.links.get(item.id, ""))
            candidates = keyed.get(item.url, [])
            page = linked if linked and linked.alive else (candidates[0] if candidates else None)
            owner = page or linked
            if owner is not None:
                owners[owner.id] = item
                self.owned.add(owner.id)
            if not self.scope.has_item(item, owner.id if owner else None):
                continue
            self.planned += 1
            if page is not None:
                self._plan_page(item, page, linked)
                copies = [c for c in candidates if c.id != page.id and c.id not in linked_pages]
                self._copies(item, page, copies)
            elif self.config.mapping.key in self.unwritable:
                continue  # a page without its key would be made again on every run: make none
            elif linked is not None:
                self._deleted(item, linked, self._expected(item))
            else:
                self._create(item, self._expected(item))
        return owners

    def _expected(self, item: GitHubItem) -> dict[str, Prop]:
        """What the page should hold, less what the database cannot hold (a schema problem, reported)."""
        props = expected(self.config.mapping, item)
        return {name: prop for name, prop in props.items() if name not in self.unwritable}

    def _plan_page(self, item: GitHubItem, page: NotionPage, linked: NotionPage | None) -> None:
        if page is not linked:
            self.adoptions.append(Adoption(page.id, item_id=item.id))
        self._update(item, page, self._expected(item))

    def _copies(self, item: GitHubItem, page: NotionPage, copies: list[NotionPage]) -> None:
        """Other live pages carrying the item's key (copies made by hand): named, never written,
        trashed under `apply.on_duplicate: archive`."""
        if not copies:
            return
        ids = tuple(copy.id for copy in copies)
        self.duplicates.append(Duplicate(item.url, page.id, ids))
        if self.config.apply.on_duplicate == "archive":
            for copy in copies:
                reason = f"a copy of page {page.id}, which belongs to this item"
                self.operations.append(Operation("archive", item.url, copy.id, {}, reason, item.ref()))

    # -- orphans and stale pages --------------------------------------------------------------

    def add_orphans(self, pages: Iterable[NotionPage], gone: Mapping[str, str]) -> None:
        """Live pages whose key names an item GitHub confirmed gone, and that no item owns."""
        for key, found in _live_by_key(pages).items():
            page, reason = found[0], gone.get(key)
            if reason is None or page.id in self.owned or not self.scope.has_page(page.id):
                continue
            if self.config.apply.on_orphan == "archive":
                self.operations.append(Operation("archive", key, page.id, {}, f"orphan: {reason}"))
            else:
                self.orphans.append(Orphan(key, page.id, reason))

    def add_stale(self, pages: Iterable[NotionPage], owners: Mapping[str, GitHubItem]) -> None:
        """Stale pages among these (a page on its way to the trash is not worth a stale remark)."""
        archived = {op.page_id for op in self.operations if op.action == "archive"}
        known = {page.page_id for page in self.stale}
        self.stale += [
            page
            for page in find_stale(pages, owners, self.config.stale, self.now)
            if self.scope.has_page(page.page_id) and page.page_id not in archived | known
        ]

    def build(self, *, linked: int | None = None, unchanged: int | None = None) -> Plan:
        """The plan; `linked` and `unchanged` count the whole board when only a part was planned."""
        stale = sorted(self.stale, key=lambda page: (page.last_activity, page.page_id))
        operations = [*self.operations, *stale_operations(stale, self.config.stale, self.now)]
        operations.sort(key=lambda op: (ACTION_ORDER[op.action], op.key or "", op.page_id or ""))
        return Plan(
            generated_at=self.now,
            database_id=self.config.notion.database_id,
            operations=tuple(operations),
            unchanged=self.unchanged if unchanged is None else unchanged,
            drift=tuple(self.drift),
            orphans=tuple(self.orphans),
            duplicates=tuple(self.duplicates),
            nonconverging=tuple(self.nonconverging),
            stale=tuple(stale),
            adoptions=tuple(self.adoptions),
            linked=len(self.owned) if linked is None else linked,
            planned=self.planned,
        )

    # -- one item -----------------------------------------------------------------------------

    def _create(self, item: GitHubItem, props: dict[str, Prop]) -> None:
        self.operations.append(
            Operation(
                "create", item.url, None, initial_changes(props), "no page for this item", item.ref(), item.id
            )
        )

    def _deleted(self, item: GitHubItem, page: NotionPage, props: dict[str, Prop]) -> None:
        mode = self.config.apply.on_deleted_page
        where = "is in the trash" if page.in_trash and not page.gone else "no longer exists"
        if mode == "ignore":
            self.unchanged += 1
            return
        if mode == "restore" and not page.gone:
            # the page comes back as it was: it is then corrected like any linked page, policies included
            changes = {
                name: change
                for name, prop in props.items()
                if (change := self._property(page, name, prop)) is not None
            }
            op = Operation(
                "recreate",
                item.url,
                page.id,
                changes,
                f"page {where}; restoring it",
                item.ref(),
                item.id,
                restore=True,
            )
        else:
            op = Operation(
                "recreate",
                item.url,
                page.id,
                initial_changes(props),
                f"page {where}; making a new one",
                item.ref(),
                item.id,
            )
        self.operations.append(op)

    def _update(self, item: GitHubItem, page: NotionPage, props: dict[str, Prop]) -> None:
        changes: dict[str, Change] = {}
        for name, prop in props.items():
            change = self._property(page, name, prop)
            if change is not None:
                changes[name] = change
        if changes:
            self.operations.append(
                Operation("update", item.url, page.id, changes, "drift", item.ref(), item.id)
            )
        else:
            self.unchanged += 1

    def _property(self, page: NotionPage, name: str, prop: Prop) -> Change | None:
        """The change one property needs under its policy, noting drift that is left alone.

        First the echo rule: when neither the value derived from GitHub nor the page's value moved
        since the job's own write, the property is unchanged, whatever form Notion gave the value.
        """
        policy = (
            "overwrite" if name == self.config.mapping.key else self.config.mapping.properties[name].policy
        )
        current = page.value(name)
        record = self.applied.get((page.id, name))
        stuck = self._not_converging(page, name, prop, record)
        if record is not None and echoes(prop, current, record):
            return None
        differs = not equal(prop.type, current, prop.value)
        if policy == "overwrite":
            return Change(current, prop.value) if differs and not stuck else None
        if policy == "on_change":
            moved = record is None or not equal(prop.type, record.value, prop.value)
            if moved and record is not None and differs:
                return Change(current, prop.value)  # GitHub moved on since our last write: write it
            if moved:  # remember the value derived now as our last write (nothing to send)
                self.adoptions.append(Adoption(page.id, property=name, value=prop.value, stored=current))
            if differs:
                self.drift.append(Drift(page.key, page.id, name, current, prop.value, policy))
            return None
        if differs:  # create_only
            self.drift.append(Drift(page.key, page.id, name, current, prop.value, policy))
        return None

    def _not_converging(self, page: NotionPage, name: str, prop: Prop, record: Applied | None) -> bool:
        """Whether this value was written MAX_MISSES times in a row and Notion kept another form each time."""
        if record is None or record.misses < MAX_MISSES or not equal(prop.type, record.value, prop.value):
            return False
        self.nonconverging.append(NonConverging(page.key, page.id, name, record.value, record.stored))
        return True


def echoes(prop: Prop, current: Value, record: Applied) -> bool:
    """Whether neither side moved since the job's own write: the derived value is the one sent, and the
    page still holds what Notion stored of it."""
    return (
        record.has_stored
        and equal(prop.type, record.value, prop.value)
        and equal(prop.type, record.stored, current)
    )


def initial_changes(props: Mapping[str, Prop]) -> dict[str, Change]:
    """Every non-empty value, for a new page."""
    return {name: Change(None, prop.value) for name, prop in props.items() if not is_empty(prop.value)}


def is_empty(value: Value) -> bool:
    return value is None or value == () or value is False
