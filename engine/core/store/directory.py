"""Directory look-ups for whoever addresses mail: who holds which role where, and with what
email; which area a case belongs to. One Core connection (one transaction); reads only.

The notifier resolves a case's roles to addresses with these, so it never reads the user,
grant or case tables itself. Must not decide who may see what (that is
:mod:`engine.core.access`) nor write anything; users and grants are changed through
:class:`~engine.core.store.access_store.AccessStore`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Connection, Select, and_, bindparam, select

from engine.core.store.access_store import GRANTS, INVOLVEMENT, USERS
from engine.core.store.cases import CASES
from engine.core.store.driver import Hot


@dataclass(frozen=True)
class RoleHolder:
    """An active user's live grant: ``area`` None means the role is held for every area."""

    role: str
    area: str | None
    email: str | None  # None: no usable address (none, or the ``init`` placeholder)
    login: str = ""


_HOLDERS = (select(GRANTS.c.role, GRANTS.c.area, USERS.c.email, USERS.c.login)
            .join(USERS, GRANTS.c.user_id == USERS.c.id)
            .where(GRANTS.c.revoked_at.is_(None), USERS.c.disabled_at.is_(None))
            .order_by(USERS.c.login))
_AREA_BY_REF = select(CASES.c.area).where(and_(CASES.c.workflow == bindparam("workflow"),
                                               CASES.c.ref == bindparam("ref")))
_AREA_BY_ID = select(CASES.c.area).where(CASES.c.id == bindparam("case_id"))
_EMAIL = select(USERS.c.email).where(USERS.c.login == bindparam("login"))
_INVOLVED = (select(INVOLVEMENT.c.login, USERS.c.email)
             .join(USERS, USERS.c.login == INVOLVEMENT.c.login)
             .where(INVOLVEMENT.c.case_id == bindparam("case_id"),
                    INVOLVEMENT.c.kind == bindparam("kind"), USERS.c.disabled_at.is_(None))
             .order_by(INVOLVEMENT.c.login))
_PEOPLE = select(USERS.c.login, USERS.c.display_name, USERS.c.email, USERS.c.disabled_at)
_PERSON = Hot(_PEOPLE.where(USERS.c.login == bindparam("login")))  # a reviewer appointed


@dataclass(frozen=True)
class Person:
    """A registered user as mail sees them: ``email`` None when they have no usable one."""

    login: str
    name: str
    email: str | None
    active: bool


def usable_email(email: object) -> str | None:
    """``email`` if mail can reach it: not empty, not a ``localhost`` placeholder."""
    text = str(email or "").strip()
    if "@" not in text or text.lower().rsplit("@", 1)[1] in ("localhost", ""):
        return None
    return text


class Directory:
    def __init__(self, connection: Connection) -> None:
        self.conn = connection

    def role_holders(self) -> list[RoleHolder]:
        """Every live grant of every active user, with the user's usable email (by login)."""
        return [RoleHolder(str(role), area, usable_email(email), str(login))
                for role, area, email, login in self.conn.execute(_HOLDERS)]

    def unaddressed(self) -> list[tuple[str, str]]:
        """(login, why mail may need them) of active users mail cannot reach: they hold a
        case role or are involved in a case, and have no usable address. Logins only."""
        why: dict[str, set[str]] = {}
        for holder in self.role_holders():
            if holder.email is None and holder.role not in ("administrator", "auditor"):
                why.setdefault(holder.login, set()).add(holder.role.replace("_", " "))
        involved = (select(INVOLVEMENT.c.login, INVOLVEMENT.c.kind, USERS.c.email)
                    .join(USERS, USERS.c.login == INVOLVEMENT.c.login)
                    .where(USERS.c.disabled_at.is_(None)).distinct())
        for login, kind, email in self.conn.execute(involved):
            if usable_email(email) is None:
                what = "action owner" if str(kind).startswith("assignee") else \
                    str(kind).replace("_", " ")
                why.setdefault(str(login), set()).add(what)
        return [(login, ", ".join(sorted(reasons))) for login, reasons in sorted(why.items())]

    def email_of(self, login: str) -> str | None:
        """The registered email of user ``login`` (None: no such user, or no email)."""
        email = self.conn.scalar(_EMAIL, {"login": login})
        return str(email) if email else None

    def people(self) -> dict[str, Person]:
        """Every registered user by login (an address at ``localhost``, the placeholder
        ``init`` gives its first administrator, counts as none)."""
        return {str(login): Person(str(login), str(name), usable_email(email),
                                   disabled is None)
                for login, name, email, disabled in self.conn.execute(_PEOPLE)}

    def person(self, login: str) -> Person | None:
        """The registered user ``login`` (None: no such user), as :meth:`people` has them."""
        for login_, name, email, disabled in _PERSON.rows(self.conn, {"login": login}):
            return Person(str(login_), str(name), usable_email(email), disabled is None)
        return None

    def involved_emails(self, case_id: int, kind: str) -> list[tuple[str, str | None]]:
        """(login, usable email or None) of the active users involved in the case as
        ``kind`` (e.g. ``assignee:A1``, the owner of action A1)."""
        rows = self.conn.execute(_INVOLVED, {"case_id": case_id, "kind": kind})
        return [(str(login), usable_email(email)) for login, email in rows]

    def case_area(self, workflow: str, ref: str) -> str | None:
        """The area of case ``ref`` in ``workflow`` (None: no such case, or no area)."""
        area = self.conn.scalar(_AREA_BY_REF, {"workflow": workflow, "ref": ref})
        return str(area) if area is not None else None

    def area_of_case(self, case_id: int) -> str | None:
        """The area of the case with that id (None: no such case, or no area)."""
        area = self.conn.scalar(_AREA_BY_ID, {"case_id": case_id})
        return str(area) if area is not None else None

    @staticmethod
    def cases_in(areas: Collection[str]) -> Select[tuple[int]]:
        """The ids of the cases in ``areas``, as a subquery for a caller's own statement
        (``... WHERE case_id IN (...)``): a listing filtered by area stays one query."""
        return select(CASES.c.id).where(CASES.c.area.in_(list(areas)))


__all__ = ["Directory", "Person", "RoleHolder", "usable_email"]
