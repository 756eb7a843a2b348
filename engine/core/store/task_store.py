"""SQL for a user's task list: the open deadlines of open cases, soonest first."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, and_, bindparam, exists, func, or_, select

from engine.core.access import INVOLVEMENT_KIND
from engine.core.store.access_store import INVOLVEMENT
from engine.core.store.cases import CASES, DEADLINES
from engine.core.store.driver import Hot


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


def count_open_deadlines(conn: Connection, login: str,
                         grants: Mapping[str, Collection[str | None]], limit: int) -> int:
    """How many open deadlines of open cases are owned by a role the user holds for the
    case's area (``grants``: role -> areas, None for all), counting at most ``limit``: the
    number in every page's header, counted in the database without reading the rows. A role
    that reaches only the cases its holder is involved in (``INVOLVEMENT_KIND``) counts a
    deadline only where ``login`` has that kind of involvement in the case, as
    :func:`engine.core.access.permits_case` decides for the task list."""
    shape = tuple(sorted((role, None if None in areas else tuple(sorted(
        a for a in areas if a is not None))) for role, areas in grants.items()))
    if not shape:
        return 0
    statement = _COUNTS.get((shape, limit))
    if statement is None:
        owned = []
        for role, areas in shape:
            where = [DEADLINES.c.owner_role == role]
            if areas is not None:  # plain binds, not an expanding IN
                where.append(or_(*(CASES.c.area == area for area in areas)))
            kind = INVOLVEMENT_KIND.get(role)
            if kind is not None:
                where.append(exists().where(INVOLVEMENT.c.case_id == CASES.c.id,
                                            INVOLVEMENT.c.login == bindparam("login"),
                                            INVOLVEMENT.c.kind == kind))
            owned.append(and_(*where))
        rows = (select(DEADLINES.c.id)
                .select_from(DEADLINES.join(CASES, CASES.c.id == DEADLINES.c.case_id))
                .where(DEADLINES.c.status == "open", CASES.c.closed_at.is_(None), or_(*owned))
                .limit(limit).subquery())
        if len(_COUNTS) > 1_000:  # one per set of grants in use: bounded all the same
            _COUNTS.clear()
        statement = _COUNTS[shape, limit] = Hot(select(func.count()).select_from(rows))
    return int(statement.rows(conn, {"login": login})[0][0] or 0)


# Built once per set of grants (role -> areas) asked about.
_COUNTS: dict[tuple[object, int], Hot] = {}
