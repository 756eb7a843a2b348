"""Who may do what. Pure: a Principal (a user's live grants) and the checks on it.

Roles are granted for one area or for all areas. Two roles give access only to cases the user
is involved in: an independent reviewer sees the reviews they are appointed to, and a MACE
member sees the children on the agendas of meetings they are invited to, while those children
are open. A workflow definition names the roles that may open its cases, fire each trigger,
read its cases, correct them and see their personal fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from engine.core.errors import PermissionDeniedError

ALL_AREAS = None
# Roles whose grant reaches only the cases the user is involved in, and how.
INVOLVEMENT_ROLES: Mapping[str, str] = {
    "independent_reviewer": "appointed to the review",
    "mace_member": "invited to a MACE meeting where the child is on the agenda",
    "business_group_member": "named owner of the business plan action",
}
# The involvement (case_involvement.kind) each of those roles needs.
INVOLVEMENT_KIND: Mapping[str, str] = {"independent_reviewer": "reviewer",
                                       "mace_member": "mace_invitee",
                                       # the owner, who also gets the action's reminders
                                       "business_group_member": "assignee"}
ADMINISTRATOR, AUDITOR = "administrator", "auditor"
# Roles about the system, not about cases in an area: granted for all areas only.
PARTNERSHIP_WIDE = frozenset({ADMINISTRATOR, AUDITOR})


@dataclass(frozen=True)
class Principal:
    login: str
    grants: Mapping[str, frozenset[str | None]] = field(default_factory=dict)  # role -> areas
    disabled: bool = False

    def holds(self, role: str, area: str | None = None) -> bool:
        areas = self.grants.get(role)
        if not areas:
            return False
        return ALL_AREAS in areas or (area is not None and area in areas)

    def describe(self) -> str:
        if not self.grants:
            return "no roles"
        parts = []
        for role in sorted(self.grants):
            areas = self.grants[role]
            where = "all areas" if ALL_AREAS in areas else ", ".join(sorted(a for a in areas
                                                                            if a))
            parts.append(f"{role} ({where})")
        return "roles " + "; ".join(parts)


def permits(principal: Principal, roles: Iterable[str], area: str | None,
            involved: bool) -> bool:
    """True if one of ``roles`` is held for ``area`` (and, where it needs it, involvement)."""
    for role in roles:
        if not principal.holds(role, area):
            continue
        if role in INVOLVEMENT_ROLES and not involved:
            continue
        return True
    return False


def permits_case(principal: Principal, roles: Iterable[str], area: str | None,
                 kinds: Iterable[str], case_open: bool) -> bool:
    """Like :func:`permits` for one case: a role that needs involvement needs its kind; a MACE
    invitee sees a child only while the child's case is open."""
    kinds = set(kinds)
    for role in roles:
        if not principal.holds(role, area):
            continue
        kind = INVOLVEMENT_KIND.get(role)
        if kind is None:
            return True
        if kind in kinds and (case_open or role != "mace_member"):
            return True
    return False


def needs_text(roles: Iterable[str], area: str | None) -> str:
    roles = sorted(set(roles))
    if not roles:
        return "no role may do this"
    where = f" for area {area}" if area else ""
    bound = [r for r in roles if r in INVOLVEMENT_ROLES]
    extra = "".join(f" ({r}: only when {INVOLVEMENT_ROLES[r]})" for r in bound)
    return f"needs one of the roles {', '.join(roles)}{where}{extra}"


def require(principal: Principal, roles: Iterable[str], area: str | None, involved: bool,
            action: str) -> None:
    roles = list(roles)
    if not permits(principal, roles, area, involved):
        raise PermissionDeniedError(principal.login, action, needs_text(roles, area),
                                    principal.describe())


def require_role(principal: Principal, role: str, action: str) -> None:
    if not principal.holds(role):
        raise PermissionDeniedError(principal.login, action,
                                    f"needs the role {role} (for all areas)",
                                    principal.describe())
