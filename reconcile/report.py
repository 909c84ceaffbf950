"""Render plans, run results and stale lists as text (for people), JSON (CONTRACT §8) or markdown."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from reconcile.clients.github import place_of
from reconcile.model import Operation, Plan, StalePage, Value, iso

if TYPE_CHECKING:  # results are rendered here, built in jobs (which do not import this)
    from reconcile.jobs.export import ExportResult
    from reconcile.jobs.page_set import PageSetResult
    from reconcile.jobs.pull import PullResult
    from reconcile.jobs.run import RunResult
    from reconcile.mirror.boards import Pause

SYMBOLS = {"create": "+", "update": "~", "recreate": "±", "archive": "-", "stale": "!"}
TEXT_WIDTH = 80
# A long list (a first sync of hundreds of items) is shown compactly: counts, then the first few.
COMPACT_OVER = 50
COMPACT_SHOWN = 20


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


def notion_url(page_id: str) -> str:
    """The page's address in Notion's web app."""
    return f"https://www.notion.so/{page_id.replace('-', '')}"


def ordered(operations: Iterable[Operation]) -> list[Operation]:
    """Operations as people scan them: the plan's order of actions kept, then by repository and number
    (numerically: #2 before #10), pages without an item last."""
    operations = list(operations)
    rank: dict[str, int] = {}
    for op in operations:
        rank.setdefault(op.action, len(rank))
    return sorted(operations, key=lambda op: (rank[op.action], *_item_order(op)))


def _item_order(op: Operation) -> tuple[int, str, int, str]:
    where = (op.item.repo, op.item.number) if op.item else place_of(op.key or "")
    return (0, where[0], where[1], op.page_id or "") if where else (1, op.key or "", 0, op.page_id or "")


def shown(entries: Sequence[Any], verbose: bool) -> tuple[Sequence[Any], int]:
    """The entries a listing shows, and how many it leaves out (a long list, unless verbose)."""
    if verbose or len(entries) <= COMPACT_OVER:
        return entries, 0
    return entries[:COMPACT_SHOWN], len(entries) - COMPACT_SHOWN


def _more(hidden: int, what: str) -> list[str]:
    return [f"  … and {hidden} more {what} (--verbose lists them all)"] if hidden else []


# -- plans ---------------------------------------------------------------------------------------


def plan_json(plan: Plan) -> dict[str, Any]:
    return _plan_json(plan, [op.as_json() for op in ordered(plan.operations)])


def plan_json_chunks(plan: Plan) -> Iterator[str]:
    """`dumps(plan_json(plan))`, the same text, in pieces: an operation at a time, so that printing the plan
    of 100,000 writes never holds them all as JSON (nor as dicts) at once."""
    if not plan.operations:
        yield dumps(plan_json(plan))
        return
    head, tail = dumps(_plan_json(plan, [_OPERATIONS])).split(json.dumps(_OPERATIONS), 1)
    yield head
    for n, op in enumerate(ordered(plan.operations)):
        # at the depth of the operations list: every line after an operation's first one indented by 4
        yield (",\n    " if n else "") + dumps(op.as_json()).replace("\n", "\n    ")
    yield tail


_OPERATIONS = "\x00operations\x00"  # where the operations go (no text in a plan holds NUL)


def _plan_json(plan: Plan, operations: list[Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "format_version": 1,
        "generated_at": iso(plan.generated_at),
        "database_id": plan.database_id,
        "summary": plan.summary(),
        "operations": operations,
    }
    if plan.drift:
        body["drift"] = [drift.as_json() for drift in plan.drift]
    if plan.orphans:
        body["orphans"] = [orphan.as_json() for orphan in plan.orphans]
    if plan.duplicates:
        body["duplicates"] = [duplicate.as_json() for duplicate in plan.duplicates]
    if plan.schema_problems:
        body["schema_problems"] = [dict(problem) for problem in plan.schema_problems]
    if plan.nonconverging:
        body["nonconverging"] = [stuck.as_json() for stuck in plan.nonconverging]
    return body


def render_plan(plan: Plan, fmt: str, *, verbose: bool = False, quiet: bool = False) -> str:
    """A plan for people (text, markdown: long lists shown compactly unless verbose) or as JSON."""
    return "".join(plan_chunks(plan, fmt, verbose=verbose, quiet=quiet))


def plan_chunks(plan: Plan, fmt: str, *, verbose: bool = False, quiet: bool = False) -> Iterator[str]:
    """`render_plan`'s text in pieces: JSON an operation at a time, text and markdown (compact) whole."""
    if fmt == "json":
        yield from plan_json_chunks(plan)
    elif fmt == "markdown":
        yield plan_markdown(plan, verbose=verbose)
    else:
        yield summary_line(plan) if quiet else plan_text(plan, verbose=verbose)


def plan_text(plan: Plan, *, verbose: bool = False) -> str:
    lines = [f"Plan for database {plan.database_id} at {iso(plan.generated_at)}", ""]
    writes = ordered(op for op in plan.operations if op.action != "stale")
    listed, hidden = shown(writes, verbose)
    if hidden:
        lines.append(f"  {counts_line(writes)}; the first {len(listed)}:")
    lines += [line for op in listed for line in _op_lines(op)] or [f"  {_nothing(plan)}"]
    lines += _more(hidden, "operations")
    lines += _stale_lines(plan.stale, plan.generated_at, _stale_ops(plan), verbose)
    lines += _drift_lines(plan, verbose)
    lines += _orphan_lines(plan, verbose)
    lines += _duplicate_lines(plan)
    lines += _schema_lines(plan)
    lines += _nonconverging_lines(plan)
    lines += ["", summary_line(plan)]
    return "\n".join(lines)


def counts_line(operations: Sequence[Operation]) -> str:
    """`180 create, 20 update` — how many of each action, in the order they come."""
    counts: dict[str, int] = {}
    for op in operations:
        counts[op.action] = counts.get(op.action, 0) + 1
    return ", ".join(f"{n} {action}" for action, n in counts.items())


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
    stale: Sequence[StalePage],
    now: datetime,
    ops: Mapping[str, Operation] | None = None,
    verbose: bool = False,
) -> list[str]:
    if not stale:
        return []
    lines = ["", f"Stale pages ({len(stale)}):"]
    listed, hidden = shown(stale, verbose)
    for page in listed:
        lines.append(
            f"  ! {show(page.title)} (page {page.page_id}): {page.status}, last activity "
            f"{page.last_activity.date()} ({(now - page.last_activity).days} days){_github(page)}"
        )
        op = (ops or {}).get(page.page_id)
        changes = op.changes.items() if op else ()
        lines += [f"      {name}: {show(c.before)} -> {show(c.after)}" for name, c in changes]
    return lines + _more(hidden, "stale pages")


def _github(page: StalePage) -> str:
    item = page.github
    if item is None:
        return "; no GitHub item"
    who = ", ".join(item.assignees) or "nobody"
    return f"; {item.repo}#{item.number} is {item.state}, assigned to {who}"


def _drift_lines(plan: Plan, verbose: bool = False) -> list[str]:
    if not plan.drift:
        return []
    lines = ["", f"Drift left alone by the policies ({len(plan.drift)}, informational):"]
    listed, hidden = shown(plan.drift, verbose)
    for drift in listed:
        lines.append(
            f"  = {drift.key or drift.page_id} {drift.property}: Notion has {show(drift.notion)}, "
            f"the mapping says {show(drift.expected)} ({drift.policy})"
        )
    return lines + _more(hidden, "differences")


def _orphan_lines(plan: Plan, verbose: bool = False) -> list[str]:
    if not plan.orphans:
        return []
    lines = ["", f"Orphans ({len(plan.orphans)}, reported; set apply.on_orphan: archive to trash them):"]
    listed, hidden = shown(plan.orphans, verbose)
    lines += [f"  ? {orphan.key} (page {orphan.page_id}): {orphan.reason}" for orphan in listed]
    return lines + _more(hidden, "orphans")


def _schema_lines(plan: Plan) -> list[str]:
    if not plan.schema_problems:
        return []
    lines = ["", f"Schema problems ({len(plan.schema_problems)}; these properties are not written):"]
    return lines + [f"  ✗ {describe_problem(dict(problem))}" for problem in plan.schema_problems]


def describe_problem(problem: Mapping[str, Any]) -> str:
    """One schema problem in words, with what to do."""
    name, expected = problem["property"], problem["expected"]
    if problem["problem"] == "missing":
        what = f"the database has no property {name!r} (a {expected} property)"
    else:
        what = f"property {name!r} is {problem['actual']}, the mapping needs {expected}"
    hint = f"; did you mean {problem['suggestion']!r}?" if problem.get("suggestion") else ""
    return f"{what}{hint}: not written; run `reconcile schema check`"


def _duplicate_lines(plan: Plan) -> list[str]:
    if not plan.duplicates:
        return []
    archived = any(op.action == "archive" and op.reason.startswith("a copy") for op in plan.operations)
    what = (
        "trashed (apply.on_duplicate: archive)" if archived else "never written; apply.on_duplicate: archive"
    )
    lines = ["", f"Copies made by hand ({len(plan.duplicates)}; {what}):"]
    lines += [
        f"  ⧉ {dup.key}: page {dup.page_id} is the item's; copies {', '.join(dup.copies)}"
        for dup in plan.duplicates
    ]
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


def plan_markdown(plan: Plan, *, verbose: bool = False) -> str:
    counts = plan.summary()
    lines = [
        f"### reconcile plan — {counts['create']} create, {counts['update']} update, "
        f"{counts['recreate']} recreate, {counts['archive']} archive, {counts['stale']} stale, "
        f"{counts['unchanged']} unchanged",
        "",
    ]
    writes = ordered(op for op in plan.operations if op.action != "stale")
    listed, hidden = shown(writes, verbose)
    if writes:
        lines += ["| | item | page | changes | reason |", "|---|---|---|---|---|"]
        lines += [_op_row(op) for op in listed]
        lines += ["", f"… and {hidden} more operations (--verbose lists them all)."] if hidden else []
    else:
        lines.append(_nothing(plan))
    if plan.stale:
        stale, hidden = shown(plan.stale, verbose)
        lines += [
            "",
            f"#### Stale pages ({len(plan.stale)})",
            "",
            *stale_table(stale, plan.generated_at, _stale_ops(plan)),
        ]
        lines += ["", f"… and {hidden} more stale pages."] if hidden else []
    if plan.drift:
        drift, hidden = shown(plan.drift, verbose)
        lines += [
            "",
            f"#### Drift left alone ({len(plan.drift)})",
            "",
            "| item | property | Notion | mapping | policy |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {item_link(d.key) if d.key else page_link(d.page_id)} | {_md(d.property)} | "
            f"{_md(show(d.notion))} | {_md(show(d.expected))} | {d.policy} |"
            for d in drift
        ]
        lines += ["", f"… and {hidden} more differences."] if hidden else []
    if plan.orphans:
        orphans, hidden = shown(plan.orphans, verbose)
        lines += ["", f"#### Orphans ({len(plan.orphans)})", "", "| key | page | reason |", "|---|---|---|"]
        lines += [f"| {item_link(o.key)} | {page_link(o.page_id)} | {_md(o.reason)} |" for o in orphans]
        lines += ["", f"… and {hidden} more orphans."] if hidden else []
    if plan.nonconverging:
        lines += ["", f"#### Not converging ({len(plan.nonconverging)})", ""]
        lines += ["| key | page | property | sent | Notion kept |", "|---|---|---|---|---|"]
        lines += [
            f"| {item_link(s.key) if s.key else ''} | {page_link(s.page_id)} | {_md(s.property)} | "
            f"{_md(show(s.sent))} | {_md(show(s.stored))} |"
            for s in plan.nonconverging
        ]
    return "\n".join(lines)


def item_link(key: str | None, label: str | None = None) -> str:
    """A markdown link to the GitHub item (`acme/web#7`), or the key as it is when it is not one."""
    where = place_of(key or "")
    text = label or (f"{where[0]}#{where[1]}" if where else key or "")
    return f"[{_md(text)}]({key})" if key and key.startswith("http") else _md(text)


def page_link(page_id: str | None) -> str:
    """A markdown link to the page in Notion, its id as the text."""
    return f"[`{page_id}`]({notion_url(page_id)})" if page_id else "—"


def _op_row(op: Operation) -> str:
    changes = _changes_cell(op)
    who = f"{op.item.repo}#{op.item.number}" if op.item else None
    return (
        f"| {SYMBOLS[op.action]} {op.action} | {item_link(op.key, who)} | {page_link(op.page_id)} | "
        f"{changes} | {_md(op.reason)} |"
    )


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


def render_stale(stale: Sequence[StalePage], now: datetime, fmt: str, *, verbose: bool = False) -> str:
    if fmt == "json":
        return dumps(stale_json(stale, now))
    if fmt == "markdown":
        head = [f"### Stale pages ({len(stale)})", ""]
        listed, hidden = shown(stale, verbose)
        more = ["", f"… and {hidden} more stale pages (--verbose lists them all)."] if hidden else []
        return "\n".join(head + (stale_table(listed, now) if stale else ["None."]) + more)
    if not stale:
        return "No stale pages."
    return "\n".join(_stale_lines(stale, now, verbose=verbose)[1:])


def stale_table(
    stale: Sequence[StalePage], now: datetime, ops: Mapping[str, Operation] | None = None
) -> list[str]:
    """A markdown table of stale pages; with `ops`, a column for what the stale action writes."""
    head = "| page | title | status | last activity | GitHub |"
    lines = [head + (" action |" if ops else ""), "|---|---|---|---|---|" + ("---|" if ops else "")]
    for page in stale:
        item = page.github
        github = (
            f"{item_link(item.url, f'{item.repo}#{item.number}')} "
            f"({_md(item.state)}; {_md(', '.join(item.assignees) or 'unassigned')})"
            if item
            else "—"
        )
        row = (
            f"| {page_link(page.page_id)} | {_md(page.title or '')} | {_md(page.status or '')} | "
            f"{page.last_activity.date()} ({(now - page.last_activity).days} d) | {github} |"
        )
        if ops:
            op = ops.get(page.page_id)
            row += f" {_changes_cell(op) if op else '—'} |"
        lines.append(row)
    return lines


# -- run results ---------------------------------------------------------------------------------


def render_run(result: RunResult, fmt: str, *, verbose: bool = False, quiet: bool = False) -> str:
    """A run's outcome: what it planned, what it did, what failed (quiet: the outcome line alone)."""
    if fmt == "json":
        return dumps(result.as_json())
    plan = result.plan
    body = ""
    if plan and not quiet:
        body = plan_markdown(plan, verbose=verbose) if fmt == "markdown" else plan_text(plan, verbose=verbose)
    applied = result.applied
    verb = "Would apply" if result.dry_run else "Applied"
    done = len(plan.writes) if result.dry_run and plan else applied.applied
    lines = [body, ""] if body else []
    if result.paused is not None:
        lines.append(f"The board is {result.paused.describe()}; `reconcile resume` lifts the pause.")
    lines.append(
        f"{verb} {done}, failed {applied.failed}, deferred {applied.deferred}. "
        f"Pulled {result.pulled.github} GitHub items and {result.pulled.notion} Notion pages. "
        f"Run {result.run_id}: {result.status}."
    )
    failures, hidden = shown(applied.failures, verbose)
    lines += [f"  failed: {f.action} {f.key or f.page_id}: {f.error}" for f in failures]
    lines += _more(hidden, "failures")
    skips, hidden = shown(applied.skipped, verbose)
    lines += [f"  skipped: {s.key or s.page_id}: {s.reason}" for s in skips]
    lines += _more(hidden, "skipped")
    lines += [
        f"  refused: {r.key or r.page_id}: {r.property!r} left out ({r.error})" for r in applied.refused
    ]
    if applied.stopped:
        lines.append(f"  stopped early: {applied.stopped}; the rest waits for the next run")
    if result.recovery is not None and result.recovery.settled:
        lines.append(f"  {result.recovery.describe()}")
    if result.error:
        lines.append(f"  error: {result.error}")
    return "\n".join(lines)


def render_page_set(result: PageSetResult, fmt: str, *, quiet: bool = False) -> str:
    """`page set`: the run's outcome, then what was set on which page and what becomes of it."""
    if fmt == "json":
        return dumps(result.as_json())
    run = result.run
    if run.error or run.paused:
        return render_run(run, fmt, quiet=True)
    where = page_link(result.page_id) if fmt == "markdown" else f"page {result.page_id}"
    verb = "Would set" if run.dry_run else "Set"
    values = ", ".join(f"{name} = {show(value)}" for name, value in result.values.items())
    lines = [f"{verb} {values} on {where}." if values else f"Nothing to set on {where}."]
    bullet = "- " if fmt == "markdown" else "  "
    lines += [] if quiet else [f"{bullet}{note}" for note in result.notes]
    lines += [] if quiet else ["", render_run(run, fmt, quiet=True)]
    return "\n".join(lines)


# -- small results -------------------------------------------------------------------------------


def fields(title: str, rows: Sequence[tuple[str, Any]], fmt: str) -> str:
    """A titled list of name/value pairs: plain lines, or a markdown table."""
    if fmt == "markdown":
        body = [f"| {_md(name)} | {_md(str(value))} |" for name, value in rows]
        return "\n".join([f"### {title}", "", "| | |", "|---|---|", *body])
    return "\n".join([title, *(f"  {name}: {value}" for name, value in rows)])


def render_pull(result: PullResult, fmt: str) -> str:
    if fmt == "json":
        return dumps({"pulled": result.as_json(), "not_modified": result.not_modified})
    if fmt == "markdown":
        rows = [
            ("GitHub items", result.github),
            ("Notion pages", result.notion),
            ("not modified", ", ".join(result.not_modified) or "—"),
        ]
        return fields("reconcile pull", rows, fmt)
    return (
        f"Pulled {result.github} GitHub items and {result.notion} Notion pages"
        f"{'; not modified: ' + ', '.join(result.not_modified) if result.not_modified else ''}."
    )


def render_cleared(done: Sequence[str], fmt: str) -> str:
    """`reset --clear-locks`: what was removed."""
    if fmt == "json":
        return dumps({"status": "ok", "cleared": list(done)})
    if fmt == "markdown":
        items = [f"- {_md(line)}" for line in done] or ["No lock to clear."]
        return "\n".join(["### Locks cleared", "", *items])
    return "\n".join(done) if done else "No lock to clear."


def render_pause(board: str, pause: Pause, fmt: str) -> str:
    if fmt == "json":
        return dumps({"database_id": board, "status": "paused", "paused": pause.as_json()})
    text = (
        f"Board {board} is {pause.describe()}. Commands that write to Notion write nothing and exit 0 "
        "until `reconcile resume`."
    )
    return f"### Paused\n\n{text}" if fmt == "markdown" else text


def render_resume(board: str, lifted: Pause | None, fmt: str) -> str:
    if fmt == "json":
        return dumps({"database_id": board, "status": "ok", "resumed": lifted.as_json() if lifted else None})
    text = (
        f"Board {board} resumed (it was {lifted.describe()}); the next run applies what changed meanwhile."
        if lifted
        else f"Board {board} was not paused."
    )
    return f"### Resumed\n\n{text}" if fmt == "markdown" else text


def render_export(result: ExportResult, out: str, fmt: str) -> str:
    """After an export to a file: how many pages went where."""
    if fmt == "json":
        return dumps({**result.as_json(), "out": out})
    return f"Exported {result.count} pages of database {result.database_id} ({result.source}) to {out}."


def render_revision(revision: str, fmt: str) -> str:
    """`db upgrade`: the revision the mirror is at."""
    if fmt == "json":
        return dumps({"status": "ok", "revision": revision})
    if fmt == "markdown":
        return f"### reconcile db upgrade\n\nThe mirror is at revision `{revision}`."
    return f"mirror is at revision {revision}"


def health_markdown(report: Mapping[str, Any]) -> str:
    """`health` as a markdown table: one row per part, its status and what it found."""
    rows = ["| part | status | detail |", "|---|---|---|"]
    for part, detail in report.items():
        if isinstance(detail, Mapping):
            extra = detail.get("error") or ", ".join(
                f"{key} {value}" for key, value in detail.items() if key != "status" and value
            )
            rows.append(f"| {_md(part)} | {_md(str(detail.get('status')))} | {_md(str(extra))} |")
    return "\n".join([f"### reconcile health: {report.get('status')}", "", *rows])
