"""Who gets an alert: roles for the case resolved to email addresses.

:class:`DirectoryRecipients` (the default) asks the user directory: the active users holding
the role for the case's area (or for all areas), plus any addresses the settings add for that
role in ``[notifications.recipients]`` (a shared mailbox, say). :class:`SettingsRecipients`
uses the settings alone. Anything with the :class:`RecipientResolver` shape can replace them.

The directory is read through :class:`~engine.core.store.directory.Directory`: this module
runs no SQL of its own and must not write anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from engine.core.store.database import Database
from engine.core.store.directory import Directory


class RecipientResolver(Protocol):
    def addresses(self, role: str, workflow: str, case_ref: str,
                  area: str | None = None) -> Sequence[str]:
        """The addresses of the people holding ``role`` for this case (may be empty)."""
        ...


class SettingsRecipients:
    """The same addresses for a role whatever the case: the embedded setup's resolver."""

    def __init__(self, table: Mapping[str, Sequence[str]]) -> None:
        self._table = {role: tuple(addresses) for role, addresses in table.items()}

    def addresses(self, role: str, workflow: str, case_ref: str,
                  area: str | None = None) -> Sequence[str]:
        return self._table.get(role, ())

    def everyone(self) -> list[str]:
        """Every configured address once (the digest goes to each)."""
        return list(dict.fromkeys(a for addresses in self._table.values() for a in addresses))


class DirectoryRecipients:
    """Registered users holding the role where the case is, then the configured extras."""

    def __init__(self, db: Database, extra: Mapping[str, Sequence[str]]) -> None:
        self.db = db
        self.extra = SettingsRecipients(extra)
        self._holders: dict[str, list[tuple[str | None, str | None, str]]] | None = None
        # Logins mail was meant for but could not reach (no usable address), since the last
        # refresh: the sweep reports them loudly.
        self.missed: dict[str, set[str]] = {}

    def refresh(self) -> None:
        """Forget what was read: the sweep calls it once per pass, so a grant or a revocation
        counts from the next pass, and a pass asks the directory once, not once per alert."""
        self._holders = None
        self.missed = {}

    def _load(self) -> dict[str, list[tuple[str | None, str | None, str]]]:
        """role -> [(area or None for all areas, usable email or None, login)] of active
        users' live grants."""
        if self._holders is None:
            holders: dict[str, list[tuple[str | None, str | None, str]]] = {}
            with self.db.begin_read() as conn:
                for holder in Directory(conn).role_holders():
                    holders.setdefault(holder.role, []).append(
                        (holder.area, holder.email, holder.login))
            self._holders = holders
        return self._holders

    def addresses(self, role: str, workflow: str, case_ref: str,
                  area: str | None = None) -> Sequence[str]:
        if area is None:  # the sweep knows it; a one-off lookup asks
            with self.db.begin_read() as conn:
                area = Directory(conn).case_area(workflow, case_ref)
        found = []
        for where, email, login in self._load().get(role, []):
            if where is not None and where != area:
                continue
            if email is None:  # never a made-up or placeholder address: reported instead
                self.missed.setdefault(login, set()).add(role)
                continue
            found.append(email)
        return list(dict.fromkeys([*found, *self.extra.addresses(role, workflow, case_ref)]))

    def everyone(self) -> list[str]:
        return self.extra.everyone()


def resolve(resolver: RecipientResolver, roles: Sequence[str], workflow: str,
            case_ref: str, area: str | None = None) -> list[dict[str, str]]:
    """[{role, address}] for ``roles``, each address once (first role wins)."""
    seen: dict[str, str] = {}
    for role in roles:
        for address in resolver.addresses(role, workflow, case_ref, area):
            seen.setdefault(address.strip().lower(), role)
    return [{"role": role, "address": address} for address, role in seen.items()]
