"""Query filters (property, timestamp, compound) and the values they and sorts compare."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from reconcile.sandbox.notion_errors import UNDEFINED, body_error, shown, validation
from reconcile.sandbox.notion_model import Database, Page, Prop
from reconcile.sandbox.notion_rich import plain_text
from reconcile.sandbox.notion_values import empty_value
from reconcile.sandbox.stamps import floor_minute, is_date_only, parse_instant

Predicate = Callable[[Page], bool]
TEXT_TYPES = frozenset({"title", "rich_text", "url", "email", "phone_number"})
DATE_TYPES = frozenset({"date", "created_time", "last_edited_time"})
MAX_DEPTH = 2
_SPANS = {
    "past_week": (-7, 0),
    "past_month": (-30, 0),
    "past_year": (-365, 0),
    "next_week": (0, 7),
    "next_month": (0, 30),
    "next_year": (0, 365),
}


def compile_filter(
    spec: Any, db: Database, now: datetime, where: str = "filter", depth: int = 0
) -> Predicate:
    """A predicate over pages for a query's `filter`."""
    if not isinstance(spec, dict):
        raise body_error(where, f"should be an object, instead was {shown(spec)}.")
    for op in ("and", "or"):
        if op in spec:
            return _compound(op, spec[op], db, now, f"{where}.{op}", depth)
    if "timestamp" in spec:
        return _timestamp_filter(spec, now, where)
    if "property" in spec:
        return _property_filter(spec, db, now, where)
    raise body_error(
        where, f"should have one of `and`, `or`, `property` or `timestamp`, instead was {shown(spec)}."
    )


def _compound(op: str, items: Any, db: Database, now: datetime, where: str, depth: int) -> Predicate:
    if depth >= MAX_DEPTH:
        raise validation(
            f"body failed validation: body.{where} is nested too deeply: compound filters "
            f"(and/or) can be nested at most {MAX_DEPTH} levels."
        )
    if not isinstance(items, list):
        raise body_error(where, f"should be an array, instead was {shown(items)}.")
    parts = [compile_filter(item, db, now, f"{where}[{i}]", depth + 1) for i, item in enumerate(items)]
    if op == "and":
        return lambda page: all(part(page) for part in parts)
    return lambda page: any(part(page) for part in parts)


def _timestamp_filter(spec: dict[str, Any], now: datetime, where: str) -> Predicate:
    stamp = spec["timestamp"]
    if stamp not in ("created_time", "last_edited_time"):
        raise body_error(
            f"{where}.timestamp",
            f'should be `"created_time"` or `"last_edited_time"`, instead was {shown(stamp)}.',
        )
    test = _date_test(spec.get(stamp, UNDEFINED), now, f"{where}.{stamp}")
    return lambda page: test(timestamp_value(page, stamp))


def _property_filter(spec: dict[str, Any], db: Database, now: datetime, where: str) -> Predicate:
    name = spec["property"]
    prop = db.prop(name) if isinstance(name, str) else None
    if prop is None:
        raise validation(f"Could not find property with name or id: {name}")
    allowed = {prop.type, "date"} if prop.type in DATE_TYPES else {prop.type}
    given = next((key for key in spec if key != "property" and key != "type"), None)
    if given not in allowed:
        raise validation(
            f"body failed validation: body.{where}.{given or prop.type} does not match the type "
            f"of property {prop.name}, which is {prop.type}."
        )
    condition = spec[given]
    path = f"{where}.{given}"
    if prop.type in DATE_TYPES:
        date_test = _date_test(condition, now, path)
        return lambda page: date_test(_date_of(page, prop))
    test = _value_test(prop.type, condition, path)
    return lambda page: test(filter_value(page, prop))


def _value_test(kind: str, condition: Any, where: str) -> Callable[[Any], bool]:
    op, arg = _condition(condition, where)
    family = "text" if kind in TEXT_TYPES else kind
    tests = _TESTS.get(family)
    if tests is None or op not in tests:
        raise body_error(f"{where}.{op}", f"should be not present, instead was {shown(arg)}.")
    return tests[op](arg)


def _condition(condition: Any, where: str) -> tuple[str, Any]:
    if not isinstance(condition, dict) or len(condition) != 1:
        raise body_error(
            where, f"should be an object with exactly one condition, instead was {shown(condition)}."
        )
    return next(iter(condition.items()))


def _date_test(condition: Any, now: datetime, where: str) -> Callable[[datetime | None], bool]:
    op, arg = _condition(condition, where)
    if op in ("is_empty", "is_not_empty"):
        return lambda value: (value is None) == (op == "is_empty")
    if op in _SPANS:
        low, high = (now + timedelta(days=days) for days in _SPANS[op])
        return lambda value: value is not None and low <= value <= high
    if op not in ("equals", "before", "after", "on_or_before", "on_or_after"):
        raise body_error(f"{where}.{op}", f"should be not present, instead was {shown(arg)}.")
    try:
        bound = parse_instant(arg)
    except (ValueError, TypeError):
        raise body_error(
            f"{where}.{op}", f"should be a valid ISO 8601 date string, instead was {shown(arg)}."
        ) from None
    compare = _COMPARE[op]
    if is_date_only(arg):
        return lambda value: value is not None and compare(value.date(), bound.date())
    return lambda value: value is not None and compare(value, bound)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "equals": lambda a, b: a == b,
    "before": lambda a, b: a < b,
    "after": lambda a, b: a > b,
    "on_or_before": lambda a, b: a <= b,
    "on_or_after": lambda a, b: a >= b,
}


def _text_tests() -> dict[str, Callable[[Any], Callable[[Any], bool]]]:
    def low(text: Any) -> str:
        return str(text).casefold()

    return {
        "equals": lambda arg: lambda v: v == arg,
        "does_not_equal": lambda arg: lambda v: v != arg,
        "contains": lambda arg: lambda v: low(arg) in low(v),
        "does_not_contain": lambda arg: lambda v: low(arg) not in low(v),
        "starts_with": lambda arg: lambda v: low(v).startswith(low(arg)),
        "ends_with": lambda arg: lambda v: low(v).endswith(low(arg)),
        "is_empty": lambda arg: lambda v: v == "",
        "is_not_empty": lambda arg: lambda v: v != "",
    }


def _number_tests() -> dict[str, Callable[[Any], Callable[[Any], bool]]]:
    return {
        "equals": lambda arg: lambda v: v == arg,
        "does_not_equal": lambda arg: lambda v: v != arg,
        "greater_than": lambda arg: lambda v: v is not None and v > arg,
        "less_than": lambda arg: lambda v: v is not None and v < arg,
        "greater_than_or_equal_to": lambda arg: lambda v: v is not None and v >= arg,
        "less_than_or_equal_to": lambda arg: lambda v: v is not None and v <= arg,
        "is_empty": lambda arg: lambda v: v is None,
        "is_not_empty": lambda arg: lambda v: v is not None,
    }


def _list_tests() -> dict[str, Callable[[Any], Callable[[Any], bool]]]:
    return {
        "contains": lambda arg: lambda v: arg in v,
        "does_not_contain": lambda arg: lambda v: arg not in v,
        "is_empty": lambda arg: lambda v: not v,
        "is_not_empty": lambda arg: lambda v: bool(v),
    }


_CHOICE_TESTS: dict[str, Callable[[Any], Callable[[Any], bool]]] = {
    "equals": lambda arg: lambda v: v == arg,
    "does_not_equal": lambda arg: lambda v: v != arg,
    "is_empty": lambda arg: lambda v: v is None,
    "is_not_empty": lambda arg: lambda v: v is not None,
}
_TESTS: dict[str, dict[str, Callable[[Any], Callable[[Any], bool]]]] = {
    "text": _text_tests(),
    "number": _number_tests(),
    "select": _CHOICE_TESTS,
    "status": _CHOICE_TESTS,
    "checkbox": {
        "equals": lambda arg: lambda v: v is arg,
        "does_not_equal": lambda arg: lambda v: v is not arg,
    },
    "multi_select": _list_tests(),
    "people": _list_tests(),
    "relation": _list_tests(),
}


def stored(page: Page, prop: Prop) -> Any:
    """The page's stored value for a property (the empty value when unset)."""
    return page.values.get(prop.id, empty_value(prop.type))


def filter_value(page: Page, prop: Prop) -> Any:
    """The comparable form of a property value: text, number, bool, option name, or a list of names/ids."""
    value = stored(page, prop)
    if prop.type in ("title", "rich_text"):
        return plain_text(value)
    if prop.type in TEXT_TYPES:
        return value or ""
    if prop.type in ("select", "status"):
        return value["name"] if value else None
    if prop.type == "multi_select":
        return [option["name"] for option in value]
    if prop.type in ("people", "relation"):
        return [ref["id"] for ref in value]
    return value


def timestamp_value(page: Page, stamp: str) -> datetime:
    """A page timestamp as clients see it: rounded down to the minute."""
    return floor_minute(page.created_time if stamp == "created_time" else page.last_edited_time)


def _date_of(page: Page, prop: Prop) -> datetime | None:
    if prop.type != "date":
        return timestamp_value(page, prop.type)
    value = stored(page, prop)
    return parse_instant(value["start"]) if value else None


def sort_value(page: Page, prop: Prop) -> Any:
    """A sortable key for a property value, None when empty."""
    if prop.type in DATE_TYPES:
        return _date_of(page, prop)
    value = filter_value(page, prop)
    if prop.type in TEXT_TYPES:
        return value.casefold() or None
    if prop.type in ("select", "status"):
        names = [option["name"] for option in prop.options]
        return (names.index(value) if value in names else len(names)) if value is not None else None
    if isinstance(value, list):
        return tuple(sorted(value)) or None
    return value
