"""SQL for a user's task list: the open deadlines of open cases, soonest first."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, and_, bindparam, func, or_, select

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


_OPEN_DEADLINES = (
    select(CASES.c.id, CASES.c.ref, CASES.c.workflow, CASES.c.workflow_version, CASES.c.state,
           CASES.c.area, DEADLINES.c.name, DEADLINES.c.key, DEADLINES.c.rule,
           DEADLINES.c.due_at, DEADLINES.c.due_day, DEADLINES.c.owner_role)
    .select_from(DEADLINES.join(CASES, CASES.c.id == DEADLINES.c.case_id))
    .where(DEADLINES.c.status == "open", CASES.c.closed_at.is_(None),
           DEADLINES.c.owner_role.in_(bindparam("roles", expanding=True)))
    .order_by(DEADLINES.c.due_at, CASES.c.ref).limit(bindparam("limit"))
)
# Built once (every page counts the user's tasks): in some areas, or in all.
_OPEN_DEADLINES_IN = _OPEN_DEADLINES.where(CASES.c.area.in_(bindparam("areas",
                                                                       expanding=True)))


def open_deadlines(conn: Connection, roles: Collection[str], areas: Collection[str] | None,
                   limit: int) -> list[TaskRow]:
    """Open deadlines owned by one of ``roles`` on open cases in ``areas`` (None: all)."""
    if areas is None:
        rows = conn.execute(_OPEN_DEADLINES, {"roles": list(roles), "limit": limit})
    else:
        rows = conn.execute(_OPEN_DEADLINES_IN, {"roles": list(roles), "areas": list(areas),
                                                 "limit": limit})
    return [TaskRow(*tuple(row)) for row in rows]


def count_open_deadlines(conn: Connection, grants: Mapping[str, Collection[str | None]],
                         limit: int) -> int:
    """How many open deadlines of open cases are owned by a role the user holds for the
    case's area (``grants``: role -> areas, None for all), counting at most ``limit``: the
    number in every page's header, counted in the database without reading the rows."""
    owned = [DEADLINES.c.owner_role == role if None in areas else
             and_(DEADLINES.c.owner_role == role, CASES.c.area.in_(sorted(
                 a for a in areas if a is not None)))
             for role, areas in sorted(grants.items())]
    if not owned:
        return 0
    rows = (select(DEADLINES.c.id)
            .select_from(DEADLINES.join(CASES, CASES.c.id == DEADLINES.c.case_id))
            .where(DEADLINES.c.status == "open", CASES.c.closed_at.is_(None), or_(*owned))
            .limit(limit).subquery())
    return int(conn.scalar(select(func.count()).select_from(rows)) or 0)
