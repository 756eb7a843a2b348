"""SQL for links between cases (``case_link``): two cases about one child that run in
parallel. Knows no workflow logic and no access rules: it reads and writes rows."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, Table, and_, bindparam, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import BindParameter

from engine.core.store.cases import CASES, CaseRecord
from engine.core.store.driver import Hot
from engine.core.store.models import CaseLink

LINKS: Table = CaseLink.__table__  # type: ignore[attr-defined]
_COLUMNS = [CASES.c[name] for name in CaseRecord.__dataclass_fields__]


_ID: BindParameter[int] = bindparam("case_id")
# Every case page asks (a link can join any two cases), so the statement is compiled once and
# run on the driver (engine.core.store.driver).
_LINKED = Hot(select(*_COLUMNS).where(CASES.c.id.in_(
    select(LINKS.c.linked_case_id).where(LINKS.c.case_id == _ID).union(
        select(LINKS.c.case_id).where(LINKS.c.linked_case_id == _ID))))
    .order_by(CASES.c.workflow, CASES.c.ref))


def linked_cases(conn: Connection, case_id: int) -> list[CaseRecord]:
    """The cases linked to ``case_id``, whichever side made the link, in reference order."""
    return [CaseRecord(*row) for row in _LINKED.rows(conn, {"case_id": case_id})]


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
