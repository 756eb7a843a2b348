"""Who gets an alert: roles for the case resolved to email addresses.

:class:`DirectoryRecipients` (the default) asks the user directory: the active users holding
the role for the case's area (or for all areas), plus any addresses the settings add for that
role in ``[notifications.recipients]`` (a shared mailbox, say). :class:`SettingsRecipients`
uses the settings alone. Anything with the :class:`RecipientResolver` shape can replace them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from sqlalchemy import and_, or_, select

from engine.store.access_store import GRANTS, USERS
from engine.store.cases import CASES
from engine.store.database import Database


class RecipientResolver(Protocol):
    def addresses(self, role: str, workflow: str, case_ref: str) -> Sequence[str]:
        """The addresses of the people holding ``role`` for this case (may be empty)."""
        ...


class SettingsRecipients:
    """The same addresses for a role whatever the case: the embedded setup's resolver."""

    def __init__(self, table: Mapping[str, Sequence[str]]) -> None:
        self._table = {role: tuple(addresses) for role, addresses in table.items()}

    def addresses(self, role: str, workflow: str, case_ref: str) -> Sequence[str]:
        return self._table.get(role, ())

    def everyone(self) -> list[str]:
        """Every configured address once (the digest goes to each)."""
        return list(dict.fromkeys(a for addresses in self._table.values() for a in addresses))


class DirectoryRecipients:
    """Registered users holding the role where the case is, then the configured extras."""

    def __init__(self, db: Database, extra: Mapping[str, Sequence[str]]) -> None:
        self.db = db
        self.extra = SettingsRecipients(extra)

    def addresses(self, role: str, workflow: str, case_ref: str) -> Sequence[str]:
        area = select(CASES.c.area).where(and_(CASES.c.workflow == workflow,
                                               CASES.c.ref == case_ref)).scalar_subquery()
        query = (select(USERS.c.email)
                 .join(GRANTS, GRANTS.c.user_id == USERS.c.id)
                 .where(GRANTS.c.role == role, GRANTS.c.revoked_at.is_(None),
                        USERS.c.disabled_at.is_(None),
                        or_(GRANTS.c.area.is_(None), GRANTS.c.area == area))
                 .order_by(USERS.c.login))
        with self.db.begin_read() as conn:
            found = [str(email) for email in conn.scalars(query)]
        return list(dict.fromkeys([*found, *self.extra.addresses(role, workflow, case_ref)]))

    def everyone(self) -> list[str]:
        return self.extra.everyone()


def resolve(resolver: RecipientResolver, roles: Sequence[str], workflow: str,
            case_ref: str) -> list[dict[str, str]]:
    """[{role, address}] for ``roles``, each address once (first role wins)."""
    seen: dict[str, str] = {}
    for role in roles:
        for address in resolver.addresses(role, workflow, case_ref):
            seen.setdefault(address.strip().lower(), role)
    return [{"role": role, "address": address} for address, role in seen.items()]
