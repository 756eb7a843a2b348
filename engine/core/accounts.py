"""Local accounts for the web front end: passwords, sessions, one-time sign-in links, lockout.

Passwords are stored only as Argon2 hashes; a session cookie and a sign-in link carry a random
token whose SHA-256 hash is the row's key, so a copy of the database signs nobody in. Sessions
end on sign-out, after ``idle_minutes`` without a request and ``absolute_hours`` after sign-in.
After ``lockout_failures`` failed sign-ins to one account within ``lockout_minutes`` the account
is locked for that long; ``address_failures`` from one address are refused likewise. Every
sign-in, failure, sign-out and password change is one audited transaction.

The JSON API authenticates with per-user tokens an administrator issues (``safeguard user
token``): shown once, stored as a SHA-256 hash like a session's, revocable; issuing, listing
and revoking are audited, and so is a token presented that is unknown, revoked or whose user
is disabled.

How a person proves who they are is behind :class:`IdentityProvider`: the local password is the
only one built; single sign-on (OpenID Connect) would be another provider returning a login.
Nothing here renders, reads cookies or knows HTTP.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from engine.core.access import ADMINISTRATOR
from engine.core.clock import Clock
from engine.core.deployment import DEMO_MODE
from engine.core.errors import EngineError, UsageError
from engine.core.gate import Gate
from engine.core.settings import app_base_url
from engine.core.store.access_store import AccessStore, recorded_deployment
from engine.core.store.account_store import AccountStore, SessionRecord, TokenRecord
from engine.core.store.database import Database
from engine.core.unit import Units

if TYPE_CHECKING:
    from argon2 import PasswordHasher

MIN_PASSWORD = 12
TOKEN_PREFIX = "sgt_"  # recognisable in a leaked file or a secret scanner
MAX_PASSWORD = 256
# A request restarts the session's idle clock; written at most this often (reads stay reads).
SEEN_EVERY = dt.timedelta(minutes=1)


class SignInError(EngineError):
    """A sign-in refused: the message never says whether the login exists."""

    exit_code = 3


@dataclass(frozen=True)
class WebSettings:
    """``[web]`` in the settings."""

    base_url: str = "http://127.0.0.1:8000"
    idle_minutes: int = 30
    absolute_hours: int = 10
    link_hours: int = 24
    lockout_failures: int = 5
    lockout_minutes: int = 15
    address_failures: int = 20

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any]) -> WebSettings:
        web = dict(raw.get("web", {}) or {})
        known = {k: web[k] for k in cls.__dataclass_fields__ if k in web and k != "base_url"}
        for key, value in known.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UsageError(f"[web] {key} must be a whole number of at least 1")
        return cls(base_url=app_base_url(raw), **known)


@dataclass(frozen=True)
class SignedIn:
    token: str  # for the cookie; only its hash is stored
    csrf: str
    login: str
    must_change: bool


@dataclass(frozen=True)
class SessionInfo:
    login: str
    csrf: str
    must_change: bool
    from_link: bool
    # The roles held (any area): for a front end's navigation only, never a permission.
    roles: frozenset[str] = frozenset()


@dataclass(frozen=True)
class TokenView:
    """An API token as listed: never the token itself (only its hash is kept)."""

    id: int
    login: str
    name: str
    created_at: dt.datetime
    created_by: str
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    revoked_by: str | None

    @classmethod
    def of(cls, row: TokenRecord) -> TokenView:
        return cls(row.id, row.login, row.name, row.created_at, row.created_by,
                   row.last_used_at, row.revoked_at, row.revoked_by)

    def to_json(self) -> dict[str, Any]:
        def at(value: dt.datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {"id": self.id, "login": self.login, "name": self.name,
                "created_at": at(self.created_at), "created_by": self.created_by,
                "last_used_at": at(self.last_used_at), "revoked_at": at(self.revoked_at),
                "revoked_by": self.revoked_by}


class IdentityProvider(Protocol):
    """Proves who someone is and returns their login (the seam for OpenID Connect)."""

    def authenticate(self, login: str, secret: str, address: str) -> str: ...


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    def __init__(self, db: Database, clock: Clock, gate: Gate, settings: WebSettings) -> None:
        self.db, self.clock, self.gate, self.settings = db, clock, gate, settings
        self.units = Units(db, gate)

    @cached_property
    def hasher(self) -> PasswordHasher:
        """Argon2, loaded when a password is first hashed or checked: the sessions, tokens
        and administration that import this module never need it."""
        from argon2 import PasswordHasher

        return PasswordHasher()

    # -- administrators ----------------------------------------------------------------
    def set_password(self, actor: str, login: str) -> str:
        """A new one-time password for ``login`` (to be changed at first sign-in); their
        sessions end. Administrators only; audited, without the password."""
        password = "-".join(secrets.token_hex(3) for _ in range(4))
        with self.units.begin(actor, "user.password") as unit:
            unit.require()
            self._registered(unit.conn, login)
            store = AccountStore(unit.conn)
            now = self.clock.now()
            store.set_password(login, self.hasher.hash(password), True, now)
            store.end_sessions_of(login, now)
            unit.note(login=login, kind="one-time password")
        return password

    def issue_link(self, actor: str, login: str) -> tuple[str, dt.datetime]:
        """A one-time sign-in link's token for ``login`` and when it expires."""
        token = secrets.token_urlsafe(32)
        with self.units.begin(actor, "user.password") as unit:
            unit.require()
            self._registered(unit.conn, login)
            now = self.clock.now()
            expires = now + dt.timedelta(hours=self.settings.link_hours)
            store = AccountStore(unit.conn)
            store.end_sessions_of(login, now, kind="link")
            store.add_session(_hash(token), login, "", "link", now, expires)
            unit.note(login=login, kind="sign-in link", expires=expires.isoformat())
        return token, expires

    def set_demo_password(self, actor: str, login: str, password: str) -> None:
        """A known password for ``login``, not to be changed: demonstration databases only
        (made by 'safeguard demo'), so a real deployment can never hold one."""
        with self.units.begin(actor, "user.password") as unit:
            unit.require()
            if recorded_deployment(unit.conn).get(DEMO_MODE) != "true":
                raise UsageError("demonstration passwords exist only in databases made by "
                                 "'safeguard demo'; use 'safeguard user password LOGIN'")
            self._registered(unit.conn, login)
            store = AccountStore(unit.conn)
            now = self.clock.now()
            store.set_password(login, self.hasher.hash(password), False, now)
            store.end_sessions_of(login, now)
            unit.note(login=login, kind="demonstration password")

    @staticmethod
    def _registered(conn: Any, login: str) -> None:
        principal = AccessStore(conn).principal(login)
        if principal is None or principal.disabled:
            raise UsageError(f"no active user '{login}'; 'safeguard user list' shows them")

    # -- signing in and out ------------------------------------------------------------
    def authenticate(self, login: str, secret: str, address: str) -> str:
        """The local password provider (:class:`IdentityProvider`)."""
        return self.sign_in(login, secret, address).login

    def sign_in(self, login: str, password: str, address: str) -> SignedIn:
        login, address = login.strip()[:64], address[:64]
        now = self.clock.now()
        window = now - dt.timedelta(minutes=self.settings.lockout_minutes)
        refusal: str | None = None
        with self.db.begin() as conn:
            store = AccountStore(conn)
            principal = AccessStore(conn).principal(login) if login else None
            credential = store.credential(login) if principal else None
            if store.failures_since(window, address=address) >= self.settings.address_failures:
                refusal = "too many failed sign-ins from this address: try again later"
            elif credential and credential.locked_until and credential.locked_until > now:
                refusal = ("this account is locked after repeated failed sign-ins: try again "
                           "later or ask an administrator for a new password")
            elif principal is None or principal.disabled or credential is None or \
                    len(password) > MAX_PASSWORD or not self._verify(credential.password_hash,
                                                                     password):
                refusal = "the login or password is not right"
                store.add_failure(login or "-", address, now)
                if credential is not None and store.failures_since(
                        window, login=login) >= self.settings.lockout_failures:
                    store.lock(login, now + dt.timedelta(minutes=self.settings.lockout_minutes))
            if refusal is not None:
                self.gate.record(conn, login or "-", "session.sign_in", outcome="refused",
                                 detail={"reason": refusal, "address": address})
            else:
                assert credential is not None
                store.clear_failures(login)
                signed = self._start(store, login, credential.must_change, now, "session")
                self.gate.record(conn, login, "session.sign_in", detail={"address": address})
        self.gate.flush()
        if refusal is not None:
            raise SignInError(refusal)
        return signed

    def sign_in_with_link(self, token: str, address: str) -> SignedIn:
        """Follow a one-time sign-in link: it is used up, and its user must set a password."""
        now = self.clock.now()
        refusal: str | None = None
        with self.db.begin() as conn:
            store = AccountStore(conn)
            link = store.session(_hash(token[:200]))
            principal = AccessStore(conn).principal(link.login) if link else None
            if link is None or link.kind != "link" or link.ended_at is not None or \
                    link.expires_at <= now or principal is None or principal.disabled:
                refusal = "this sign-in link is not valid (used, expired or replaced)"
                self.gate.record(conn, link.login if link else "-", "session.sign_in",
                                 outcome="refused", detail={"reason": refusal, "link": True,
                                                            "address": address[:64]})
            else:
                store.end_session(link.id, now)
                signed = self._start(store, link.login, True, now, "linked")
                self.gate.record(conn, link.login, "session.sign_in",
                                 detail={"link": True, "address": address[:64]})
        self.gate.flush()
        if refusal is not None:
            raise SignInError(refusal)
        return signed

    def _start(self, store: AccountStore, login: str, must_change: bool, now: dt.datetime,
               kind: str) -> SignedIn:
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        store.add_session(_hash(token), login, csrf, kind, now,
                          now + dt.timedelta(hours=self.settings.absolute_hours))
        return SignedIn(token, csrf, login, must_change)

    def _verify(self, password_hash: str, password: str) -> bool:
        from argon2.exceptions import InvalidHashError, VerificationError  # with the hasher

        try:
            return bool(self.hasher.verify(password_hash, password))
        except (VerificationError, InvalidHashError):
            return False

    def session(self, token: str) -> SessionInfo | None:
        """The live session ``token`` names (its idle clock restarted), or None."""
        if not token or len(token) > 200:
            return None
        now = self.clock.now()
        with self.db.begin_read() as conn:  # one query: this runs on every page
            found = AccountStore(conn).session_with_grants(_hash(token))
        if found is None:
            return None
        row, principal, must_change = found
        if not self._live(row, now) or principal is None or principal.disabled:
            return None
        if now - row.last_seen_at >= SEEN_EVERY:  # the idle clock, to the minute
            with self.db.begin() as conn:
                AccountStore(conn).seen(row.id, now)
        return SessionInfo(row.login, row.csrf, must_change is None or must_change,
                           row.kind == "linked", frozenset(principal.grants))

    def _live(self, row: SessionRecord, now: dt.datetime) -> bool:
        idle = dt.timedelta(minutes=self.settings.idle_minutes)
        return (row.kind in ("session", "linked") and row.ended_at is None
                and row.expires_at > now and row.last_seen_at + idle > now)

    def sign_out(self, token: str) -> None:
        now = self.clock.now()
        with self.db.begin() as conn:
            store = AccountStore(conn)
            row = store.session(_hash(token)) if token and len(token) <= 200 else None
            if row is None or row.kind == "link" or not store.end_session(row.id, now):
                return
            self.gate.record(conn, row.login, "session.sign_out")
        self.gate.flush()

    def change_password(self, token: str, current: str, new: str) -> None:
        """The signed-in user's own password; ``current`` is not asked after a link."""
        info = self.session(token)
        if info is None:
            raise SignInError("your session has ended: sign in again")
        if len(new) < MIN_PASSWORD or len(new) > MAX_PASSWORD:
            raise UsageError(f"the new password must be {MIN_PASSWORD} to {MAX_PASSWORD} "
                             "characters long")
        if new == current:
            raise UsageError("the new password must differ from the current one")
        with self.units.begin(info.login, "user.change_password") as unit:
            store = AccountStore(unit.conn)
            credential = store.credential(info.login)
            if not (info.from_link and info.must_change) and (
                    credential is None or not self._verify(credential.password_hash, current)):
                raise UsageError("the current password is not right")
            store.set_password(info.login, self.hasher.hash(new), False, self.clock.now())
            unit.note(login=info.login)

    # -- API tokens --------------------------------------------------------------------
    def issue_token(self, actor: str, login: str, name: str | None = None) -> tuple[int, str]:
        """A new API token for ``login`` (its id, and the token, shown this once).
        Administrators only; audited, without the token."""
        name = (name or "api").strip()
        if not name or len(name) > 100:
            raise UsageError("a token's --name must be 1 to 100 characters")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.units.begin(actor, "user.token") as unit:
            unit.require()
            self._registered(unit.conn, login)
            ident = AccountStore(unit.conn).add_token(_hash(token), login, name, actor,
                                                      self.clock.now())
            unit.note(login=login, token=ident, name=name, change="issued")
        return ident, token

    def revoke_token(self, actor: str, login: str, token_id: int) -> None:
        """Revoke ``login``'s token ``token_id``: it stops working at once."""
        with self.units.begin(actor, "user.token") as unit:
            unit.require()
            if not AccountStore(unit.conn).revoke_token(login, token_id, actor,
                                                        self.clock.now()):
                raise UsageError(f"{login} has no live token {token_id}; 'safeguard user "
                                 f"token {login} --list' shows them")
            unit.note(login=login, token=token_id, change="revoked")

    def tokens(self, actor: str, login: str) -> list[TokenView]:
        """``login``'s tokens, revoked ones too (never the tokens themselves)."""
        with self.units.begin(actor, "user.token") as unit:
            unit.require()
            if not AccessStore(unit.conn).user_exists(login):
                raise UsageError(f"no user '{login}'; 'safeguard user list' shows them")
            rows = AccountStore(unit.conn).tokens_of(login)
            unit.note(login=login, change="listed", tokens=len(rows))
        return [TokenView.of(r) for r in rows]

    def api_user(self, token: str, address: str) -> str:
        """The login a bearer token acts as; :class:`SignInError` when it is unknown, revoked
        or its user disabled (audited: a token tried is a sign-in tried)."""
        if not token or len(token) > 200:
            raise SignInError("an API token is needed: send 'Authorization: Bearer TOKEN'")
        now = self.clock.now()
        with self.db.begin_read() as conn:
            row = AccountStore(conn).token(_hash(token))
            principal = AccessStore(conn).principal(row.login) if row else None
        if row is None or row.revoked_at is not None or principal is None or \
                principal.disabled:
            reason = "the API token is not valid (unknown, revoked, or its user is disabled)"
            self.gate.record_refusal(self.db, row.login if row else "-", "api.authenticate",
                                     reason, command=f"api from {address[:64]}")
            raise SignInError(reason)
        if row.last_used_at is None or now - row.last_used_at >= SEEN_EVERY:
            with self.db.begin() as conn:
                AccountStore(conn).token_used(row.id, now)
        return row.login

    def is_administrator(self, login: str) -> bool:
        with self.db.begin_read() as conn:
            principal = AccessStore(conn).principal(login)
        return bool(principal and principal.holds(ADMINISTRATOR))


__all__ = ["Accounts", "IdentityProvider", "SessionInfo", "SignInError", "SignedIn",
           "TokenView", "WebSettings"]
