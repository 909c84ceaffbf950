"""`reconcile export`: every page of the database with its decoded values, as JSON or CSV (a backup)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO

from reconcile.clients.notion import page_from_api
from reconcile.config import Config
from reconcile.jobs.context import Context
from reconcile.mirror import store
from reconcile.model import NotionPage, Value, iso, jsonable
from reconcile.report import notion_url

FORMATS = ("json", "csv")
FIXED_COLUMNS = ("id", "url", "created_time", "last_edited_time")


@dataclass
class ExportResult:
    """What an export wrote."""

    database_id: str
    source: str  # notion (a live read) | mirror
    exported_at: datetime
    count: int = 0
    columns: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "database_id": self.database_id,
            "source": self.source,
            "exported_at": iso(self.exported_at),
            "count": self.count,
            "columns": self.columns,
        }


def export(ctx: Context, out: TextIO, fmt: str, *, from_mirror: bool = False) -> ExportResult:
    """Write every live page to `out`: read from Notion now (paced), or from the mirror (no tokens)."""
    result = ExportResult(ctx.board, "mirror" if from_mirror else "notion", ctx.now())
    if from_mirror:
        pages: Iterable[NotionPage] = _mirror_pages(ctx)
        names = sorted({name for page in pages for name in page.properties})
    else:
        names = list(ctx.notion.schema())
        pages = _live_pages(ctx)
    result.columns = [*FIXED_COLUMNS, *order_columns(ctx.config, names)]
    writer = _json_writer if fmt == "json" else _csv_writer
    ctx.progress.start("Exporting pages")
    try:
        result.count = writer(_counted(pages, ctx), out, result)
    finally:
        ctx.progress.finish()
    return result


def _live_pages(ctx: Context) -> Iterator[NotionPage]:
    """A complete read of the database (its live pages), paced like every Notion call."""
    for raw in ctx.notion.scan().pages:
        yield page_from_api(raw, ctx.config.mapping.key)


def _mirror_pages(ctx: Context) -> list[NotionPage]:
    with ctx.session() as session:
        pages = store.load_pages(session, ctx.board).values()
    return sorted((page for page in pages if page.alive), key=lambda page: (page.created_time, page.id))


def _counted(pages: Iterable[NotionPage], ctx: Context) -> Iterator[NotionPage]:
    for page in pages:
        ctx.progress.advance()
        yield page


def order_columns(config: Config, names: Iterable[str]) -> list[str]:
    """Property columns: the mapped ones in the mapping's order, then the key, then the rest by name."""
    present = set(names)
    mapped = [name for name in config.mapping.properties if name in present]
    key = [config.mapping.key] if config.mapping.key in present else []
    return [*mapped, *key, *sorted(present - set(mapped) - set(key))]


# -- JSON ----------------------------------------------------------------------------------------


def page_json(page: NotionPage, columns: list[str]) -> dict[str, Any]:
    return {
        "id": page.id,
        "url": notion_url(page.id),
        "created_time": iso(page.created_time),
        "last_edited_time": iso(page.last_edited_time),
        "properties": {
            name: jsonable(page.value(name))
            for name in columns[len(FIXED_COLUMNS) :]
            if name in page.properties
        },
    }


def _json_writer(pages: Iterable[NotionPage], out: TextIO, result: ExportResult) -> int:
    """One JSON object, streamed page by page so that memory stays flat."""
    head = {k: v for k, v in result.as_json().items() if k not in ("count", "columns")}
    out.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "pages": [')
    count = 0
    for page in pages:
        out.write(
            ("," if count else "") + "\n  " + json.dumps(page_json(page, result.columns), ensure_ascii=False)
        )
        count += 1
    out.write(f'\n], "count": {count}}}\n')
    return count


# -- CSV -----------------------------------------------------------------------------------------


def cell(value: Value) -> str:
    """A value as one CSV cell: lists joined with ", " (option names hold no commas), booleans as words."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(part) for part in value)
    return str(value)


def page_row(page: NotionPage, columns: list[str]) -> list[str]:
    fixed = [page.id, notion_url(page.id), iso(page.created_time) or "", iso(page.last_edited_time) or ""]
    return fixed + [cell(page.value(name)) for name in columns[len(FIXED_COLUMNS) :]]


def _csv_writer(pages: Iterable[NotionPage], out: TextIO, result: ExportResult) -> int:
    """A header row, then one row per page; the csv module quotes commas, quotes and newlines."""
    writer = csv.writer(out)
    writer.writerow(result.columns)
    count = 0
    for page in pages:
        writer.writerow(page_row(page, result.columns))
        count += 1
    return count
