"""SQL for users, areas, role grants, case involvement and the audit chain (one transaction).

Appending to the audit chain locks its head row (``FOR UPDATE`` on PostgreSQL; SQLite write
transactions are already serial), so concurrent commands extend one chain, never fork it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)

from engine.core.access import Principal
from engine.core.audit import AuditEntry, entry_hash, key_id
from engine.core.errors import DeploymentError
from engine.core.store.driver import Hot
from engine.core.store.models import (
    Area,
    AuditHead,
    AuditRecord,
    CaseInvolvement,
    DeploymentSetting,
    RoleGrant,
    User,
)

USERS: Table = User.__table__  # type: ignore[attr-defined]
AREAS: Table = Area.__table__  # type: ignore[attr-defined]
GRANTS: Table = RoleGrant.__table__  # type: ignore[attr-defined]
INVOLVEMENT: Table = CaseInvolvement.__table__  # type: ignore[attr-defined]
AUDIT: Table = AuditRecord.__table__  # type: ignore[attr-defined]
HEAD: Table = AuditHead.__table__  # type: ignore[attr-defined]


_PRINCIPAL = (
    select(USERS.c.disabled_at, GRANTS.c.role, GRANTS.c.area)
    .select_from(USERS.outerjoin(GRANTS, and_(GRANTS.c.user_id == USERS.c.id,
                                              GRANTS.c.revoked_at.is_(None))))
    .where(USERS.c.login == bindparam("login"))
)


# Built once: statement construction costs more than running them on the hot path.
_READ_HEAD = select(HEAD.c.seq, HEAD.c.hash, HEAD.c.key_id).where(HEAD.c.id == 1)
_LOCK_HEAD = _READ_HEAD.with_for_update()
_INSERT_AUDIT = insert(AUDIT)
_MOVE_HEAD = update(HEAD).where(HEAD.c.id == 1).values(seq=bindparam("seq"),
                                                       hash=bindparam("hash"),
                                                       key_id=bindparam("key_id"))
# Moves the head only from the one the appender expects (its cached copy still current).
_MOVE_HEAD_FROM = update(HEAD).where(
    HEAD.c.id == 1, HEAD.c.seq == bindparam("prev_seq"), HEAD.c.hash == bindparam("prev_hash"),
    HEAD.c.key_id == bindparam("prev_key_id"),
).values(seq=bindparam("seq"), hash=bindparam("hash"), key_id=bindparam("key_id"))
_AUDIT_KEYS = ("seq", "at", "actor", "action", "outcome", "case_ref", "workflow", "command",
               "detail", "prev_hash", "hash", "key_id")
# On the driver's cursor: every command runs these (see engine.core.store.driver).
_HOT_PRINCIPAL = Hot(_PRINCIPAL)
_HOT_MOVE_HEAD_FROM = Hot(_MOVE_HEAD_FROM)
_HOT_INSERT_AUDIT = Hot(_INSERT_AUDIT, _AUDIT_KEYS)
_AREA_NAME = Hot(select(AREAS.c.name).where(AREAS.c.code == bindparam("code")))
_AREAS = Hot(select(AREAS.c.code, AREAS.c.name).order_by(AREAS.c.code))  # every case opened
# Involving a user in a case (a field naming the reviewer): once per (case, login, kind).
_INVOLVED = Hot(select(INVOLVEMENT.c.id).where(
    INVOLVEMENT.c.case_id == bindparam("case_id"), INVOLVEMENT.c.login == bindparam("login"),
    INVOLVEMENT.c.kind == bindparam("kind")))
_INVOLVE = Hot(insert(INVOLVEMENT), ("case_id", "login", "kind", "since"))
# (seq, hash, key id) of the chain's head, as an appender last saw it.
AuditHeadRow = tuple[int, str, str]


@dataclass(frozen=True)
class UserView:
    login: str
    display_name: str
    email: str
    agency: str
    disabled: bool
    roles: tuple[tuple[str, str | None], ...]  # (role, area or None for all areas)

    def to_json(self) -> dict[str, Any]:
        return {"login": self.login, "display_name": self.display_name, "email": self.email,
                "agency": self.agency, "disabled": self.disabled,
                "roles": [{"role": r, "area": a} for r, a in self.roles]}


class AccessStore:
    def __init__(self, connection: Connection) -> None:
        self.conn = connection

    # -- users -------------------------------------------------------------------------
    def user_count(self) -> int:
        return int(self.conn.scalar(select(func.count()).select_from(USERS)) or 0)

    def user_exists(self, login: str) -> bool:
        return self.conn.scalar(select(USERS.c.id).where(USERS.c.login == login)) is not None

    def principal(self, login: str) -> Principal | None:
        """The user's live grants, read fresh in each transaction (a revocation bites now)."""
        rows = _HOT_PRINCIPAL.rows(self.conn, {"login": login})
        if not rows:
            return None
        grants: dict[str, set[str | None]] = {}
        for _, role, area in rows:
            if role is not None:
                grants.setdefault(role, set()).add(area)
        return Principal(login, {r: frozenset(a) for r, a in grants.items()},
                         disabled=rows[0][0] is not None)

    def add_user(self, login: str, display_name: str, email: str, agency: str,
                 now: dt.datetime) -> None:
        self.conn.execute(insert(USERS), {"login": login, "display_name": display_name,
                                          "email": email, "agency": agency, "created_at": now,
                                          "disabled_at": None})

    def users(self) -> list[UserView]:
        roles: dict[int, list[tuple[str, str | None]]] = {}
        for user_id, role, area in self.conn.execute(
                select(GRANTS.c.user_id, GRANTS.c.role, GRANTS.c.area)
                .where(GRANTS.c.revoked_at.is_(None)).order_by(GRANTS.c.role, GRANTS.c.area)):
            roles.setdefault(user_id, []).append((role, area))
        return [UserView(r.login, r.display_name, r.email, r.agency, r.disabled_at is not None,
                         tuple(roles.get(r.id, [])))
                for r in self.conn.execute(select(USERS).order_by(USERS.c.login))]

    def user_id(self, login: str) -> int | None:
        value = self.conn.scalar(select(USERS.c.id).where(USERS.c.login == login))
        return int(value) if value is not None else None

    def grant(self, user_id: int, role: str, area: str | None, by: str,
              now: dt.datetime) -> bool:
        """False if the user already holds that role there."""
        held = self.conn.scalar(select(GRANTS.c.id).where(and_(
            GRANTS.c.user_id == user_id, GRANTS.c.role == role,
            GRANTS.c.area.is_(None) if area is None else GRANTS.c.area == area,
            GRANTS.c.revoked_at.is_(None))))
        if held is not None:
            return False
        self.conn.execute(insert(GRANTS), {"user_id": user_id, "role": role, "area": area,
                                           "granted_at": now, "granted_by": by,
                                           "revoked_at": None, "revoked_by": None})
        return True

    def revoke(self, user_id: int, role: str, area: str | None, by: str,
               now: dt.datetime) -> int:
        result = self.conn.execute(update(GRANTS).where(and_(
            GRANTS.c.user_id == user_id, GRANTS.c.role == role,
            GRANTS.c.area.is_(None) if area is None else GRANTS.c.area == area,
            GRANTS.c.revoked_at.is_(None))).values(revoked_at=now, revoked_by=by))
        return int(result.rowcount)

    def disable(self, user_id: int, now: dt.datetime) -> None:
        self.conn.execute(update(USERS).where(USERS.c.id == user_id).values(disabled_at=now))

    def enable(self, user_id: int) -> None:
        self.conn.execute(update(USERS).where(USERS.c.id == user_id).values(disabled_at=None))

    def update_user(self, user_id: int, changes: dict[str, str]) -> None:
        """Change some of display_name, email, agency."""
        self.conn.execute(update(USERS).where(USERS.c.id == user_id).values(**changes))

    # -- areas -------------------------------------------------------------------------
    def areas(self) -> list[tuple[str, str]]:
        return [(str(code), str(name)) for code, name in _AREAS.rows(self.conn, {})]

    def area_name(self, code: str) -> str | None:
        rows = _AREA_NAME.rows(self.conn, {"code": code})  # every case page asks
        return str(rows[0][0]) if rows else None

    def add_area(self, code: str, name: str) -> None:
        self.conn.execute(insert(AREAS), {"code": code, "name": name})

    # -- involvement -------------------------------------------------------------------
    def involve(self, case_id: int, login: str, kind: str, now: dt.datetime) -> None:
        if not _INVOLVED.rows(self.conn, {"case_id": case_id, "login": login, "kind": kind}):
            _INVOLVE.run(self.conn, {"case_id": case_id, "login": login, "kind": kind,
                                     "since": now})

    def uninvolve(self, case_id: int, login: str, kind: str) -> None:
        self.conn.execute(delete(INVOLVEMENT).where(and_(
            INVOLVEMENT.c.case_id == case_id, INVOLVEMENT.c.login == login,
            INVOLVEMENT.c.kind == kind)))

    def involvement_kinds(self, login: str) -> dict[int, set[str]]:
        """case id -> the kinds of involvement ``login`` has in it."""
        out: dict[int, set[str]] = {}
        for case_id, kind in self.conn.execute(
                select(INVOLVEMENT.c.case_id, INVOLVEMENT.c.kind)
                .where(INVOLVEMENT.c.login == login)):
            out.setdefault(int(case_id), set()).add(str(kind))
        return out

    def involvement_of(self, case_id: int) -> list[dict[str, Any]]:
        return [{"login": r.login, "kind": r.kind, "since": r.since.isoformat()}
                for r in self.conn.execute(select(INVOLVEMENT).where(
                    INVOLVEMENT.c.case_id == case_id).order_by(INVOLVEMENT.c.id))]

    # -- audit chain -------------------------------------------------------------------
    def head(self) -> tuple[int, str] | None:
        row = self.conn.execute(select(HEAD.c.seq, HEAD.c.hash).where(HEAD.c.id == 1)).first()
        return (int(row[0]), str(row[1])) if row else None

    def lock_head(self) -> None:
        """Take the chain's head row lock now (PostgreSQL): every audited write transaction
        takes it first, so transactions that touch several cases cannot deadlock on it."""
        self.conn.execute(_LOCK_HEAD).first()

    def append_audit(self, actor: str, action: str, outcome: str, case_ref: str | None,
                     workflow: str | None, command: str | None, detail: Mapping[str, Any],
                     now: dt.datetime, key: bytes | None = None,
                     head: AuditHeadRow | None = None) -> tuple[int, str]:
        """Append a record to the chain; returns the new head (seq, hash).

        ``head``: the head as the caller last saw it (seq, hash, key id), to save reading it:
        the head row is moved only if it still is that (checked in the UPDATE itself, in this
        transaction), else it is read and the record made on what it is."""
        ident = key_id(key)
        if head is not None and head[2] == ident:
            seq, prev = head[0] + 1, head[1]
            digest = entry_hash(seq, now, actor, action, outcome, case_ref, workflow, command,
                                detail, prev, key)
            moved = _HOT_MOVE_HEAD_FROM.run(self.conn, {
                "seq": seq, "hash": digest, "key_id": ident, "prev_seq": head[0],
                "prev_hash": prev, "prev_key_id": head[2]})
            if moved == 1:
                self._insert_audit(seq, now, actor, action, outcome, case_ref, workflow,
                                   command, detail, prev, digest, ident)
                return seq, digest
        locking = self.conn.dialect.name == "postgresql"
        row = self.conn.execute(_LOCK_HEAD if locking else _READ_HEAD).first()
        if row is None:
            raise RuntimeError("the audit head row is missing: run 'safeguard audit verify'")
        seq, prev, recorded = int(row[0]) + 1, str(row[1]), row[2]
        if recorded is not None and recorded != ident:
            raise DeploymentError(
                "this command's audit key (SAFEGUARD_AUDIT_KEY) is not the one the database's "
                "audit trail is kept with" + (" (none is set)" if not key else "")
                + ": nothing was written; an administrator changes it with 'safeguard audit "
                "rotate-key'")
        digest = entry_hash(seq, now, actor, action, outcome, case_ref, workflow, command,
                            detail, prev, key)
        self._insert_audit(seq, now, actor, action, outcome, case_ref, workflow, command,
                           detail, prev, digest, ident)
        self.conn.execute(_MOVE_HEAD, {"seq": seq, "hash": digest, "key_id": ident})
        return seq, digest

    def _insert_audit(self, seq: int, now: dt.datetime, actor: str, action: str,
                      outcome: str, case_ref: str | None, workflow: str | None,
                      command: str | None, detail: Mapping[str, Any], prev: str, digest: str,
                      ident: str) -> None:
        _HOT_INSERT_AUDIT.run(self.conn, {
            "seq": seq, "at": now, "actor": actor, "action": action, "outcome": outcome,
            "case_ref": case_ref, "workflow": workflow, "command": command,
            "detail": dict(detail), "prev_hash": prev, "hash": digest, "key_id": ident})

    def head_key_id(self) -> str | None:
        """The id of the key the chain is kept with (None: not recorded yet)."""
        row = self.conn.execute(_READ_HEAD).first()
        return None if row is None or row[2] is None else str(row[2])

    def set_head_key_id(self, ident: str) -> None:
        self.conn.execute(update(HEAD).where(HEAD.c.id == 1).values(key_id=ident))

    def audit_entries(self, case_ref: str | None = None, actor: str | None = None,
                      since: dt.datetime | None = None) -> list[AuditEntry]:
        query = select(AUDIT).order_by(AUDIT.c.seq)
        if case_ref is not None:
            query = query.where(AUDIT.c.case_ref == case_ref)
        if actor is not None:
            query = query.where(AUDIT.c.actor == actor)
        if since is not None:
            query = query.where(AUDIT.c.at >= since)
        return [AuditEntry(r.seq, r.at, r.actor, r.action, r.outcome, r.case_ref, r.workflow,
                           r.command, dict(r.detail), r.prev_hash, r.hash, r.key_id)
                for r in self.conn.execute(query)]


    def recent_audit_entries(self, limit: int, offset: int, case_ref: str | None = None,
                             actor: str | None = None) -> tuple[list[AuditEntry], int]:
        """One page of the trail, newest first, and how many records match (the unique
        index on ``seq`` serves the order; the head row gives the unfiltered count)."""
        conditions = []
        if case_ref is not None:
            conditions.append(AUDIT.c.case_ref == case_ref)
        if actor is not None:
            conditions.append(AUDIT.c.actor == actor)
        if conditions:
            total = int(self.conn.scalar(select(func.count()).select_from(AUDIT)
                                         .where(*conditions)) or 0)
        else:
            head = self.head()
            total = head[0] if head else 0
        query = select(AUDIT).where(*conditions).order_by(AUDIT.c.seq.desc()) \
            .limit(limit).offset(offset)
        return [AuditEntry(r.seq, r.at, r.actor, r.action, r.outcome, r.case_ref, r.workflow,
                           r.command, dict(r.detail), r.prev_hash, r.hash, r.key_id)
                for r in self.conn.execute(query)], total


DEPLOYMENT: Table = DeploymentSetting.__table__  # type: ignore[attr-defined]


def recorded_deployment(conn: Connection) -> dict[str, str]:
    """The settings recorded at ``init`` (or by ``safeguard demo``), by name."""
    return {str(r[0]): str(r[1]) for r in conn.execute(select(DEPLOYMENT.c.name,
                                                              DEPLOYMENT.c.value))}


def record_deployment(conn: Connection, values: Mapping[str, str]) -> None:
    """Record the settings not recorded yet (a recorded one is never overwritten here)."""
    have = recorded_deployment(conn)
    rows = [{"name": k, "value": v} for k, v in values.items() if k not in have]
    if rows:
        conn.execute(insert(DEPLOYMENT), rows)
