"""Users, roles and areas, managed by administrators; and who the actor of a command is.

Every change here is audited, and so is every read (the pages of users and areas). ``init``
on a database with no users registers the operating-system login running it as the first
administrator. ``--as USER`` is honoured only for an
administrator, or when the settings enable demo mode; otherwise it is refused, and the refusal
is audited.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection

from engine.core.access import ADMINISTRATOR, PARTNERSHIP_WIDE
from engine.core.accounts import TokenView
from engine.core.clock import Clock
from engine.core.errors import (
    FieldError,
    PermissionDeniedError,
    UsageError,
    did_you_mean,
    one_of,
)
from engine.core.gate import Gate
from engine.core.roles import ROLES
from engine.core.settings import Settings
from engine.core.store.access_store import AccessStore, UserView
from engine.core.store.account_store import AccountStore
from engine.core.store.database import Database
from engine.core.unit import Units

LOGIN = re.compile(r"^[a-z_][a-z0-9_.-]{0,63}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
WORDS = {"display_name": "name", "email": "email address", "agency": "agency"}


@dataclass(frozen=True)
class Account:
    """A user as an administrator sees them: roles, and the state of their web sign-in."""

    user: UserView
    has_password: bool
    must_change: bool
    locked_until: dt.datetime | None  # set only while the lockout lasts
    tokens: tuple[TokenView, ...] = ()  # filled in for one user's page


@dataclass(frozen=True)
class UserPage:
    """One user's page: their account, and what may be granted (roles, areas)."""

    account: Account
    areas: tuple[tuple[str, str], ...]
    roles: tuple[tuple[str, str], ...]  # (role, what it is for)
    partnership_wide: tuple[str, ...]  # roles granted for all areas only


@dataclass(frozen=True)
class AreaRow:
    code: str
    name: str
    users: int  # users holding a role in it (all-areas grants not counted)


class Admin:
    def __init__(self, db: Database, clock: Clock, gate: Gate) -> None:
        self.db, self.clock, self.gate = db, clock, gate
        self.units = Units(db, gate)

    def _admin_command(self, actor: str, action: str, detail: dict[str, str | None],
                       change: Callable[[Connection], object]) -> None:
        with self.units.begin(actor, action) as unit:
            unit.require()
            change(unit.conn)
            unit.note(**detail)

    # -- who is acting -----------------------------------------------------------------
    def bootstrap(self, login: str) -> bool:
        """Register ``login`` as the first administrator of an empty database."""
        with self.db.begin() as conn:
            store = AccessStore(conn)
            if store.user_count():
                return False
            now = self.clock.now()
            store.add_user(login, login, f"{login}@localhost", "(administration)", now)
            user_id = store.user_id(login)
            assert user_id is not None
            store.grant(user_id, ADMINISTRATOR, None, "init", now)
            self.gate.record(conn, login, "user.bootstrap", detail={"login": login,
                                                                    "role": ADMINISTRATOR})
        self.gate.flush()
        return True

    def record_deployment(self, settings: Settings) -> None:
        """``init``: record the settings that grant power (a repeated init must agree)."""
        from engine.core import deployment

        with self.db.begin() as conn:
            deployment.record_at_init(conn, settings)

    def resolve_actor(self, os_login: str, requested: str | None, demo_mode: bool) -> str:
        """The registered user a command runs as."""
        if requested is None or requested == os_login:
            return os_login
        if demo_mode:
            return requested
        with self.db.begin() as conn:
            principal = AccessStore(conn).principal(os_login)
        if principal is not None and not principal.disabled and principal.holds(ADMINISTRATOR):
            return requested
        reason = (f"{os_login} may not act as {requested}: --as is for administrators (or a "
                  "database made by 'safeguard demo')")
        self.gate.record_refusal(self.db, os_login, "act_as", reason)
        raise PermissionDeniedError(os_login, f"act as {requested}",
                                    "--as is for administrators, or demo mode")

    # -- users -------------------------------------------------------------------------
    def add_user(self, actor: str, login: str, display_name: str, email: str,
                 agency: str) -> None:
        if not LOGIN.match(login):
            raise UsageError(f"'{login}' is not a usable login: lower-case letters, digits, "
                             "'.', '_' and '-'")
        if not EMAIL.match(email):
            raise UsageError(f"'{email}' is not an email address")

        def change(conn: Connection) -> None:
            store = AccessStore(conn)
            if store.user_exists(login):
                raise UsageError(f"user '{login}' already exists")
            store.add_user(login, display_name, email, agency, self.clock.now())

        self._admin_command(actor, "user.add", {"login": login, "agency": agency}, change)

    def users(self, actor: str) -> list[UserView]:
        result: list[UserView] = []

        def change(conn: Connection) -> None:
            result.extend(AccessStore(conn).users())

        self._admin_command(actor, "user.list", {}, change)
        return result

    def accounts(self, actor: str) -> list[Account]:
        """Every user with their roles and sign-in state (``user list``, as a page)."""
        with self.units.begin(actor, "user.list") as unit:
            unit.require()
            users = unit.access.users()
            credentials = AccountStore(unit.conn)
            out = [self._account(credentials, u) for u in users]
            unit.note(listed=len(out))
        return out

    def user_page(self, actor: str, login: str) -> UserPage:
        """One user's page: roles, sign-in state and API tokens, and the roles and areas
        that may be granted."""
        with self.units.begin(actor, "user.show") as unit:
            unit.require()
            found = next((u for u in unit.access.users() if u.login == login), None)
            if found is None:
                raise UsageError(f"no user '{login}'; 'safeguard user list' shows them")
            store = AccountStore(unit.conn)
            tokens = tuple(TokenView.of(t) for t in store.tokens_of(login))
            unit.note(login=login)
            account = self._account(store, found)
            areas = tuple(unit.access.areas())
        return UserPage(Account(account.user, account.has_password, account.must_change,
                                account.locked_until, tokens), areas, tuple(ROLES.items()),
                        tuple(r for r in ROLES if r in PARTNERSHIP_WIDE))

    def _account(self, store: AccountStore, user: UserView) -> Account:
        credential = store.credential(user.login)
        locked = credential.locked_until if credential else None
        return Account(user, credential is not None,
                       credential is not None and credential.must_change,
                       locked if locked and locked > self.clock.now() else None)

    def _user_id(self, store: AccessStore, login: str) -> int:
        user_id = store.user_id(login)
        if user_id is None:
            raise UsageError(f"no user '{login}'; 'safeguard user list' shows them")
        return user_id

    def _check_role_area(self, conn: Connection, role: str, area: str | None) -> None:
        if role not in ROLES:
            raise UsageError(f"unknown role '{role}'{did_you_mean(role, ROLES)}; roles: "
                             f"{one_of(ROLES)}")
        if role in PARTNERSHIP_WIDE and area is not None:
            raise UsageError(f"{role} is a partnership-wide role: grant it for all areas",
                             cli="grant it without --area")
        if area is not None:
            areas = [code for code, _ in AccessStore(conn).areas()]
            if area not in areas:
                raise UsageError(f"unknown area '{area}'{did_you_mean(area, areas)}; areas: "
                                 f"{one_of(areas)}")

    def grant(self, actor: str, login: str, role: str, area: str | None) -> None:
        def change(conn: Connection) -> None:
            self._check_role_area(conn, role, area)
            store = AccessStore(conn)
            if not store.grant(self._user_id(store, login), role, area, actor,
                               self.clock.now()):
                raise UsageError(f"{login} already holds {role} "
                                 f"{'in ' + area if area else 'for all areas'}")

        self._admin_command(actor, "user.grant", {"login": login, "role": role, "area": area},
                            change)

    def revoke(self, actor: str, login: str, role: str, area: str | None) -> None:
        def change(conn: Connection) -> None:
            self._check_role_area(conn, role, area)
            store = AccessStore(conn)
            if not store.revoke(self._user_id(store, login), role, area, actor,
                                self.clock.now()):
                raise UsageError(f"{login} does not hold {role} "
                                 f"{'in ' + area if area else 'for all areas'}")

        self._admin_command(actor, "user.revoke", {"login": login, "role": role,
                                                   "area": area}, change)

    def update_user(self, actor: str, login: str, display_name: str | None = None,
                    email: str | None = None, agency: str | None = None) -> list[str]:
        """Change a user's name, email address or agency; returns what changed. The audit
        record names the fields changed, not the values (a colleague's address is theirs)."""
        given = {"display_name": display_name, "email": email, "agency": agency}
        wanted = {k: " ".join(v.split()) for k, v in given.items() if v is not None}
        if not wanted:
            raise UsageError("nothing to change: give a new name, email address or agency",
                             cli="add --name, --email or --agency")
        for key, value in wanted.items():
            if not 1 <= len(value) <= 200:
                raise FieldError(key, f"the {WORDS[key]} must be 1 to 200 characters")
        if "email" in wanted and not EMAIL.match(wanted["email"]):
            raise FieldError("email", f"'{wanted['email']}' is not an email address")
        changed: list[str] = []
        detail: dict[str, str | None] = {"login": login}

        def change(conn: Connection) -> None:
            store = AccessStore(conn)
            user_id = self._user_id(store, login)
            now = next(u for u in store.users() if u.login == login)
            current = {"display_name": now.display_name, "email": now.email or "",
                       "agency": now.agency}
            changed.extend(k for k, v in wanted.items() if current[k] != v)
            if changed:
                store.update_user(user_id, {k: wanted[k] for k in changed})
            # What changed, not what was given (a form gives every field each time).
            detail["changed"] = ", ".join(sorted(changed))

        self._admin_command(actor, "user.update", detail, change)
        return changed

    def enable(self, actor: str, login: str) -> None:
        """Let a disabled user sign in and be named again (their roles are as they were)."""
        def change(conn: Connection) -> None:
            store = AccessStore(conn)
            store.enable(self._user_id(store, login))

        self._admin_command(actor, "user.enable", {"login": login}, change)

    def disable(self, actor: str, login: str) -> None:
        if login == actor:
            raise UsageError("you cannot disable yourself; ask another administrator")

        def change(conn: Connection) -> None:
            store = AccessStore(conn)
            store.disable(self._user_id(store, login), self.clock.now())

        self._admin_command(actor, "user.disable", {"login": login}, change)

    # -- areas -------------------------------------------------------------------------
    def add_area(self, actor: str, code: str, name: str) -> None:
        if not LOGIN.match(code):
            raise UsageError(f"'{code}' is not a usable area code: lower-case letters, digits "
                             "and '_'")

        def change(conn: Connection) -> None:
            store = AccessStore(conn)
            if code in [c for c, _ in store.areas()]:
                raise UsageError(f"area '{code}' already exists")
            store.add_area(code, name)

        self._admin_command(actor, "area.add", {"code": code, "name": name}, change)

    def area_overview(self, actor: str) -> list[AreaRow]:
        """The areas with how many users hold a role in each (administrators)."""
        with self.units.begin(actor, "area.overview") as unit:
            unit.require()
            counts: dict[str, int] = {}
            for u in unit.access.users():
                for code in {a for _, a in u.roles if a}:
                    counts[code] = counts.get(code, 0) + 1
            rows = [AreaRow(c, n, counts.get(c, 0)) for c, n in unit.access.areas()]
            unit.note(listed=len(rows))
        return rows

    def areas(self, actor: str) -> list[tuple[str, str]]:
        """The partnership's areas (any registered user may list them)."""
        with self.units.begin(actor, "area.list") as unit:
            return unit.access.areas()
