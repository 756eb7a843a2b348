"""What the engine and the domains hand to whoever sends mail: references and times only.

The engine tells a hook of a fire whose transition names roles to notify
(:class:`CaseEventNotice`, :attr:`engine.core.service.Engine.on_event`); the MACE services tell
one of a meeting invitation or cancellation (:class:`OutgoingInvitation`,
``MaceService(on_invitation=...)``). Each call happens inside the transaction that caused it,
so whatever the hook enqueues commits with the change or not at all.

This module is the whole contract between the core or a domain and the notifier: the notifier
imports these types and never a domain module. It holds data only; it must not read the
database, render, or send anything, and it carries no child's details.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlmodel import Session

from engine.core.definition import WorkflowDef


@dataclass(frozen=True)
class CaseEventNotice:
    """A fire that its transition says people should hear about (references only)."""

    case_id: int
    ref: str
    workflow: str
    definition: WorkflowDef
    area: str | None
    state: str
    trigger: str
    seq: int
    roles: tuple[str, ...]


@dataclass(frozen=True)
class OutgoingInvitation:
    """A meeting invitation to send: references and times only, never a child's details."""

    ref: str
    method: str  # REQUEST or CANCEL
    ics: bytes
    people: tuple[str, ...]  # whom it goes to (and lists): logins, or addresses
    starts_at: dt.datetime
    sequence: int
    state: str
    workflow: str  # the meeting case's workflow and the version it runs on (for the wording)
    workflow_version: int
    # A CANCEL to people no longer invited (the meeting goes ahead without them).
    withdrawn: bool = False


EventHook = Callable[[Connection, CaseEventNotice], object]
InvitationHook = Callable[[Session, OutgoingInvitation], object]

__all__ = ["CaseEventNotice", "EventHook", "InvitationHook", "OutgoingInvitation"]
