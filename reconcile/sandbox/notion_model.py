"""The Notion look-alike's records: property configs, databases (one data source each), pages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote


@dataclass
class Prop:
    """One property of a database schema; options are dicts {id, name, color, description}."""

    id: str
    name: str
    type: str
    options: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Database:
    """A database with exactly one data source; props keyed by property id, in schema order."""

    id: str
    data_source_id: str
    title: str
    props: dict[str, Prop]
    created_time: datetime
    last_edited_time: datetime
    created_by: str
    last_edited_by: str
    shared: set[str] = field(default_factory=set)

    def prop(self, key: str) -> Prop | None:
        """The property with that name, else with that id (encoded or not)."""
        for prop in self.props.values():
            if prop.name == key:
                return prop
        for prop in self.props.values():
            if key in (prop.id, unquote(prop.id)):
                return prop
        return None


@dataclass
class Page:
    """A database row; values are stored in the read shape, keyed by property id."""

    id: str
    database_id: str
    values: dict[str, Any]
    created_time: datetime
    last_edited_time: datetime
    created_by: str
    last_edited_by: str
    seq: int
    in_trash: bool = False
    locked: bool = False
    icon: Any = None
    cover: Any = None
