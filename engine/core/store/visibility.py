"""Which cases a principal may read, as one SQL condition on the ``case`` table.

A listing (``case list``, ``status``) filters in the database, so it reads only the rows it
shows and never binds a list of case ids: the condition has one branch per workflow version
stored (its ``access.read`` roles), with the areas the principal holds those roles for and,
for roles that reach only cases the user is involved in, an ``EXISTS`` on their involvement.
It says the same as :func:`engine.core.access.permits_case` (tested against it); it decides
nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import ColumnElement, Connection, and_, exists, false, or_, select, true

from engine.core.access import ALL_AREAS, INVOLVEMENT_KIND, Principal
from engine.core.store.access_store import INVOLVEMENT
from engine.core.store.cases import CASES, VERSIONS


def stored_versions(conn: Connection) -> list[tuple[str, int]]:
    """Every (workflow, version) a case may run on (a handful of rows)."""
    return [(str(n), int(v)) for n, v in conn.execute(
        select(VERSIONS.c.name, VERSIONS.c.version).order_by(VERSIONS.c.name,
                                                             VERSIONS.c.version))]


def _areas(principal: Principal, role: str) -> ColumnElement[bool] | None:
    """The case's area is one ``role`` is held for (None: not held at all)."""
    areas = principal.grants.get(role)
    if not areas:
        return None
    if ALL_AREAS in areas:
        return true()
    return CASES.c.area.in_(sorted(a for a in areas if a is not None))


def readable(principal: Principal,
             readers: Mapping[tuple[str, int], Sequence[str]]) -> ColumnElement[bool]:
    """The cases ``principal`` may read, given each workflow version's reading roles."""
    branches: list[ColumnElement[bool]] = []
    for (name, version), roles in sorted(readers.items()):
        allowed: list[ColumnElement[bool]] = []
        for role in roles:
            where = _areas(principal, role)
            if where is None:
                continue
            kind = INVOLVEMENT_KIND.get(role)
            if kind is None:
                allowed.append(where)
                continue
            involved = exists().where(and_(INVOLVEMENT.c.case_id == CASES.c.id,
                                           INVOLVEMENT.c.login == principal.login,
                                           INVOLVEMENT.c.kind == kind))
            parts = [where, involved]
            if role == "mace_member":  # an invitee sees a child only while the case is open
                parts.append(CASES.c.closed_at.is_(None))
            allowed.append(and_(*parts))
        if allowed:
            branches.append(and_(CASES.c.workflow == name, CASES.c.workflow_version == version,
                                 or_(*allowed)))
    return or_(*branches) if branches else false()
