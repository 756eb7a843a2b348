"""Who gets an alert: roles for the case resolved to email addresses.

Users and roles are not modelled yet (the access-control issue adds them). Until then a
:class:`SettingsRecipients` reads the ``[notifications.recipients]`` table (role -> list of
addresses). Anything with the :class:`RecipientResolver` shape can replace it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol


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


def resolve(resolver: RecipientResolver, roles: Sequence[str], workflow: str,
            case_ref: str) -> list[dict[str, str]]:
    """[{role, address}] for ``roles``, each address once (first role wins)."""
    seen: dict[str, str] = {}
    for role in roles:
        for address in resolver.addresses(role, workflow, case_ref):
            seen.setdefault(address.strip().lower(), role)
    return [{"role": role, "address": address} for address, role in seen.items()]
