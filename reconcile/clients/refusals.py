"""Which property a Notion 400 `validation_error` is about, so that a write can be retried without it.

One refused value must not block a whole page forever (DESIGN: "one broken thing fails alone"): the
caller sends the write again without the property named here, and reports that property. Pure: the
message and the properties that were sent in, a name (or None) out.

Notion names the property in several ways (api-notes/notion.md §2, and the sandbox, which copies them):
- `body failed validation: body.properties.<Name>.<type>...` (schema errors; "Fix one:" may list several)
- `<Name> is expected to be <type>.`, `<Name> is not a property that exists.`,
  `<Name> is a read-only property of type <type> and cannot be set.`
- `Invalid status option "<value>" for property <Name>. ...`, `<id> is an invalid select option id for
  property <Name>.`
- `Invalid select option, commas not allowed: <value>`: no name at all, only the value, which is looked
  for among the option names sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_VALUE_AT_END = re.compile(r":\s*(?P<value>[^:]+?)\.?\s*$")


def refused_property(message: str, properties: Mapping[str, Any]) -> str | None:
    """The sent property that `message` refuses, or None when the message points at none of them."""
    found = [(at, name) for name in properties if (at := _named_at(message, name)) is not None]
    if found:  # the first one named; of names that start at one place, the longest ("Due date", not "Due")
        return min(found, key=lambda hit: (hit[0], -len(hit[1])))[1]
    return _by_value(message, properties)


def _named_at(message: str, name: str) -> int | None:
    """Where the message names the property, if it does."""
    spots = [message.find(f"body.properties.{name}{after}") for after in (".", " ", "[")] + [
        message.find(f"for property {name}{after}") for after in (".", " ", ",")
    ]
    if message.endswith((f"body.properties.{name}", f"for property {name}")):
        spots.append(message.rfind(name))
    if message.startswith(f"{name} is "):
        spots.append(0)
    hits = [spot for spot in spots if spot >= 0]
    return min(hits) if hits else None


def _by_value(message: str, properties: Mapping[str, Any]) -> str | None:
    """A message that quotes only a refused value: the property whose sent option names hold it."""
    match = _VALUE_AT_END.search(message)
    if match is None:
        return None
    value = match.group("value").strip().strip('"`')
    holders = [name for name, sent in properties.items() if value in _option_names(sent)]
    return holders[0] if len(holders) == 1 else None


def _option_names(sent: Any) -> set[str]:
    """The option names in a select, status or multi_select value as sent."""
    if not isinstance(sent, dict):
        return set()
    names: set[str] = set()
    for kind in ("select", "status", "multi_select"):
        chosen = sent.get(kind)
        for option in chosen if isinstance(chosen, list) else [chosen]:
            if isinstance(option, dict) and isinstance(option.get("name"), str):
                names.add(option["name"])
    return names
