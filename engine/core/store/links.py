"""SQL for links between cases (``case_link``): two cases about one child that run in
parallel. Knows no workflow logic and no access rules: it reads and writes rows."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, Table, and_, insert, or_, select
from sqlalchemy.exc import IntegrityError

from engine.core.store.cases import CASES, CaseRecord
from engine.core.store.models import CaseLink

LINKS: Table = CaseLink.__table__  # type: ignore[attr-defined]
_COLUMNS = [CASES.c[name] for name in CaseRecord.__dataclass_fields__]


def linked_cases(conn: Connection, case_id: int) -> list[CaseRecord]:
    """The cases linked to ``case_id``, whichever side made the link, in reference order."""
    other = select(LINKS.c.linked_case_id).where(LINKS.c.case_id == case_id).union(
        select(LINKS.c.case_id).where(LINKS.c.linked_case_id == case_id))
    rows = conn.execute(select(*_COLUMNS).where(CASES.c.id.in_(other))
                        .order_by(CASES.c.workflow, CASES.c.ref))
    return [CaseRecord(*row) for row in rows]


def is_linked(conn: Connection, a: int, b: int) -> bool:
    return conn.scalar(select(LINKS.c.id).where(or_(
        and_(LINKS.c.case_id == a, LINKS.c.linked_case_id == b),
        and_(LINKS.c.case_id == b, LINKS.c.linked_case_id == a)))) is not None


def add_link(conn: Connection, case_id: int, linked_case_id: int, now: dt.datetime,
             actor: str) -> bool:
    """Link two cases; False when they are already linked (either way round)."""
    if is_linked(conn, case_id, linked_case_id):
        return False
    try:
        with conn.begin_nested():
            conn.execute(insert(LINKS), {"case_id": case_id, "linked_case_id": linked_case_id,
                                         "created_at": now, "created_by": actor})
    except IntegrityError:
        return False
    return True


__all__ = ["add_link", "is_linked", "linked_cases"]
