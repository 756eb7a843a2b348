"""Workflow-event emails: a transition that names roles to ``notify`` (in its YAML) sends each
person holding one of them for the case's area a ``case_event`` email, enqueued in the fire's
own transaction (:attr:`engine.core.service.Engine.on_event`). ``notify`` may also name
``involved:KIND``: the people involved in the case that way (a MACE meeting's chair and
members when its agenda is published or its minutes circulated), at their registered
addresses. One email per event and address, ever; the case reference, the new stage and a
link only. It works from the :class:`~engine.core.notices.CaseEventNotice`, the resolver and
the directory; it runs no SQL of its own.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection

from engine.core.clock import london_date
from engine.core.definition import INVOLVED
from engine.core.notices import CaseEventNotice
from engine.core.service import Engine
from engine.core.settings import NotificationSettings
from engine.core.store.directory import Directory
from notifications.outbox import enqueue, row_values
from notifications.recipients import RecipientResolver, resolve
from notifications.render import alert_context, render

log = logging.getLogger("safeguard.notifications")


class EventMailer:
    def __init__(self, engine: Engine, settings: NotificationSettings,
                 resolver: RecipientResolver) -> None:
        self.engine, self.settings, self.resolver = engine, settings, resolver
        self.unaddressed: list[str] = []  # logins an event email could not reach, in order

    def _involved(self, conn: Connection, notice: CaseEventNotice) -> list[dict[str, str]]:
        found = []
        for entry in notice.roles:
            if not entry.startswith(INVOLVED):
                continue
            for login, email in Directory(conn).involved_emails(notice.case_id,
                                                                entry[len(INVOLVED):]):
                if email is None:
                    self.unaddressed.append(login)
                    log.warning("%s %s: user '%s' has no registered email address; nothing "
                                "sent to them (safeguard user list)", notice.ref,
                                notice.trigger, login)
                    continue
                found.append({"role": entry[len(INVOLVED):], "address": email})
        return found

    def __call__(self, conn: Connection, notice: CaseEventNotice) -> int:
        today = london_date(self.engine.clock.now())
        refresh = getattr(self.resolver, "refresh", None)
        if refresh is not None:
            refresh()  # grants as they are now
        roles = [r for r in notice.roles if not r.startswith(INVOLVED)]
        recipients = self._involved(conn, notice)
        seen = {r["address"].lower() for r in recipients}
        recipients += [r for r in resolve(self.resolver, roles, notice.workflow, notice.ref,
                                          notice.area) if r["address"].lower() not in seen]
        rows = []
        told = next((t.notice for t in notice.definition.transitions
                     if t.trigger == notice.trigger and t.notice), "")
        for recipient in recipients:
            context = alert_context(notice.definition, notice.ref, notice.state, notice.trigger,
                                    today, today, "case_event", recipient["role"],
                                    self.settings.base_url, self.engine.calendar)
            context["what_to_do"] = told
            key = (f"event:{notice.workflow}:{notice.ref}:{notice.seq}:"
                   f"{recipient['address']}")
            rows.append(row_values(key, "case_event", recipient["address"],
                                   render("case_event", context), self.engine.clock.now(),
                                   self.settings.sender, case_id=notice.case_id))
        return enqueue(conn, rows)
