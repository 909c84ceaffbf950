"""Properties that do not converge: Notion keeps storing something else than what the job wrote.

HOOK for the planner's owner: `nonconverging` is read by `serve` (the status page and
`reconcile_nonconverging_properties`) and by the metrics a run exports. Until the planner records
non-converging properties it answers an empty list; fill it from the mirror (`last_applied.misses`,
CONTRACT §10) keeping this signature, and both pick it up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class NonConverging:
    """One property of one page, as plan JSON's `"nonconverging"` lists it."""

    key: str | None
    page_id: str
    property: str
    sent: Any
    stored: Any


def nonconverging(session: Session, database_id: str) -> list[NonConverging]:
    """The board's properties reported as not converging (none until the planner records them)."""
    del session, database_id  # the stub reads nothing yet
    return []
