"""The mapping: a GitHub item -> the property values its Notion page should have (pure)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from reconcile.model import GitHubItem, Prop, iso
from reconcile.values import normalise

if TYPE_CHECKING:
    from reconcile.config import Condition, MappingConfig, PropertySpec

FIELDS = (
    "title",
    "number",
    "repo",
    "owner",
    "name",
    "kind",
    "state",
    "state_reason",
    "merged",
    "draft",
    "assigned",
    "assignees",
    "labels",
    "author",
    "milestone",
    "url",
    "created_at",
    "updated_at",
    "closed_at",
    "merged_at",
)
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")


def check_template(template: str) -> None:
    """Refuse a template that names a field items do not have."""
    for match in _PLACEHOLDER.finditer(template):
        name = match.group(1)
        if name is not None and name.strip() not in FIELDS:
            raise ValueError(f"unknown field {{{name}}} in template; fields are {', '.join(FIELDS)}")


def has_fields(text: str) -> bool:
    """Whether a text names item fields (and so is a template, not a fixed value)."""
    return any(match.group(1) is not None for match in _PLACEHOLDER.finditer(text))


def render(template: str, item: GitHubItem) -> str:
    """Fill `{field}` placeholders (`{{` and `}}` are literal braces)."""

    def fill(match: re.Match[str]) -> str:
        if match.group(1) is None:
            return match.group(0)[0]
        return as_text(field(item, match.group(1).strip()))

    return _PLACEHOLDER.sub(fill, template)


def field(item: GitHubItem, name: str) -> Any:
    """The value of an item field by name (lists as tuples, times as datetimes)."""
    return getattr(item, name)


def as_text(value: Any) -> str:
    """How a field reads inside text: lists comma-joined, booleans lower-case, times in ISO-8601."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso(value) or ""
    if isinstance(value, (list, tuple)):
        return ", ".join(as_text(part) for part in value)
    return str(value)


def compute(spec: PropertySpec, item: GitHubItem) -> Any:
    """The raw value the spec gives for this item (before normalising)."""
    if spec.value is not None:
        return _from_template(spec.value, spec.type, item)
    if spec.rules is not None:
        rule = next((rule for rule in spec.rules if rule.when is None or matches(rule.when, item)), None)
        return _fill(rule.then, spec.type, item) if rule else None
    return _from_labels(spec, item)


def expected(mapping: MappingConfig, item: GitHubItem) -> dict[str, Prop]:
    """Every mapped property's normalised expected value, plus the key property."""
    props = {
        name: Prop(spec.type, normalise(spec.type, compute(spec, item)))
        for name, spec in mapping.properties.items()
    }
    props[mapping.key] = Prop("url", normalise("url", item.url))
    return props


def matches(condition: Condition, item: GitHubItem) -> bool:
    """Whether every condition given holds for the item."""
    for name in condition.model_fields_set:
        wanted = getattr(condition, name)
        if name == "labels":
            carried = {label.lower() for label in item.labels}
            if not any(label.lower() in carried for label in wanted or []):
                return False
        elif field(item, name) != wanted:
            return False
    return True


def _from_template(template: str, kind: str, item: GitHubItem) -> Any:
    single = _PLACEHOLDER.fullmatch(template.strip())
    if kind == "multi_select" and single and single.group(1):
        value = field(item, single.group(1).strip())
        return [as_text(part) for part in value] if isinstance(value, (list, tuple)) else as_text(value)
    return render(template, item)


def _fill(then: Any, kind: str, item: GitHubItem) -> Any:
    if isinstance(then, str):
        return _from_template(then, kind, item)
    if isinstance(then, list):
        return [render(part, item) if isinstance(part, str) else part for part in then]
    return then


def _from_labels(spec: PropertySpec, item: GitHubItem) -> Any:
    carried = {label.lower() for label in item.labels}
    hits = [value for label, value in (spec.labels or {}).items() if label.lower() in carried]
    if spec.type == "multi_select":
        return hits or ([spec.default] if spec.default is not None else [])
    return hits[0] if hits else spec.default
