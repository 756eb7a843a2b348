"""The roles a workflow definition may name. Users and grants are data (see the access issue);
the role names are fixed here so that a typo in a definition is caught when it loads."""

from __future__ import annotations

ROLES: dict[str, str] = {
    "partnership_manager": "Partnership manager: oversight, figures for the annual report",
    "business_support": "Business support: records notifications, dates and papers",
    "case_review_member": "Case review group member",
    "case_review_chair": "Chair of the case review group",
    "independent_reviewer": "Independent reviewer appointed to an LCSPR",
    "cerar_coordinator": "CERAR coordinator: schedules MACE, builds agendas",
    "cerar_manager": "CERAR manager: chairs initial risk assessment meetings",
    "mace_chair": "Chair of MACE meetings",
    "mace_member": "Member agency representative at MACE",
    "cdop_chair": "Chair of the Child Death Overview Panel (CDOP): records its reviews",
    "cdop_coordinator": "CDOP coordinator: child death notifications, agency forms, agendas",
    "designated_doctor": "Designated doctor for child deaths: notifications, review meetings",
    "business_group_chair": "Chair of the business group: the business plan's updates are "
                            "escalated to them",
    "business_group_member": "Business group member: updates the business plan actions they "
                             "own",
    "auditor": "Auditor: read-only, sees the audit trail",
    "administrator": "Administrator: manages users; sees no case data by default",
}
