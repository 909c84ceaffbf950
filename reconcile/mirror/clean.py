"""Text no database can store, made storable at the mirror's boundary, alike on SQLite and PostgreSQL.

PostgreSQL refuses NUL in text (and `\\u0000` in jsonb); no UTF-8 encoder takes a lone surrogate (a JSON
`"\\ud800"` decodes to one, and sqlite3 and psycopg both refuse to encode it). So every GitHub item and Notion
page is cleaned as it enters the mirror: NUL is dropped (as Notion does not keep it either, see the
sandbox), a lone surrogate becomes U+FFFD, the replacement character.

The comparison still holds because the planner only ever compares values read back from the mirror: the
mapping derives a page from the cleaned item, and Notion's page is cleaned the same way. A title with a NUL
yields one create (of the cleaned title) and then nothing, rather than a write on every run.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, TypeVar

_REFUSED = re.compile("[\x00\ud800-\udfff]")
# The same characters as repr() spells them: no match in a value's repr means nothing in it needs cleaning
# (a match, which a literal backslash in the text can also make, only means the value is walked).
_REFUSED_IN_REPR = re.compile(r"\\x00|\\ud[89a-f]")

T = TypeVar("T")


def clean_text(text: str) -> str:
    """The text without NUL, its lone surrogates replaced by U+FFFD (well-formed text is returned as is)."""
    if _REFUSED.search(text) is None:
        return text
    text = text.replace("\x00", "")
    # a round trip through UTF-16 pairs up split surrogates and replaces the lone ones
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def clean(value: T) -> T:
    """The value with every string in it cleaned: in lists, tuples, dicts (keys too) and dataclasses.

    Almost every value is clean: one repr() (C code for strings, lists and dicts) tells, and only a value
    that may hold a refused character is walked.
    """
    if _REFUSED_IN_REPR.search(repr(value)) is None:
        return value
    return _clean(value)  # type: ignore[no-any-return]


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, (list, tuple)):
        cleaned = [_clean(part) for part in value]
        return value if all(a is b for a, b in zip(cleaned, value, strict=True)) else type(value)(cleaned)
    if isinstance(value, dict):
        pairs = [(_clean(key), _clean(part)) for key, part in value.items()]
        same = all(a is c and b is d for (a, b), (c, d) in zip(pairs, value.items(), strict=True))
        return value if same else dict(pairs)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changed = {
            field.name: new
            for field in dataclasses.fields(value)
            if field.init and (new := _clean(old := getattr(value, field.name))) is not old
        }
        return dataclasses.replace(value, **changed) if changed else value
    return value
