"""Database schemas: property configs from API-shaped input, schema updates, and their JSON."""

from __future__ import annotations

from typing import Any

from reconcile.sandbox.ids import IdMaker
from reconcile.sandbox.notion_errors import body_error, shown, validation
from reconcile.sandbox.notion_model import Database, Prop
from reconcile.sandbox.notion_values import KNOWN_TYPES, check_option_name

COLORS = ("default", "gray", "brown", "orange", "yellow", "green", "blue", "purple", "pink", "red")
_OPTION_TYPES = frozenset({"select", "multi_select", "status"})
_STATUS_DEFAULTS = (("Not started", "default"), ("In progress", "blue"), ("Done", "green"))
_GROUPS = (("To-do", "gray"), ("In progress", "blue"), ("Complete", "green"))
STATUS_UNCHANGEABLE = "It's not possible to update the name or options of a status property through the API."


class SchemaBuilder:
    """Builds and changes property configs, with seeded ids and colours."""

    def __init__(self, ids: IdMaker) -> None:
        self._ids = ids

    def new_option(self, prop: Prop, name: str, color: Any = None) -> dict[str, Any]:
        """Add an option to a select/multi_select/status property (status: to the To-do group)."""
        option = {
            "id": self._ids.uuid(),
            "name": name,
            "color": color if color in COLORS else self._ids.choice(COLORS),
            "description": None,
        }
        prop.options.append(option)
        if prop.type == "status" and prop.groups:
            prop.groups[0]["option_ids"].append(option["id"])
        return option

    def build(self, configs: dict[str, Any]) -> dict[str, Prop]:
        """A schema from `{name: config}`; exactly one title property is required."""
        props: dict[str, Prop] = {}
        for name, config in configs.items():
            prop = self.new_prop(name, config, taken=set(props), allow_status=True)
            props[prop.id] = prop
        if sum(1 for p in props.values() if p.type == "title") != 1:
            raise ValueError("a database needs exactly one title property")
        return props

    def new_prop(self, name: str, config: Any, taken: set[str], allow_status: bool) -> Prop:
        """A new property from its config (`{"select": {"options": [...]}}` and the like)."""
        kind = _kind(name, config)
        if kind == "status" and not allow_status:
            raise validation("Creating new status database properties is currently not supported.")
        prop_id = "title" if kind == "title" else self._unique_id(taken)
        prop = Prop(prop_id, str(config.get("name") or name), kind)
        inner = config.get(kind) or {}
        if kind == "number":
            prop.extra["format"] = inner.get("format", "number")
        if kind == "status":
            self._status_options(prop, inner.get("options"))
        elif kind in _OPTION_TYPES:
            for i, option in enumerate(inner.get("options") or []):
                self.new_option(
                    prop,
                    check_option_name(option.get("name"), f"properties.{name}.{kind}.options[{i}].name"),
                    option.get("color"),
                )
        return prop

    def patch(self, db: Database, changes: Any) -> set[str]:
        """Apply a schema update; returns the ids of properties whose values must be cleared."""
        if not isinstance(changes, dict):
            raise body_error("properties", f"should be an object, instead was {shown(changes)}.")
        cleared: set[str] = set()
        for key, change in changes.items():
            prop = db.prop(key)
            if change is None:
                self._remove(db, key, prop)
            elif prop is None:
                new = self.new_prop(key, change, taken=set(db.props), allow_status=False)
                _check_unique(db, new.name, new)
                db.props[new.id] = new
            elif self._update(db, prop, change):
                cleared.add(prop.id)
        return cleared

    def _remove(self, db: Database, key: str, prop: Prop | None) -> None:
        if prop is None:
            raise validation(f"{key} is not a property that exists.")
        if prop.type == "title":
            raise validation("Cannot delete the title property.")
        del db.props[prop.id]

    def _update(self, db: Database, prop: Prop, change: Any) -> bool:
        if not isinstance(change, dict):
            raise body_error(
                f"properties.{prop.name}", f"should be an object or `null`, instead was {shown(change)}."
            )
        new_name = change.get("name")
        if isinstance(new_name, str) and new_name != prop.name:
            _check_unique(db, new_name, prop)
            prop.name = new_name
        kind = next((key for key in change if key in KNOWN_TYPES), None)
        if kind is None:
            return False
        if kind != prop.type:
            return self._retype(prop, kind, change)
        self._update_options(prop, change.get(kind) or {})
        return False

    def _retype(self, prop: Prop, kind: str, change: dict[str, Any]) -> bool:
        if prop.type == "title":
            raise validation("Cannot change the type of the title property.")
        replacement = self.new_prop(prop.name, change, taken=set(), allow_status=False)
        prop.type, prop.options, prop.groups, prop.extra = (
            kind,
            replacement.options,
            replacement.groups,
            replacement.extra,
        )
        return True

    def _update_options(self, prop: Prop, inner: dict[str, Any]) -> None:
        given = inner.get("options") if isinstance(inner, dict) else None
        if given is None or prop.type not in _OPTION_TYPES:
            return
        kept, fresh = _match_options(prop, given)
        if prop.type == "status":
            if fresh or len(kept) != len(prop.options):
                raise validation(STATUS_UNCHANGEABLE)
            return
        prop.options = kept  # the options list replaces the old one: omitted options are removed
        for i, option in fresh:
            path = f"properties.{prop.name}.{prop.type}.options[{i}].name"
            self.new_option(prop, check_option_name(option.get("name"), path), option.get("color"))

    def _status_options(self, prop: Prop, options: Any) -> None:
        prop.groups = [
            {"id": self._ids.uuid(), "name": name, "color": color, "option_ids": []}
            for name, color in _GROUPS
        ]
        given = options or [{"name": n, "color": c} for n, c in _STATUS_DEFAULTS]
        for i, option in enumerate(given):
            self.new_option(
                prop,
                check_option_name(option.get("name"), f"properties.{prop.name}.status.options[{i}].name"),
                option.get("color"),
            )

    def _unique_id(self, taken: set[str]) -> str:
        while True:
            candidate = self._ids.prop_id()
            if candidate not in taken and candidate != "title":
                return candidate


def _kind(name: str, config: Any) -> str:
    if not isinstance(config, dict):
        raise body_error(f"properties.{name}", f"should be an object, instead was {shown(config)}.")
    kinds = [key for key in config if key in KNOWN_TYPES]
    if len(kinds) != 1:
        raise body_error(f"properties.{name}.type", "should be defined, instead was `undefined`.")
    return kinds[0]


def _match_options(prop: Prop, given: Any) -> tuple[list[dict[str, Any]], list[tuple[int, dict[str, Any]]]]:
    if not isinstance(given, list):
        raise body_error(
            f"properties.{prop.name}.{prop.type}.options", f"should be an array, instead was {shown(given)}."
        )
    kept: list[dict[str, Any]] = []
    fresh: list[tuple[int, dict[str, Any]]] = []
    for i, option in enumerate(given):
        if not isinstance(option, dict):
            raise body_error(f"properties.{prop.name}.{prop.type}.options[{i}]", "should be an object.")
        existing = _existing(prop, option)
        if existing is None:
            fresh.append((i, option))
            continue
        if option.get("color") not in (None, existing["color"]):
            raise validation(f"Cannot update color of select with id: {existing['id']}.")
        if existing not in kept:
            kept.append(existing)
    return kept, fresh


def _existing(prop: Prop, option: dict[str, Any]) -> dict[str, Any] | None:
    if option.get("id") is not None:
        found = next((o for o in prop.options if o["id"] == option["id"]), None)
        if found is None:
            raise validation(f"{option['id']} is an invalid {prop.type} option id for property {prop.name}.")
        return found
    return next((o for o in prop.options if o["name"] == option.get("name")), None)


def _check_unique(db: Database, name: str, prop: Prop) -> None:
    clash = next((p for p in db.props.values() if p.name == name and p is not prop), None)
    if clash is not None:
        raise validation(f"A property named {name} already exists in this database.")


def config_json(prop: Prop) -> dict[str, Any]:
    """A property config as GET database / data source returns it."""
    inner: dict[str, Any] = dict(prop.extra)
    if prop.type in _OPTION_TYPES:
        inner["options"] = [dict(option) for option in prop.options]
    if prop.type == "status":
        inner["groups"] = [{**group, "option_ids": list(group["option_ids"])} for group in prop.groups]
    return {"id": prop.id, "name": prop.name, "type": prop.type, "description": None, prop.type: inner}
