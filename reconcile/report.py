"""Render plans, run results and stale lists as text (for people), JSON (CONTRACT §8) or markdown."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from reconcile.model import Operation, Plan, StalePage, Value, iso

if TYPE_CHECKING:  # the run's result is rendered here, built in jobs.run (which does not import this)
    from reconcile.jobs.run import RunResult

SYMBOLS = {"create": "+", "update": "~", "recreate": "±", "archive": "-", "stale": "!"}
TEXT_WIDTH = 80


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


# -- plans ---------------------------------------------------------------------------------------


def plan_json(plan: Plan) -> dict[str, Any]:
    body: dict[str, Any] = {
        "format_version": 1,
        "generated_at": iso(plan.generated_at),
        "database_id": plan.database_id,
        "summary": plan.summary(),
        "operations": [op.as_json() for op in plan.operations],
    }
    if plan.drift:
        body["drift"] = [drift.as_json() for drift in plan.drift]
    if plan.orphans:
        body["orphans"] = [orphan.as_json() for orphan in plan.orphans]
    if plan.nonconverging:
        body["nonconverging"] = [stuck.as_json() for stuck in plan.nonconverging]
    return body


def render_plan(plan: Plan, fmt: str) -> str:
    if fmt == "json":
        return dumps(plan_json(plan))
    if fmt == "markdown":
        return plan_markdown(plan)
    return plan_text(plan)


def plan_text(plan: Plan) -> str:
    lines = [f"Plan for database {plan.database_id} at {iso(plan.generated_at)}", ""]
    writes = [op for op in plan.operations if op.action != "stale"]
    lines += [line for op in writes for line in _op_lines(op)] or [f"  {_nothing(plan)}"]
    lines += _stale_lines(plan.stale, plan.generated_at, _stale_ops(plan))
    lines += _drift_lines(plan)
    lines += _orphan_lines(plan)
    lines += _nonconverging_lines(plan)
    lines += ["", summary_line(plan)]
    return "\n".join(lines)


def _nothing(plan: Plan) -> str:
    """The line that stands in for an empty list of page changes."""
    if plan.writes:
        return "No changes from GitHub; the stale pages below will be written."
    return "No changes: Notion matches GitHub."


def summary_line(plan: Plan) -> str:
    counts = plan.summary()
    return (
        f"Plan: {counts['create']} to create, {counts['update']} to update, "
        f"{counts['recreate']} to recreate, {counts['archive']} to archive, "
        f"{counts['stale']} stale; {counts['unchanged']} unchanged."
    )


def _op_lines(op: Operation) -> list[str]:
    head = f"  {SYMBOLS[op.action]} {op.action:<8} {describe(op)}"
    lines = [f"{head}  ({op.reason})"]
    for name, change in op.changes.items():
        if change.before is None and op.action in ("create", "recreate"):
            lines.append(f"      {name}: {show(change.after)}")
        else:
            lines.append(f"      {name}: {show(change.before)} -> {show(change.after)}")
    return lines


def describe(op: Operation) -> str:
    """`acme/web#7` (page …) — how a person finds the item and the page."""
    who = f"{op.item.repo}#{op.item.number}" if op.item else (op.key or "page")
    return f"{who} (page {op.page_id})" if op.page_id else who


def _stale_ops(plan: Plan) -> dict[str, Operation]:
    """The stale operations that write (set_status, annotate), by page."""
    return {str(op.page_id): op for op in plan.operations if op.action == "stale" and op.changes}


def _stale_lines(
    stale: Sequence[StalePage], now: datetime, ops: Mapping[str, Operation] | None = None
) -> list[str]:
    if not stale:
        return []
    lines = ["", f"Stale pages ({len(stale)}):"]
    for page in stale:
        lines.append(
            f"  ! {show(page.title)} (page {page.page_id}): {page.status}, last activity "
            f"{page.last_activity.date()} ({(now - page.last_activity).days} days){_github(page)}"
        )
        op = (ops or {}).get(page.page_id)
        changes = op.changes.items() if op else ()
        lines += [f"      {name}: {show(c.before)} -> {show(c.after)}" for name, c in changes]
    return lines


def _github(page: StalePage) -> str:
    item = page.github
    if item is None:
        return "; no GitHub item"
    who = ", ".join(item.assignees) or "nobody"
    return f"; {item.repo}#{item.number} is {item.state}, assigned to {who}"


def _drift_lines(plan: Plan) -> list[str]:
    if not plan.drift:
        return []
    lines = ["", f"Drift left alone by the policies ({len(plan.drift)}, informational):"]
    for drift in plan.drift:
        lines.append(
            f"  = {drift.key or drift.page_id} {drift.property}: Notion has {show(drift.notion)}, "
            f"the mapping says {show(drift.expected)} ({drift.policy})"
        )
    return lines


def _orphan_lines(plan: Plan) -> list[str]:
    if not plan.orphans:
        return []
    lines = ["", f"Orphans ({len(plan.orphans)}, reported; set apply.on_orphan: archive to trash them):"]
    lines += [f"  ? {orphan.key} (page {orphan.page_id}): {orphan.reason}" for orphan in plan.orphans]
    return lines


def _nonconverging_lines(plan: Plan) -> list[str]:
    if not plan.nonconverging:
        return []
    count = len(plan.nonconverging)
    lines = ["", f"Not converging ({count}; not written again until GitHub's value changes):"]
    lines += [
        f"  ≠ {stuck.key or 'page'} (page {stuck.page_id}) {stuck.property}: sent {show(stuck.sent)}, "
        f"Notion kept {show(stuck.stored)}"
        for stuck in plan.nonconverging
    ]
    return lines


def show(value: Value, width: int = TEXT_WIDTH) -> str:
    """A value as a person reads it: quoted text (shortened), [lists], (empty)."""
    if value is None or value == () or value == []:
        return "(empty)"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(str(part) for part in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        flat = value.replace("\n", "⏎")
        return json.dumps(flat if len(flat) <= width else f"{flat[: width - 1]}…", ensure_ascii=False) + (
            f" ({len(value)} chars)" if len(flat) > width else ""
        )
    return str(value)


def plan_markdown(plan: Plan) -> str:
    counts = plan.summary()
    lines = [
        f"### reconcile plan — {counts['create']} create, {counts['update']} update, "
        f"{counts['recreate']} recreate, {counts['archive']} archive, {counts['stale']} stale, "
        f"{counts['unchanged']} unchanged",
        "",
    ]
    writes = [op for op in plan.operations if op.action != "stale"]
    if writes:
        lines += ["| | item | page | changes | reason |", "|---|---|---|---|---|"]
        lines += [_op_row(op) for op in writes]
    else:
        lines.append(_nothing(plan))
    if plan.stale:
        lines += [
            "",
            f"#### Stale pages ({len(plan.stale)})",
            "",
            *stale_table(plan.stale, plan.generated_at, _stale_ops(plan)),
        ]
    if plan.drift:
        lines += [
            "",
            f"#### Drift left alone ({len(plan.drift)})",
            "",
            "| item | property | Notion | mapping | policy |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {_md(d.key or d.page_id)} | {_md(d.property)} | {_md(show(d.notion))} | "
            f"{_md(show(d.expected))} | {d.policy} |"
            for d in plan.drift
        ]
    if plan.orphans:
        lines += ["", f"#### Orphans ({len(plan.orphans)})", "", "| key | page | reason |", "|---|---|---|"]
        lines += [f"| {_md(o.key)} | `{o.page_id}` | {_md(o.reason)} |" for o in plan.orphans]
    if plan.nonconverging:
        lines += ["", f"#### Not converging ({len(plan.nonconverging)})", ""]
        lines += ["| key | page | property | sent | Notion kept |", "|---|---|---|---|---|"]
        lines += [
            f"| {_md(s.key or '')} | `{s.page_id}` | {_md(s.property)} | {_md(show(s.sent))} | "
            f"{_md(show(s.stored))} |"
            for s in plan.nonconverging
        ]
    return "\n".join(lines)


def _op_row(op: Operation) -> str:
    changes = _changes_cell(op)
    who = f"{op.item.repo}#{op.item.number}" if op.item else (op.key or "")
    page = f"`{op.page_id}`" if op.page_id else "—"
    return f"| {SYMBOLS[op.action]} {op.action} | {_md(who)} | {page} | {changes} | {_md(op.reason)} |"


def _changes_cell(op: Operation) -> str:
    return "<br>".join(
        f"**{_md(name)}**: {_md(show(change.before, 40))} → {_md(show(change.after, 40))}"
        if change.before is not None
        else f"**{_md(name)}**: {_md(show(change.after, 40))}"
        for name, change in op.changes.items()
    )


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


# -- stale lists ---------------------------------------------------------------------------------


def stale_json(stale: Iterable[StalePage], now: datetime) -> dict[str, Any]:
    return {"generated_at": iso(now), "stale": [_stale_entry(page) for page in stale]}


def _stale_entry(page: StalePage) -> dict[str, Any]:
    item = page.github
    return {
        "page_id": page.page_id,
        "key": page.key,
        "title": page.title,
        "status": page.status,
        "last_activity": iso(page.last_activity),
        "github": {
            "repo": item.repo,
            "number": item.number,
            "state": item.state,
            "assignees": list(item.assignees),
        }
        if item
        else None,
    }


def render_stale(stale: Sequence[StalePage], now: datetime, fmt: str) -> str:
    if fmt == "json":
        return dumps(stale_json(stale, now))
    if fmt == "markdown":
        head = [f"### Stale pages ({len(stale)})", ""]
        return "\n".join(head + (stale_table(stale, now) if stale else ["None."]))
    if not stale:
        return "No stale pages."
    return "\n".join(_stale_lines(stale, now)[1:])


def stale_table(
    stale: Sequence[StalePage], now: datetime, ops: Mapping[str, Operation] | None = None
) -> list[str]:
    """A markdown table of stale pages; with `ops`, a column for what the stale action writes."""
    head = "| page | title | status | last activity | GitHub |"
    lines = [head + (" action |" if ops else ""), "|---|---|---|---|---|" + ("---|" if ops else "")]
    for page in stale:
        item = page.github
        github = (
            f"{item.repo}#{item.number} ({item.state}; {', '.join(item.assignees) or 'unassigned'})"
            if item
            else "—"
        )
        row = (
            f"| `{page.page_id}` | {_md(page.title or '')} | {_md(page.status or '')} | "
            f"{page.last_activity.date()} ({(now - page.last_activity).days} d) | {_md(github)} |"
        )
        if ops:
            op = ops.get(page.page_id)
            row += f" {_changes_cell(op) if op else '—'} |"
        lines.append(row)
    return lines


# -- run results ---------------------------------------------------------------------------------


def render_run(result: RunResult, fmt: str) -> str:
    """A run's outcome: what it planned, what it did, what failed."""
    if fmt == "json":
        return dumps(result.as_json())
    plan = result.plan
    body = (plan_markdown(plan) if fmt == "markdown" else plan_text(plan)) if plan else ""
    applied = result.applied
    verb = "Would apply" if result.dry_run else "Applied"
    done = len(plan.writes) if result.dry_run and plan else applied.applied
    lines = [body, ""] if body else []
    lines.append(
        f"{verb} {done}, failed {applied.failed}, deferred {applied.deferred}. "
        f"Pulled {result.pulled.github} GitHub items and {result.pulled.notion} Notion pages. "
        f"Run {result.run_id}: {result.status}."
    )
    lines += [f"  failed: {f.action} {f.key or f.page_id}: {f.error}" for f in applied.failures]
    lines += [f"  skipped: {s.key or s.page_id}: {s.reason}" for s in applied.skipped]
    if applied.stopped:
        lines.append(f"  stopped early: {applied.stopped}; the rest waits for the next run")
    if result.recovery is not None and result.recovery.settled:
        lines.append(f"  {result.recovery.describe()}")
    if result.error:
        lines.append(f"  error: {result.error}")
    return "\n".join(lines)
