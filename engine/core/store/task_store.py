"""SQL for a user's task list: the open deadlines of open cases, soonest first."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, bindparam, exists, func, or_, select

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


_COLUMNS = (CASES.c.id, CASES.c.ref, CASES.c.workflow, CASES.c.workflow_version, CASES.c.state,
            CASES.c.area, DEADLINES.c.name, DEADLINES.c.key, DEADLINES.c.rule,
            DEADLINES.c.due_at, DEADLINES.c.due_day, DEADLINES.c.owner_role)

Grants = Mapping[str, Collection[str | None]]
_Shape = tuple[tuple[str, tuple[str, ...] | None], ...]


def _shape(grants: Grants) -> _Shape:
    """The grants as a hashable key: role -> its areas sorted, None for all areas."""
    return tuple(sorted((role, None if None in areas else tuple(sorted(
        a for a in areas if a is not None))) for role, areas in grants.items()))


def _owned(shape: _Shape) -> ColumnElement[bool]:
    """The deadlines that the user with these grants must act on: owned by a role they hold
    for the case's area, and for a role that reaches only the cases its holder is involved
    in (``INVOLVEMENT_KIND``), only where the user (bind ``login``) has that kind of
    involvement in the case, as :func:`engine.core.access.permits_case` decides. One
    predicate per role, so a role held in one area never reaches another role's areas."""
    owned = []
    for role, areas in shape:
        where = [DEADLINES.c.owner_role == role]
        if areas is not None:  # plain binds, not an expanding IN: one statement per shape
            where.append(or_(*(CASES.c.area == area for area in areas)))
        kind = INVOLVEMENT_KIND.get(role)
        if kind is not None:
            where.append(exists().where(INVOLVEMENT.c.case_id == CASES.c.id,
                                        INVOLVEMENT.c.login == bindparam("login"),
                                        INVOLVEMENT.c.kind == kind))
        owned.append(and_(*where))
    return and_(DEADLINES.c.status == "open", CASES.c.closed_at.is_(None), or_(*owned))


def _statement(kind: str, shape: _Shape) -> Hot:
    """The list (soonest first) or its count for one set of grants, built once (every page
    counts the user's tasks); at most a thousand kept, one per set of grants in use."""
    statement = _BUILT.get((kind, shape))
    if statement is None:
        joined = DEADLINES.join(CASES, CASES.c.id == DEADLINES.c.case_id)
        if kind == "count":
            counted = (select(DEADLINES.c.id).select_from(joined).where(_owned(shape))
                       .limit(bindparam("limit")).subquery())
            built: Select[Any] = select(func.count()).select_from(counted)
        else:
            built = (select(*_COLUMNS).select_from(joined).where(_owned(shape))
                     .order_by(DEADLINES.c.due_at, CASES.c.ref, DEADLINES.c.id)
                     .limit(bindparam("limit")))
        if len(_BUILT) > 1_000:
            _BUILT.clear()
        statement = _BUILT[kind, shape] = Hot(built)
    return statement


def open_deadlines(conn: Connection, login: str, grants: Grants, limit: int) -> list[TaskRow]:
    """The user's task list (``grants``: role -> areas, None for all): the first ``limit``
    open deadlines they must act on, soonest first (see :func:`_owned`)."""
    shape = _shape(grants)
    if not shape:
        return []
    rows = _statement("rows", shape).rows(conn, {"login": login, "limit": limit})
    return [TaskRow(*row) for row in rows]


def count_open_deadlines(conn: Connection, login: str, grants: Grants, limit: int) -> int:
    """How many rows :func:`open_deadlines` would list, counting at most ``limit``: the
    number in every page's header, counted in the database without reading the rows."""
    shape = _shape(grants)
    if not shape:
        return 0
    rows = _statement("count", shape).rows(conn, {"login": login, "limit": limit})
    return int(rows[0][0] or 0)


_BUILT: dict[tuple[str, _Shape], Hot] = {}
