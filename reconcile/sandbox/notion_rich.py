"""Rich text as Notion stores it: text, mention and equation parts, each with its plain text."""

# Read shapes follow recorded real responses (tests/fidelity/recordings): a user mention answers the whole
# user object and "@Name", a page or database mention its title and a notion.so link, a date mention the
# stored date string, an equation its expression.

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reconcile.sandbox.notion_dates import stored_date
from reconcile.sandbox.notion_errors import UNDEFINED, body_error, shown, too_long, validation

TEXT_LIMIT = 2000
EQUATION_LIMIT = 1000
URL_LIMIT = 2000
ANNOTATIONS = {
    "bold": False,
    "italic": False,
    "strikethrough": False,
    "underline": False,
    "code": False,
    "color": "default",
}
MENTION_KINDS = ("user", "page", "database", "date")

# (kind, id) -> (the mention's read-shape inner object, its plain text), or None when unknown
MentionResolver = Callable[[str, str], "tuple[dict[str, Any], str] | None"]


@dataclass
class RichContext:
    """What storing rich text needs from the workspace: names for mentions, Notion's text normalisation."""

    resolve: MentionResolver = field(default=lambda kind, ref: None)
    normalise: Callable[[str], str] | None = None


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, as JavaScript (and so Notion) counts."""
    return len(text.encode("utf-16-le")) // 2


def text_object(content: str, link: dict[str, str] | None = None) -> dict[str, Any]:
    """A text part in the read shape."""
    return _part("text", {"content": content, "link": link}, content, link["url"] if link else None)


def equation_object(expression: str) -> dict[str, Any]:
    """An inline equation part in the read shape."""
    return _part("equation", {"expression": expression}, expression, None)


def mention_object(mention: dict[str, Any], plain: str, href: str | None = None) -> dict[str, Any]:
    """A mention part in the read shape."""
    return _part("mention", mention, plain, href)


def _part(kind: str, inner: dict[str, Any], plain: str, href: str | None) -> dict[str, Any]:
    return {"type": kind, kind: inner, "annotations": dict(ANNOTATIONS), "plain_text": plain, "href": href}


def plain_text(items: list[dict[str, Any]]) -> str:
    """The concatenated plain text of rich text parts."""
    return "".join(item.get("plain_text", "") for item in items)


# -- what tests write (the write shapes) -----------------------------------------------------------


def user_mention(user_id: str) -> dict[str, Any]:
    """A write-shape mention of a workspace user."""
    return {"type": "mention", "mention": {"type": "user", "user": {"id": user_id}}}


def page_mention(page_id: str) -> dict[str, Any]:
    """A write-shape mention of a page."""
    return {"type": "mention", "mention": {"type": "page", "page": {"id": page_id}}}


def date_mention(start: str, end: str | None = None) -> dict[str, Any]:
    """A write-shape mention of a date (or a range)."""
    return {"type": "mention", "mention": {"type": "date", "date": {"start": start, "end": end}}}


def equation(expression: str) -> dict[str, Any]:
    """A write-shape inline equation."""
    return {"type": "equation", "equation": {"expression": expression}}


# -- validating and storing written parts ----------------------------------------------------------


def stored_part(item: Any, where: str, ctx: RichContext) -> dict[str, Any]:
    """One written rich text part (text, mention or equation) as Notion stores it."""
    if not isinstance(item, dict):
        raise body_error(where, f"should be an object, instead was {shown(item)}.")
    kind = item.get("type") or next((k for k in ("text", "mention", "equation") if k in item), "text")
    if kind == "text":
        part = _text(item.get("text", UNDEFINED), f"{where}.text", ctx)
    elif kind == "equation":
        part = _equation(item.get("equation", UNDEFINED), f"{where}.equation")
    elif kind == "mention":
        part = _mention(item.get("mention", UNDEFINED), f"{where}.mention", ctx)
    else:
        expected = "should be `text`, `mention` or `equation`"
        raise body_error(f"{where}.type", f"{expected}, instead was {shown(kind)}.")
    part["annotations"].update(_annotations(item.get("annotations"), f"{where}.annotations"))
    return part


def _text(text: Any, where: str, ctx: RichContext) -> dict[str, Any]:
    if not isinstance(text, dict):
        raise body_error(where, f"should be an object, instead was {shown(text)}.")
    content = text.get("content", UNDEFINED)
    if not isinstance(content, str):
        raise body_error(f"{where}.content", f"should be a string, instead was {shown(content)}.")
    content = content.replace("\x00", "")  # Notion keeps no NUL (see notion_values.without_nul)
    if utf16_len(content) > TEXT_LIMIT:
        raise too_long(f"{where}.content", TEXT_LIMIT, utf16_len(content))
    if ctx.normalise is not None:  # Notion's own rewriting of what it stores (a test's hook)
        content = ctx.normalise(content)
    return text_object(content, _link(text.get("link"), f"{where}.link"))


def _link(link: Any, where: str) -> dict[str, str] | None:
    if link is None:
        return None
    url = link.get("url", UNDEFINED) if isinstance(link, dict) else UNDEFINED
    if not isinstance(url, str):
        raise body_error(f"{where}.url", f"should be a string, instead was {shown(url)}.")
    if utf16_len(url) > URL_LIMIT:
        raise too_long(f"{where}.url", URL_LIMIT, utf16_len(url))
    return {"url": url}


def _equation(inner: Any, where: str) -> dict[str, Any]:
    expression = inner.get("expression", UNDEFINED) if isinstance(inner, dict) else UNDEFINED
    if not isinstance(expression, str):
        raise body_error(f"{where}.expression", f"should be a string, instead was {shown(expression)}.")
    if utf16_len(expression) > EQUATION_LIMIT:
        raise too_long(f"{where}.expression", EQUATION_LIMIT, utf16_len(expression))
    return equation_object(expression)


def _mention(inner: Any, where: str, ctx: RichContext) -> dict[str, Any]:
    if not isinstance(inner, dict):
        raise body_error(where, f"should be an object, instead was {shown(inner)}.")
    kind = inner.get("type") or next((k for k in MENTION_KINDS if k in inner), None)
    if kind not in MENTION_KINDS:
        raise body_error(f"{where}.type", f"should be one of {MENTION_KINDS}, instead was {shown(kind)}.")
    if kind == "date":
        date = stored_date(inner.get("date", UNDEFINED), f"{where}.date")
        if date is None:
            raise body_error(f"{where}.date", "should be an object, instead was `null`.")
        shown_date = date["start"] + (f" → {date['end']}" if date["end"] else "")
        return mention_object({"type": "date", "date": date}, shown_date)
    ref = (inner.get(kind) or {}).get("id") if isinstance(inner.get(kind), dict) else None
    found = ctx.resolve(kind, ref) if isinstance(ref, str) else None
    if found is None:
        raise validation(f"Could not find {kind} with ID: {ref}.")
    read, plain = found
    href = None if kind == "user" else f"https://www.notion.so/{str(ref).replace('-', '')}"
    return mention_object({"type": kind, kind: read}, plain, href)


def _annotations(annotations: Any, where: str) -> dict[str, Any]:
    if annotations is None:
        return {}
    if not isinstance(annotations, dict):
        raise body_error(where, f"should be an object, instead was {shown(annotations)}.")
    return annotations
