"""Plan what could have changed: the dirty set since the board's last applied plan; or every item, in
chunks, on a first run, on `--full`, or when the mapping (or the planner) changed since."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from reconcile.config import Config
from reconcile.jobs.context import Context
from reconcile.jobs.schema import unwritable
from reconcile.mirror import boards, reads
from reconcile.mirror.tables import BoardRow
from reconcile.model import Plan, Watermark, jsonable
from reconcile.planner import PlanBuilder, Scope
from reconcile.report import describe_problem

log = logging.getLogger("reconcile.plan")

# Bump when the planner's rules change what a page should hold: the next run then re-plans every page.
PLANNER_VERSION = 2
# Rows committed around the start of the last plan are looked at again (other boards' pulls, clock skew).
MARGIN = timedelta(minutes=5)


def fingerprint(config: Config) -> str:
    """A digest of everything that decides what the board's pages should hold."""
    basis = {
        "planner": PLANNER_VERSION,
        "mapping": config.mapping.model_dump(mode="json", by_alias=True),
        "stale": config.stale.model_dump(mode="json"),
        "include": sorted(config.github.include),
        "repos": sorted(config.github.repos),
        "policies": config.apply.model_dump(
            mode="json", include={"on_deleted_page", "on_orphan", "on_duplicate"}
        ),
    }
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()


def make_plan(ctx: Context, scope: Scope | None = None, *, full: bool = False) -> Plan:
    """The plan for the board as the mirror has it now."""
    now, started = ctx.now(), ctx.clock.now()
    config = ctx.config
    mark = fingerprint(config)
    with ctx.session() as session:
        problems = _schema_problems(session, ctx)
    builder = PlanBuilder(config, now, scope, unwritable=[problem["property"] for problem in problems])
    with ctx.session() as session:
        ids, everything = _to_plan(session, ctx, mark, scope, full)
        if scope is not None:
            builder.add_items(reads.state_for(session, config, scope.item_ids or (), scope.page_ids or ()))
        for chunk in ids:
            builder.add_items(reads.state_for(session, config, chunk))
        builder.add_orphans(*reads.orphan_candidates(session, config))
        builder.add_stale(*reads.stale_candidates(session, config, now))
        total, linked = reads.counts(session, config)
    if scope is not None:
        return _warned(replace(builder.build(linked=linked), schema_problems=tuple(problems)))
    log.info("planned %d of %d items (%s)", builder.planned, total, "all" if everything else "what changed")
    result = builder.build(
        linked=len(builder.owned) if everything else linked,
        unchanged=total - (builder.planned - builder.unchanged),
    )
    covers = Watermark(mark, started - MARGIN)
    return _warned(replace(result, covers=covers, schema_problems=tuple(problems)))


def _schema_problems(session: Session, ctx: Context) -> list[dict[str, Any]]:
    """The mapped properties the database cannot hold, by the schema the mirror last read (planning
    never calls Notion: `plan --no-pull` needs no token; a write refused for a property reads it anew)."""
    board = session.get(BoardRow, ctx.board)
    return unwritable(ctx.config, board.schema) if board is not None and board.schema else []


def _to_plan(
    session: Session, ctx: Context, mark: str, scope: Scope | None, full: bool
) -> tuple[list[list[int]], bool]:
    """The chunks of item ids to plan, and whether that is every item of the board."""
    if scope is not None:
        return [], False
    known, since = boards.planned(session, ctx.board)
    if full or since is None or known != mark:
        if not full and since is not None:
            log.info("the mapping changed since the last plan: planning every page")
        return list(reads.all_item_ids(session, ctx.config)), True
    dirty = sorted(reads.dirty_item_ids(session, ctx.config, since))
    return [dirty[start : start + reads.CHUNK] for start in range(0, len(dirty), reads.CHUNK)], False


def settle(ctx: Context, plan: Plan) -> None:
    """After the plan was applied: the next plan looks only at what changed since this one began."""
    if plan.covers is not None:
        with ctx.session() as session:
            boards.mark_planned(session, ctx.board, plan.covers.fingerprint, plan.covers.since)


def _warned(plan: Plan) -> Plan:
    for problem in plan.schema_problems:
        log.error("schema problem: %s", describe_problem(problem))
    for stuck in plan.nonconverging:
        log.warning(
            "not converging: page %s property %r: sent %s, Notion kept %s; not written again until its "
            "value from GitHub changes",
            stuck.page_id,
            stuck.property,
            json.dumps(jsonable(stuck.sent), ensure_ascii=False),
            json.dumps(jsonable(stuck.stored), ensure_ascii=False),
        )
    return plan
