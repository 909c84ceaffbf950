"""Loading the recorded API answers kept beside the tests (see recordings/SOURCES.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RECORDINGS = Path(__file__).resolve().parent / "recordings"


def load(name: str) -> Any:
    """One recordings file, parsed."""
    return json.loads((RECORDINGS / name).read_text(encoding="utf-8"))


def case_id(case: dict[str, Any]) -> str:
    """A readable test id: where the recording comes from."""
    source = case["_source"]
    where = source.get("path") or source.get("issue") or source.get("documented") or "?"
    tail = Path(str(where)).stem if "path" in source else str(where).rsplit("/", 2)[-2:][0]
    index = source.get("interaction")
    return f"{tail}#{index}" if index is not None else tail


def written_value(kind: str, sent: Any) -> Any:
    """The value a recorded write meant, in the job's terms (the input of values.normalise)."""
    if kind in ("title", "rich_text"):
        return "".join(_written_text(part) for part in sent or [])
    if kind in ("select", "status"):
        return sent.get("name") if sent else None
    if kind == "multi_select":
        return [option["name"] for option in sent or []]
    return sent  # date objects (start, end, time_zone), numbers, urls, booleans as they are


def _written_text(part: dict[str, Any]) -> str:
    kind = part.get("type", "text")
    if kind == "text":
        return str(part["text"]["content"])
    return str(part.get("plain_text") or "")
