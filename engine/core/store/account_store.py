"""SQL for web sign-in: credentials, sessions, failed sign-ins and API tokens (one
transaction's worth).

Nothing here hashes, decides or audits: :mod:`engine.core.accounts` does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, Table, and_, bindparam, delete, func, insert, select, update

from engine.core.access import Principal
from engine.core.store.access_store import GRANTS, USERS
from engine.core.store.driver import Hot
from engine.core.store.models import ApiToken, SignInFailure, WebCredential, WebSession

CREDENTIALS: Table = WebCredential.__table__  # type: ignore[attr-defined]
SESSIONS: Table = WebSession.__table__  # type: ignore[attr-defined]
FAILURES: Table = SignInFailure.__table__  # type: ignore[attr-defined]
TOKENS: Table = ApiToken.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class CredentialRecord:
    login: str
    password_hash: str
    must_change: bool
    locked_until: dt.datetime | None


@dataclass(frozen=True)
class SessionRecord:
    id: int
    login: str
    csrf: str
    kind: str
    created_at: dt.datetime
    last_seen_at: dt.datetime
    expires_at: dt.datetime
    ended_at: dt.datetime | None


@dataclass(frozen=True)
class TokenRecord:
    id: int
    login: str
    name: str
    created_at: dt.datetime
    created_by: str
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    revoked_by: str | None


_TOKEN_COLUMNS = (TOKENS.c.id, TOKENS.c.login, TOKENS.c.name, TOKENS.c.created_at,
                  TOKENS.c.created_by, TOKENS.c.last_used_at, TOKENS.c.revoked_at,
                  TOKENS.c.revoked_by)


_SESSION_COLUMNS = (SESSIONS.c.id, SESSIONS.c.login, SESSIONS.c.csrf, SESSIONS.c.kind,
                    SESSIONS.c.created_at, SESSIONS.c.last_seen_at, SESSIONS.c.expires_at,
                    SESSIONS.c.ended_at)
# A session, its user's live grants (a row each) and their credential: the page's sign-in check.
_SESSION_WITH_GRANTS = (
    select(*_SESSION_COLUMNS, USERS.c.id, USERS.c.disabled_at, GRANTS.c.role, GRANTS.c.area,
           CREDENTIALS.c.must_change, CREDENTIALS.c.login)
    .select_from(
        SESSIONS.outerjoin(USERS, USERS.c.login == SESSIONS.c.login)
        .outerjoin(GRANTS, and_(GRANTS.c.user_id == USERS.c.id, GRANTS.c.revoked_at.is_(None)))
        .outerjoin(CREDENTIALS, CREDENTIALS.c.login == SESSIONS.c.login))
    .where(SESSIONS.c.token_hash == bindparam("token_hash"))
)

_HOT_SESSION_WITH_GRANTS = Hot(_SESSION_WITH_GRANTS)


class AccountStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- credentials -------------------------------------------------------------------
    def credential(self, login: str) -> CredentialRecord | None:
        row = self.conn.execute(
            select(CREDENTIALS.c.login, CREDENTIALS.c.password_hash, CREDENTIALS.c.must_change,
                   CREDENTIALS.c.locked_until).where(CREDENTIALS.c.login == login)).first()
        return CredentialRecord(*row) if row else None

    def set_password(self, login: str, password_hash: str, must_change: bool,
                     now: dt.datetime) -> None:
        values = {"password_hash": password_hash, "must_change": must_change, "set_at": now,
                  "locked_until": None}
        done = self.conn.execute(update(CREDENTIALS).where(CREDENTIALS.c.login == login)
                                 .values(**values))
        if not done.rowcount:
            self.conn.execute(insert(CREDENTIALS).values(login=login, **values))

    def lock(self, login: str, until: dt.datetime) -> None:
        self.conn.execute(update(CREDENTIALS).where(CREDENTIALS.c.login == login)
                          .values(locked_until=until))

    # -- failures ----------------------------------------------------------------------
    def add_failure(self, login: str, address: str, at: dt.datetime) -> None:
        self.conn.execute(insert(FAILURES).values(login=login, address=address, at=at))

    def failures_since(self, since: dt.datetime, *, login: str | None = None,
                       address: str | None = None) -> int:
        query = select(func.count()).select_from(FAILURES).where(FAILURES.c.at >= since)
        if login is not None:
            query = query.where(FAILURES.c.login == login)
        if address is not None:
            query = query.where(FAILURES.c.address == address)
        return int(self.conn.execute(query).scalar_one())

    def clear_failures(self, login: str) -> None:
        self.conn.execute(delete(FAILURES).where(FAILURES.c.login == login))

    # -- sessions ----------------------------------------------------------------------
    def add_session(self, token_hash: str, login: str, csrf: str, kind: str,
                    now: dt.datetime, expires_at: dt.datetime) -> None:
        self.conn.execute(insert(SESSIONS).values(
            token_hash=token_hash, login=login, csrf=csrf, kind=kind, created_at=now,
            last_seen_at=now, expires_at=expires_at, ended_at=None))

    def session_with_grants(self, token_hash: str,
                            ) -> tuple[SessionRecord, Principal | None, bool | None] | None:
        """The session ``token_hash`` names, with its user's live grants (None: no such user)
        and whether their credential must change (None: they have none), in one query: this
        runs on every page."""
        rows = _HOT_SESSION_WITH_GRANTS.rows(self.conn, {"token_hash": token_hash})
        if not rows:
            return None
        first = rows[0]
        record = SessionRecord(*first[:8])
        user, disabled_at, must_change, has_credential = first[8], first[9], first[12], \
            first[13]
        principal = None
        if user is not None:
            grants: dict[str, set[str | None]] = {}
            for row in rows:
                if row[10] is not None:
                    grants.setdefault(row[10], set()).add(row[11])
            principal = Principal(record.login, {r: frozenset(a) for r, a in grants.items()},
                                  disabled=disabled_at is not None)
        return record, principal, (bool(must_change) if has_credential is not None else None)

    def session(self, token_hash: str) -> SessionRecord | None:
        row = self.conn.execute(
            select(SESSIONS.c.id, SESSIONS.c.login, SESSIONS.c.csrf, SESSIONS.c.kind,
                   SESSIONS.c.created_at, SESSIONS.c.last_seen_at, SESSIONS.c.expires_at,
                   SESSIONS.c.ended_at).where(SESSIONS.c.token_hash == token_hash)).first()
        return SessionRecord(*row) if row else None

    def seen(self, session_id: int, now: dt.datetime) -> None:
        self.conn.execute(update(SESSIONS).where(SESSIONS.c.id == session_id)
                          .values(last_seen_at=now))

    def end_session(self, session_id: int, now: dt.datetime) -> bool:
        done = self.conn.execute(update(SESSIONS).where(SESSIONS.c.id == session_id,
                                                        SESSIONS.c.ended_at.is_(None))
                                 .values(ended_at=now))
        return bool(done.rowcount)

    def end_sessions_of(self, login: str, now: dt.datetime, kind: str | None = None) -> int:
        query = update(SESSIONS).where(SESSIONS.c.login == login, SESSIONS.c.ended_at.is_(None))
        if kind is not None:
            query = query.where(SESSIONS.c.kind == kind)
        return int(self.conn.execute(query.values(ended_at=now)).rowcount)

    # -- API tokens --------------------------------------------------------------------
    def add_token(self, token_hash: str, login: str, name: str, by: str,
                  now: dt.datetime) -> int:
        done = self.conn.execute(insert(TOKENS).values(
            token_hash=token_hash, login=login, name=name, created_at=now, created_by=by,
            last_used_at=None, revoked_at=None, revoked_by=None))
        key = done.inserted_primary_key
        assert key is not None
        return int(key[0])

    def token(self, token_hash: str) -> TokenRecord | None:
        row = self.conn.execute(select(*_TOKEN_COLUMNS)
                                .where(TOKENS.c.token_hash == token_hash)).first()
        return TokenRecord(*row) if row else None

    def tokens_of(self, login: str) -> list[TokenRecord]:
        return [TokenRecord(*row) for row in self.conn.execute(
            select(*_TOKEN_COLUMNS).where(TOKENS.c.login == login).order_by(TOKENS.c.id))]

    def revoke_token(self, login: str, token_id: int, by: str, now: dt.datetime) -> bool:
        done = self.conn.execute(update(TOKENS).where(
            TOKENS.c.id == token_id, TOKENS.c.login == login, TOKENS.c.revoked_at.is_(None))
            .values(revoked_at=now, revoked_by=by))
        return bool(done.rowcount)

    def token_used(self, token_id: int, now: dt.datetime) -> None:
        self.conn.execute(update(TOKENS).where(TOKENS.c.id == token_id)
                          .values(last_used_at=now))
