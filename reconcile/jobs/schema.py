"""`reconcile schema check|fix`: the database's properties and options against what the mapping needs."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from reconcile.clients.errors import ApiError
from reconcile.config import Config
from reconcile.jobs.context import Context
from reconcile.jobs.pause import is_paused
from reconcile.mapping import has_fields
from reconcile.mirror.boards import Pause
from reconcile.report import dumps
from reconcile.values import option_name

log = logging.getLogger("reconcile.schema")

OPTION_TYPES = ("select", "multi_select", "status")


@dataclass
class SchemaResult:
    problems: list[dict[str, Any]] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    unfixable: list[str] = field(default_factory=list)
    paused: Pause | None = None  # `schema fix` on a paused board: checked, nothing written

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": self.ok, "problems": self.problems}
        if self.fixed or self.unfixable:
            body.update(fixed=self.fixed, unfixable=self.unfixable)
        if self.paused is not None:
            body.update(status="paused", paused=self.paused.as_json())
        return body


# -- pure ----------------------------------------------------------------------------------------


def wanted(config: Config) -> dict[str, tuple[str, list[str]]]:
    """Property name -> (type, option names the mapping can write that are known in advance)."""
    result: dict[str, tuple[str, list[str]]] = {config.mapping.key: ("url", [])}
    for name, spec in config.mapping.properties.items():
        result[name] = (spec.type, _options(spec, config) if spec.type in OPTION_TYPES else [])
    stale = config.stale
    if stale.property in result and result[stale.property][0] in ("select", "status"):
        extra = [value for value in (stale.status, stale.set_status) if value]
        result[stale.property] = (result[stale.property][0], _unique(result[stale.property][1] + extra))
    if stale.action == "annotate" and stale.annotate_property:
        result[stale.annotate_property] = ("rich_text", [])
    return result


def _options(spec: Any, config: Config) -> list[str]:
    values: list[Any] = []
    if spec.rules:
        values += [rule.then for rule in spec.rules]
    if spec.labels:
        values += [*spec.labels.values(), spec.default]
    if spec.value and spec.value.strip() == "{repo}":
        values += config.github.repos
    flat = [part for value in values for part in (value if isinstance(value, list) else [value])]
    return _unique([option_name(v) for v in flat if isinstance(v, str) and not has_fields(v)])


def _unique(names: list[Any]) -> list[str]:
    return [name for name in dict.fromkeys(names) if name]


def spelling(name: str) -> str:
    """A name as people read it: without case or spacing (`In Progress`, `in progress`, `InProgress`)."""
    return "".join(name.split()).casefold()


def near_miss(name: str, existing: Iterable[Any]) -> str | None:
    """An existing name that differs from `name` only by case or spacing (Notion compares names exactly)."""
    key = spelling(name)
    return next(
        (other for other in existing if isinstance(other, str) and other != name and spelling(other) == key),
        None,
    )


def compare(config: Config, schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Missing properties, wrong types and missing options (CONTRACT §8 shape, plus `suggestion`)."""
    problems: list[dict[str, Any]] = []
    for name, (kind, options) in wanted(config).items():
        actual = schema.get(name)
        if actual is None:
            problems.append(_problem(name, "missing", kind, None, near_miss(name, schema)))
            continue
        actual_kind = actual.get("type")
        if actual_kind != kind:
            problems.append(_problem(name, "wrong_type", kind, actual_kind))
        if kind in OPTION_TYPES and actual_kind in OPTION_TYPES:  # a select mapped onto a status: check both
            problems += _option_problems(name, options, actual)
    return problems


def unwritable(config: Config, schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The mapped properties no write can set: missing from the database, or of another type."""
    mapped = {config.mapping.key, *config.mapping.properties}
    return [
        problem
        for problem in compare(config, schema)
        if problem["problem"] in ("missing", "wrong_type") and problem["property"] in mapped
    ]


def _option_problems(name: str, options: list[str], actual: dict[str, Any]) -> list[dict[str, Any]]:
    have = [option.get("name") for option in (actual.get(actual.get("type")) or {}).get("options", [])]
    return [
        _problem(name, "missing_option", option, None, near_miss(option, have))
        for option in options
        if option not in have
    ]


def _problem(
    prop: str, problem: str, expected: Any, actual: Any, suggestion: str | None = None
) -> dict[str, Any]:
    entry = {"property": prop, "problem": problem, "expected": expected, "actual": actual}
    if suggestion is not None:
        entry["suggestion"] = suggestion
    return entry


def patch_for(
    config: Config, schema: dict[str, Any], problems: list[dict[str, Any]]
) -> tuple[dict[str, Any], list[str]]:
    """The schema PATCH that adds what is missing (removing nothing), and what cannot be fixed.

    A near miss stops the fix: adding `In Progress` beside `In progress` (or `labels` beside `Labels`) would
    give Notion two names for one thing and split the pages between them.
    """
    near = [problem for problem in problems if problem.get("suggestion")]
    if near:
        return {}, [_near_miss_reason(problem) for problem in near]
    kinds = wanted(config)
    retyped = {p["property"] for p in problems if p["problem"] == "wrong_type"}
    patch: dict[str, Any] = {}
    unfixable: list[str] = []
    for problem in problems:
        name, kind = problem["property"], kinds[problem["property"]][0]
        if problem["problem"] == "wrong_type":
            unfixable.append(f"{name}: is {problem['actual']}, the mapping needs {kind} (change it by hand)")
        elif name in retyped:
            continue  # options of a property of the wrong type: adding them would change its type
        elif kind == "status":
            unfixable.append(
                f"{name}: the API cannot add status options; add {problem['expected']!r} by hand"
            )
        elif problem["problem"] == "missing":
            options = [{"name": option} for option in kinds[name][1]]
            patch[name] = {kind: {"options": options} if kind in OPTION_TYPES else {}}
        else:
            existing = (schema[name].get(kind) or {}).get("options", []) if name in schema else []
            entry = patch.setdefault(
                name, {kind: {"options": [{"id": o["id"]} for o in existing if o.get("id")]}}
            )
            entry[kind]["options"].append({"name": problem["expected"]})
    return patch, unfixable


def _near_miss_reason(problem: dict[str, Any]) -> str:
    what = "property" if problem["problem"] == "missing" else "option"
    wanted_name = problem["property"] if what == "property" else problem["expected"]
    return (
        f"{problem['property']}: not adding the {what} {wanted_name!r}: the database has "
        f"{problem['suggestion']!r}, which differs only by case or spacing, and Notion compares names "
        f"exactly; use {problem['suggestion']!r} in the config (or rename it in Notion)"
    )


# -- with the API --------------------------------------------------------------------------------


def check(ctx: Context) -> SchemaResult:
    return SchemaResult(compare(ctx.config, ctx.notion.schema()))


def fix(ctx: Context) -> SchemaResult:
    """Add what is missing, holding the job's lock like every command that writes to Notion.

    On a paused board it only checks: nothing is written.
    """
    pause = is_paused(ctx)
    if pause is not None:
        result = check(ctx)
        result.paused = pause
        return result
    with ctx.writing():
        return _fix(ctx)


def _fix(ctx: Context) -> SchemaResult:
    schema = ctx.notion.schema()
    problems = compare(ctx.config, schema)
    patch, unfixable = patch_for(ctx.config, schema, problems)
    if patch:
        try:
            ctx.notion.update_schema(patch)
        except ApiError as exc:
            unfixable.append(f"the schema update was refused: {exc}")
            patch = {}
    result = SchemaResult(compare(ctx.config, ctx.notion.schema()) if patch else problems)
    result.fixed = sorted(patch)
    result.unfixable = unfixable
    return result


def render_check(result: SchemaResult, fmt: str) -> str:
    if fmt == "json":
        return dumps(result.as_json())
    if fmt == "markdown":
        return _markdown(result)
    lines = [f"Fixed: {', '.join(result.fixed)}"] if result.fixed else []
    if result.paused is not None:
        lines.append(f"The board is {result.paused.describe()}: nothing was changed.")
    if result.ok:
        return "\n".join([*lines, "Schema OK: the database has every property and option the mapping needs."])
    lines.append(f"Schema problems ({len(result.problems)}):")
    lines += [f"  {problem['property']}: {_detail(problem)}" for problem in result.problems]
    lines += [f"  cannot fix: {reason}" for reason in result.unfixable]
    if any(problem.get("suggestion") for problem in result.problems) and not result.unfixable:
        lines.append(
            "Correct the spelling in the config: Notion compares names exactly, and `schema fix` will"
        )
        lines.append("not add a second spelling of an existing name.")
    elif not result.fixed and not result.unfixable:
        lines.append("Run `reconcile schema fix` to add what is missing.")
    return "\n".join(lines)


def _detail(problem: dict[str, Any]) -> str:
    """What is wrong with one property, and what to do, in words."""
    detail = {
        "missing": f"missing (needs a {problem['expected']} property)",
        "wrong_type": f"is {problem['actual']}, the mapping needs {problem['expected']}",
        "missing_option": f"has no option {problem['expected']!r}",
    }[problem["problem"]]
    if problem.get("suggestion"):
        detail += f"; did you mean `{problem['suggestion']}`?"
    if problem["problem"] == "wrong_type" and {problem["expected"], problem["actual"]} == {
        "select",
        "status",
    }:
        detail += f" (to use it as it is, set `type: {problem['actual']}` in the mapping)"
    return detail


def _markdown(result: SchemaResult) -> str:
    lines = [f"### reconcile schema — {'OK' if result.ok else f'{len(result.problems)} problems'}", ""]
    lines += [f"Fixed: {', '.join(result.fixed)}", ""] if result.fixed else []
    lines += [f"The board is {result.paused.describe()}: nothing was changed.", ""] if result.paused else []
    if result.problems:
        lines += ["| property | problem |", "|---|---|"]
        lines += [f"| {problem['property']} | {_detail(problem)} |" for problem in result.problems]
    else:
        lines.append("The database has every property and option the mapping needs.")
    lines += [f"- cannot fix: {reason}" for reason in result.unfixable]
    return "\n".join(lines)
