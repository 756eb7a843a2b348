"""Who may run each command: the one policy table. Pure.

Commands about one case (open, advance, correct, show, history, export, hold) are governed by
the case's workflow definition (its ``access:`` block and each transition's ``roles``), read by
:mod:`engine.core.access`; the table below names the roles for every other command: registers,
the outbox, the scheduler, reports, administration. A command's name is its audit action
(``area.verb``), the same whichever front end runs it. A role is held for one area or all;
where a command lists rows of several areas, :func:`areas_for` says which the actor may see.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from engine.core.access import ALL_AREAS, Principal, needs_text
from engine.core.errors import PermissionDeniedError

ADMINISTRATORS = ("administrator",)
AUDITORS = ("auditor",)
# Alerts and emails name case references and addresses (never personal data): the people who
# work the outbox read them for their areas; administrators run delivery but read no mail.
MAIL_READERS = ("business_support", "partnership_manager")
OPERATIONS = ("administrator", *MAIL_READERS)
COORDINATORS = ("cerar_coordinator",)
MACE_STAFF = ("cerar_coordinator", "cerar_manager", "mace_chair", "partnership_manager")
MACE_READERS = (*MACE_STAFF, "mace_member")
# A meeting series has a use (MACE or the CDOP): each use has its own coordinator and staff.
CDOP_COORDINATORS = ("cdop_coordinator",)
CDOP_STAFF = ("cdop_coordinator", "cdop_chair", "designated_doctor", "partnership_manager")
SERIES_COORDINATORS = (*COORDINATORS, *CDOP_COORDINATORS)
SERIES_READERS = (*MACE_READERS, *CDOP_STAFF)
CASE_ROLES = ("partnership_manager", "business_support", "case_review_member",
              "case_review_chair", "independent_reviewer", "cerar_coordinator",
              "cerar_manager", "mace_chair", "mace_member", "cdop_chair", "cdop_coordinator",
              "designated_doctor", "business_group_chair", "business_group_member")
REPORT_READERS = ("partnership_manager",)
# The business plan (its actions are partnership-wide cases) and the figures from other
# systems: the business group and the partnership's staff.
PLAN_READERS = ("business_group_chair", "business_group_member", "partnership_manager",
                "business_support")
FIGURE_KEEPERS = ("partnership_manager", "business_support")

COMMANDS: Mapping[str, tuple[str, ...]] = {
    # administration
    "user.add": ADMINISTRATORS, "user.list": ADMINISTRATORS, "user.grant": ADMINISTRATORS,
    "user.revoke": ADMINISTRATORS, "user.disable": ADMINISTRATORS,
    "user.update": ADMINISTRATORS, "user.enable": ADMINISTRATORS,
    "user.password": ADMINISTRATORS, "user.token": ADMINISTRATORS,
    "user.show": ADMINISTRATORS, "area.overview": ADMINISTRATORS,
    "area.add": ADMINISTRATORS, "retention.run": ADMINISTRATORS,
    "audit.log": AUDITORS, "audit.verify": (*AUDITORS, *ADMINISTRATORS),
    # the trail's recent records (actions and references, no case data): the admin pages
    "audit.recent": (*AUDITORS, *ADMINISTRATORS),
    "audit.rotate_key": ADMINISTRATORS,
    # alerts, the outbox and the scheduler
    "alerts.list": MAIL_READERS, "notifications.list": MAIL_READERS,
    # Delivery sends every area's pending mail through the transport the running process is
    # configured with: only the deployment's operator (an administrator, as for the
    # scheduler) may run it, so nobody can point it at a mail server or folder of their own.
    "notifications.show": MAIL_READERS, "notifications.dispatch": ADMINISTRATORS,
    "notifications.retry": OPERATIONS, "scheduler.run": ADMINISTRATORS,
    # MACE registers (the CERAR register lists the cases the actor may read, by workflow)
    "mace.series.create": SERIES_COORDINATORS, "mace.series.change": SERIES_COORDINATORS,
    "mace.generate": SERIES_COORDINATORS, "mace.series.show": SERIES_READERS,
    "mace.series.list": SERIES_READERS, "mace.series.invite": SERIES_READERS,
    "mace.meetings": SERIES_READERS, "mace.agenda.draft": MACE_STAFF,
    # each use's own: who coordinates a series of that use, who may read a draft agenda
    "series.use.mace": COORDINATORS, "series.use.cdop": CDOP_COORDINATORS,
    "series.read.mace": MACE_READERS, "series.read.cdop": CDOP_STAFF,
    "cdop.agenda.draft": CDOP_STAFF,
    "mace.item": ("cerar_coordinator", "mace_chair"), "mace.action.list": MACE_STAFF,
    # the partnership's figures
    "status": CASE_ROLES, "report.annual": REPORT_READERS,
    "plan.show": PLAN_READERS, "figures.import": FIGURE_KEEPERS,
    "figures.list": (*FIGURE_KEEPERS, "business_group_chair"),
}


def roles_for(action: str) -> tuple[str, ...]:
    try:
        return COMMANDS[action]
    except KeyError:  # a programming error: every command names its policy
        raise KeyError(f"no policy for command '{action}'") from None


def permitted(principal: Principal, action: str) -> bool:
    """The actor holds one of the command's roles, in some area."""
    return any(role in principal.grants for role in roles_for(action))


def require_command(principal: Principal, action: str) -> None:
    if not permitted(principal, action):
        raise PermissionDeniedError(principal.login, action.replace(".", " "),
                                    needs_text(roles_for(action), None), principal.describe())


def areas_for(principal: Principal, roles: Iterable[str]) -> frozenset[str] | None:
    """The areas in which the actor holds one of ``roles``; None when that is all areas."""
    areas: set[str | None] = set()
    for role in roles:
        areas |= principal.grants.get(role, frozenset())
    if ALL_AREAS in areas:
        return None
    return frozenset(a for a in areas if a)
