"""Saved plans: `plan --out FILE`, then `apply FILE` — skipping operations whose page changed since."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from reconcile.errors import PlanFileError
from reconcile.jobs.apply import Skip
from reconcile.jobs.context import Context
from reconcile.jobs.run import RunResult, execute, pull_step
from reconcile.model import ACTIONS, Change, ItemRef, NotionPage, Operation, Plan, from_json, parse_instant
from reconcile.planner import MirrorState, pages_by_key, plan
from reconcile.values import equal


def apply_saved(ctx: Context, path: str, *, force: bool = False, text: str | None = None) -> RunResult:
    """Pull, drop what no longer holds, apply the rest of a saved plan (`text`: the plan, read already)."""
    saved = load_plan_file(Path(path), ctx.config.notion.database_id, text)
    skipped: list[Skip] = []
    result = execute(
        ctx, "apply", pull_step(), planner=lambda ctx: _revalidated(ctx, saved, skipped), force=force
    )
    result.applied.skipped.extend(skipped)
    return result


def _revalidated(ctx: Context, saved: Plan, skipped: list[Skip]) -> Plan:
    """The saved operations that still hold against the freshly pulled mirror."""
    state = ctx.mirror_state()
    live = pages_by_key(list(state.pages.values()))
    item_ids = {item.url: item.id for item in state.items}
    keep = []
    for op in saved.operations:
        reason = stale_reason(op, state, live, ctx.config.property_type)
        if reason is None:
            keep.append(replace(op, item_id=item_ids.get(op.key or "")))
        else:
            skipped.append(Skip(op.key, op.page_id, reason))
    linked = plan(ctx.config, state, ctx.now()).linked  # the same base as a fresh plan's change ratio
    return Plan(saved.generated_at, saved.database_id, tuple(keep), saved.unchanged, linked=linked)


def load_plan_file(path: Path, database_id: str, text: str | None = None) -> Plan:
    """A plan written by `plan --out` (from `path`, or its `text` read already), checked for this database."""
    try:
        data = json.loads(path.read_text(encoding="utf-8") if text is None else text)
    except (OSError, ValueError) as exc:
        raise PlanFileError(f"{path}: not a readable plan ({exc})") from None
    if not isinstance(data, dict) or data.get("format_version") != 1:
        raise PlanFileError(f"{path}: not a reconcile plan (format_version 1)")
    if data.get("database_id") != database_id:
        raise PlanFileError(f"{path}: planned for database {data.get('database_id')}, not {database_id}")
    try:
        operations = tuple(_operation(entry) for entry in data.get("operations", []))
        generated = parse_instant(str(data["generated_at"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise PlanFileError(f"{path}: malformed operation ({exc})") from None
    return Plan(generated, database_id, operations, int(data.get("summary", {}).get("unchanged", 0)))


def _operation(entry: dict[str, Any]) -> Operation:
    if entry["action"] not in ACTIONS:
        raise ValueError(f"unknown action {entry['action']!r}")
    github = entry.get("github")
    changes = {
        name: Change(from_json(c.get("from")), from_json(c.get("to"))) for name, c in entry["changes"].items()
    }
    return Operation(
        entry["action"],
        entry.get("key"),
        entry.get("page_id"),
        changes,
        str(entry.get("reason", "")),
        ItemRef(github["repo"], int(github["number"]), github["kind"]) if github else None,
        restore=bool(entry.get("restore")),
    )


def stale_reason(
    op: Operation, state: MirrorState, live: Mapping[str, NotionPage], type_of: Callable[[str], str | None]
) -> str | None:
    """Why a saved operation no longer holds (the pages changed since planning), or None."""
    if op.action in ("create", "recreate") and not op.restore:
        found = live.get(op.key or "")
        return f"a live page for this item exists now ({found.id})" if found else None
    page = state.pages.get(op.page_id or "")
    if op.restore:
        if page is None or page.gone:
            return "the page is gone for good; the next run makes a new one"
        if page.alive:
            return "the page is out of the trash already"
    elif page is None or not page.alive:
        return "the page is in the trash or gone"
    return _moved(op, page, type_of)


def _moved(op: Operation, page: NotionPage, type_of: Callable[[str], str | None]) -> str | None:
    for name, change in op.changes.items():
        prop = page.properties.get(name)
        kind = type_of(name) or (prop.type if prop else "rich_text")
        now = page.value(name)
        if not equal(kind, now, change.before):
            return f"{name} changed since planning (planned from {change.before!r}, now {now!r})"
    return None
