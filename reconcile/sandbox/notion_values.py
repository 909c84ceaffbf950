"""Page property values: validation of what clients write, and the stored (read) shapes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reconcile.sandbox.notion_dates import stored_date
from reconcile.sandbox.notion_errors import UNDEFINED, body_error, shown, too_long, validation
from reconcile.sandbox.notion_model import Prop
from reconcile.sandbox.notion_rich import RichContext, stored_part, utf16_len

ARRAY_LIMIT = 100
URL_LIMIT = 2000
SHORT_LIMIT = 200
OPTION_NAME_LIMIT = 100
READ_ONLY = frozenset(
    {
        "created_time",
        "created_by",
        "last_edited_time",
        "last_edited_by",
        "formula",
        "rollup",
        "unique_id",
        "button",
        "verification",
    }
)
KNOWN_TYPES = READ_ONLY | {
    "title",
    "rich_text",
    "number",
    "select",
    "multi_select",
    "status",
    "date",
    "people",
    "files",
    "checkbox",
    "url",
    "email",
    "phone_number",
    "relation",
}
_EMPTY_LISTS = frozenset({"title", "rich_text", "multi_select", "people", "relation", "files"})

OptionMaker = Callable[[Prop, str, Any], dict[str, Any]]


@dataclass
class Writing:
    """What storing a written value needs from the workspace: new options, mentions, text rewriting."""

    new_option: OptionMaker
    rich: RichContext


def empty_value(kind: str) -> Any:
    """The value Notion returns for an unset property of that type."""
    if kind in _EMPTY_LISTS:
        return []
    return False if kind == "checkbox" else None


def coerce(prop: Prop, raw: Any, where: str, ctx: Writing) -> Any:
    """Validate a written property value object; return the value to store."""
    if not isinstance(raw, dict):
        raise body_error(where, f"should be an object, instead was {shown(raw)}.")
    given = raw.get("type") or next((key for key in raw if key in KNOWN_TYPES), None)
    if given != prop.type or prop.type not in raw:
        raise validation(f"{prop.name} is expected to be {prop.type}.")
    if prop.type in READ_ONLY:
        raise validation(f"{prop.name} is a read-only property of type {prop.type} and cannot be set.")
    return _COERCERS[prop.type](prop, raw[prop.type], f"{where}.{prop.type}", ctx)


def _rich(prop: Prop, value: Any, where: str, ctx: Writing) -> list[dict[str, Any]]:
    items = _array(value, where)
    return [stored_part(item, f"{where}[{i}]", ctx.rich) for i, item in enumerate(items)]


def _array(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise body_error(where, f"should be an array, instead was {shown(value)}.")
    if len(value) > ARRAY_LIMIT:
        raise too_long(where, ARRAY_LIMIT, len(value))
    return value


def _select(prop: Prop, value: Any, where: str, ctx: Writing) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise body_error(where, f"should be an object or `null`, instead was {shown(value)}.")
    return option_value(prop, value, where, ctx.new_option)


def _multi(prop: Prop, value: Any, where: str, ctx: Writing) -> list[dict[str, Any]]:
    chosen: dict[str, dict[str, Any]] = {}
    for i, item in enumerate(_array(value, where)):
        if not isinstance(item, dict):
            raise body_error(f"{where}[{i}]", f"should be an object, instead was {shown(item)}.")
        option = option_value(prop, item, f"{where}[{i}]", ctx.new_option)
        chosen.setdefault(option["id"], option)
    return list(chosen.values())


def option_value(prop: Prop, value: dict[str, Any], where: str, new_option: OptionMaker) -> dict[str, Any]:
    """A select/multi_select/status choice by id or name; unknown select names become new options."""
    if value.get("id") is not None:
        found = next((o for o in prop.options if o["id"] == value["id"]), None)
        if found is None:
            raise validation(f"{value['id']} is an invalid {prop.type} option id for property {prop.name}.")
        return _chosen(found)
    name = check_option_name(value.get("name", UNDEFINED), f"{where}.name")
    found = next((o for o in prop.options if o["name"] == name), None)
    if found is None and prop.type == "status":
        known = ", ".join(f'"{o["name"]}"' for o in prop.options)
        raise validation(
            f'Invalid status option "{name}" for property {prop.name}. '
            f"Status options cannot be created through the API; existing options: {known}."
        )
    return _chosen(found or new_option(prop, name, value.get("color")))


def without_nul(text: str) -> str:
    """Stored text: NUL is dropped. UNCONFIRMED for the real API, which documents nothing about it; its
    storage cannot keep NUL any more than PostgreSQL can, and the job cleans NUL out before sending anyway."""
    return text.replace("\x00", "")


def check_option_name(name: Any, where: str) -> str:
    """An option name Notion accepts (a string, not blank, no comma, at most 100 characters)."""
    if not isinstance(name, str):
        raise body_error(where, f"should be a string, instead was {shown(name)}.")
    name = without_nul(name)
    if "," in name:
        raise validation(f"Invalid select option, commas not allowed: {name}")
    if not name.strip():  # the message the issue tracker recorded for a label that is only a space
        raise body_error(where, f"should be a non-empty string, instead was {shown(name)}.")
    if utf16_len(name) > OPTION_NAME_LIMIT:
        raise too_long(where, OPTION_NAME_LIMIT, utf16_len(name))
    return name


def _chosen(option: dict[str, Any]) -> dict[str, Any]:
    return {"id": option["id"], "name": option["name"], "color": option["color"]}


def _date(prop: Prop, value: Any, where: str, ctx: Writing) -> dict[str, Any] | None:
    return stored_date(value, where)


def _string(limit: int) -> Callable[[Prop, Any, str, Writing], str | None]:
    def coerce_string(prop: Prop, value: Any, where: str, ctx: Writing) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise body_error(where, f"should be a string or `null`, instead was {shown(value)}.")
        value = without_nul(value)
        if utf16_len(value) > limit:
            raise too_long(where, limit, utf16_len(value))
        return value

    return coerce_string


def _number(prop: Prop, value: Any, where: str, ctx: Writing) -> float | int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise body_error(where, f"should be a number or `null`, instead was {shown(value)}.")
    return value


def _checkbox(prop: Prop, value: Any, where: str, ctx: Writing) -> bool:
    if not isinstance(value, bool):
        raise body_error(where, f"should be a boolean, instead was {shown(value)}.")
    return value


def _references(kind: str | None) -> Callable[[Prop, Any, str, Writing], list[dict[str, Any]]]:
    def coerce_references(prop: Prop, value: Any, where: str, ctx: Writing) -> list[dict[str, Any]]:
        refs = []
        for i, item in enumerate(_array(value, where)):
            ref = item.get("id", UNDEFINED) if isinstance(item, dict) else UNDEFINED
            if not isinstance(ref, str):
                raise body_error(f"{where}[{i}].id", f"should be a string, instead was {shown(ref)}.")
            refs.append({"object": kind, "id": ref} if kind else {"id": ref})
        return refs

    return coerce_references


def _files(prop: Prop, value: Any, where: str, ctx: Writing) -> list[Any]:
    return list(_array(value, where))


_COERCERS: dict[str, Callable[[Prop, Any, str, Writing], Any]] = {
    "title": _rich,
    "rich_text": _rich,
    "select": _select,
    "multi_select": _multi,
    "status": _select,
    "date": _date,
    "url": _string(URL_LIMIT),
    "email": _string(SHORT_LIMIT),
    "phone_number": _string(SHORT_LIMIT),
    "number": _number,
    "checkbox": _checkbox,
    "people": _references("user"),
    "relation": _references(None),
    "files": _files,
}
