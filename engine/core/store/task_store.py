"""SQL for a user's task list: the open deadlines of open cases, soonest first."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Connection, select

from engine.core.store.cases import CASES, DEADLINES


@dataclass(frozen=True)
class TaskRow:
    case_id: int
    ref: str
    workflow: str
    workflow_version: int
    state: str
    area: str | None
    name: str
    key: str | None
    rule: str
    due_at: dt.datetime
    due_day: dt.date | None
    owner_role: str | None


def open_deadlines(conn: Connection, roles: Collection[str], areas: Collection[str] | None,
                   limit: int) -> list[TaskRow]:
    """Open deadlines owned by one of ``roles`` on open cases in ``areas`` (None: all)."""
    query = (select(CASES.c.id, CASES.c.ref, CASES.c.workflow, CASES.c.workflow_version,
                    CASES.c.state, CASES.c.area, DEADLINES.c.name, DEADLINES.c.key,
                    DEADLINES.c.rule, DEADLINES.c.due_at, DEADLINES.c.due_day,
                    DEADLINES.c.owner_role)
             .select_from(DEADLINES.join(CASES, CASES.c.id == DEADLINES.c.case_id))
             .where(DEADLINES.c.status == "open", CASES.c.closed_at.is_(None),
                    DEADLINES.c.owner_role.in_(list(roles)))
             .order_by(DEADLINES.c.due_at, CASES.c.ref).limit(limit))
    if areas is not None:
        query = query.where(CASES.c.area.in_(list(areas)))
    return [TaskRow(*tuple(row)) for row in conn.execute(query)]
