"""MACE meeting invitations by email: an iCalendar part and attachment, in the outbox.

The MACE services call :meth:`InvitationMailer.__call__` inside the transaction that creates,
moves or cancels a meeting (``MaceService(on_invitation=...)``), so the outbox rows commit
with the change or not at all. Each invitee gets one message per (meeting, sequence, method),
whatever happens (the outbox's de-duplication key), sent as a ``text/calendar; method=REQUEST``
(or ``CANCEL``) alternative plus an ``invite.ics`` attachment with the meeting's stable UID.
Like every email it carries a meeting reference, a day and a link, never a child's details.

It works from the :class:`~engine.core.notices.OutgoingInvitation` alone (with the directory
for a member's email): it must not import the MACE domain nor read its tables or the cases.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlmodel import Session

from engine.core.clock import LONDON, london_date
from engine.core.notices import OutgoingInvitation
from engine.core.service import Engine
from engine.core.settings import NotificationSettings
from engine.core.store.cases import CaseStore
from engine.core.store.directory import Directory, Person
from notifications.outbox import enqueue, row_values
from notifications.render import alert_context, render

log = logging.getLogger("safeguard.notifications")


class InvitationMailer:
    def __init__(self, engine: Engine, settings: NotificationSettings,
                 email_domain: str) -> None:
        self.engine, self.settings, self.email_domain = engine, settings, email_domain
        self.unaddressed: list[str] = []  # logins an invitation could not reach, in order

    def _address(self, people: Mapping[str, Person], person: str) -> str | None:
        """A registered user's address (an address as given stands for itself); None: the
        user has none, which is logged loudly rather than guessed."""
        if "@" in person:
            return person
        found = people.get(person)
        return found.email if found is not None else None

    def __call__(self, session: Session, invitation: OutgoingInvitation) -> int:
        now = self.engine.clock.now()
        definition = self.engine.definition(CaseStore(session.connection()),
                                            invitation.workflow, invitation.workflow_version)
        when = invitation.starts_at.astimezone(LONDON)
        template = "cancellation" if invitation.method == "CANCEL" else "invitation"
        context = alert_context(
            definition, invitation.ref, invitation.state, "meeting", when.date(),
            london_date(now), template, "mace_member", self.settings.base_url,
            self.engine.calendar)
        context["what_to_do"] = (
            "you are no longer invited to this meeting (the series' members changed): "
            "remove it from your calendar" if invitation.withdrawn else
            "remove it from your calendar" if template == "cancellation" else
            f"attend at {when:%H:%M} (Europe/London); the agenda is published in safeguard "
            "before the meeting")
        rendered = render(template, context)
        payload = invitation.ics.decode()
        rows = []
        people = Directory(session.connection()).people()
        for person in dict.fromkeys(invitation.people):
            address = self._address(people, person)
            if address is None:
                self.unaddressed.append(person)
                log.warning("MACE invitation %s: user '%s' has no registered email address; "
                            "nothing sent to them (safeguard user list)", invitation.ref,
                            person)
                continue
            key = (f"invite:{invitation.ref}:{invitation.sequence}:{invitation.method}:"
                   f"{address.lower()}")
            rows.append(row_values(key, template, address, rendered, now, self.settings.sender,
                                   ics=payload))
        return enqueue(session, rows)
