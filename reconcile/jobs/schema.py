"""`reconcile schema check|fix`: the database's properties and options against what the mapping needs."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from reconcile.clients.errors import ApiError
from reconcile.config import Config
from reconcile.jobs.context import Context
from reconcile.mapping import has_fields
from reconcile.report import dumps
from reconcile.values import option_name

log = logging.getLogger("reconcile.schema")

OPTION_TYPES = ("select", "multi_select", "status")


@dataclass
class SchemaResult:
    problems: list[dict[str, Any]] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    unfixable: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": self.ok, "problems": self.problems}
        if self.fixed or self.unfixable:
            body.update(fixed=self.fixed, unfixable=self.unfixable)
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


def compare(config: Config, schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Missing properties, wrong types and missing options (CONTRACT §8 shape)."""
    problems = []
    for name, (kind, options) in wanted(config).items():
        actual = schema.get(name)
        if actual is None:
            problems.append({"property": name, "problem": "missing", "expected": kind, "actual": None})
        elif actual.get("type") != kind:
            problems.append(
                {"property": name, "problem": "wrong_type", "expected": kind, "actual": actual.get("type")}
            )
        else:
            have = {option.get("name") for option in (actual.get(kind) or {}).get("options", [])}
            problems += [
                {"property": name, "problem": "missing_option", "expected": option, "actual": None}
                for option in options
                if option not in have
            ]
    return problems


def patch_for(
    config: Config, schema: dict[str, Any], problems: list[dict[str, Any]]
) -> tuple[dict[str, Any], list[str]]:
    """The schema PATCH that adds what is missing (removing nothing), and what cannot be fixed."""
    kinds = wanted(config)
    patch: dict[str, Any] = {}
    unfixable: list[str] = []
    for problem in problems:
        name, kind = problem["property"], kinds[problem["property"]][0]
        if problem["problem"] == "wrong_type":
            unfixable.append(f"{name}: is {problem['actual']}, the mapping needs {kind} (change it by hand)")
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


# -- with the API --------------------------------------------------------------------------------


def check(ctx: Context) -> SchemaResult:
    return SchemaResult(compare(ctx.config, ctx.notion.schema()))


def fix(ctx: Context) -> SchemaResult:
    """Add what is missing, holding the job's lock like every command that writes to Notion."""
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
    lines = [f"Fixed: {', '.join(result.fixed)}"] if result.fixed else []
    if result.ok:
        return "\n".join([*lines, "Schema OK: the database has every property and option the mapping needs."])
    lines.append(f"Schema problems ({len(result.problems)}):")
    for problem in result.problems:
        detail = {
            "missing": f"missing (needs a {problem['expected']} property)",
            "wrong_type": f"is {problem['actual']}, the mapping needs {problem['expected']}",
            "missing_option": f"has no option {problem['expected']!r}",
        }[problem["problem"]]
        lines.append(f"  {'- ' if fmt == 'markdown' else ''}{problem['property']}: {detail}")
    lines += [f"  cannot fix: {reason}" for reason in result.unfixable]
    if not result.fixed and not result.unfixable:
        lines.append("Run `reconcile schema fix` to add what is missing.")
    return "\n".join(lines)
