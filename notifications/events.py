"""Workflow-event emails: a transition that names roles to ``notify`` (in its YAML) sends each
person holding one of them for the case's area a ``case_event`` email, enqueued in the fire's
own transaction (:attr:`engine.core.service.Engine.on_event`). One email per event and address,
ever; the case reference, the new stage and a link only. It works from the
:class:`~engine.core.notices.CaseEventNotice` and the resolver; it runs no SQL of its own.
"""

from __future__ import annotations

from sqlalchemy import Connection

from engine.core.clock import london_date
from engine.core.notices import CaseEventNotice
from engine.core.service import Engine
from engine.core.settings import NotificationSettings
from notifications.outbox import enqueue, row_values
from notifications.recipients import RecipientResolver, resolve
from notifications.render import alert_context, render


class EventMailer:
    def __init__(self, engine: Engine, settings: NotificationSettings,
                 resolver: RecipientResolver) -> None:
        self.engine, self.settings, self.resolver = engine, settings, resolver

    def __call__(self, conn: Connection, notice: CaseEventNotice) -> int:
        today = london_date(self.engine.clock.now())
        refresh = getattr(self.resolver, "refresh", None)
        if refresh is not None:
            refresh()  # grants as they are now
        rows = []
        for recipient in resolve(self.resolver, notice.roles, notice.workflow, notice.ref,
                                 notice.area):
            context = alert_context(notice.definition, notice.ref, notice.state, notice.trigger,
                                    today, today, "case_event", recipient["role"],
                                    self.settings.base_url, self.engine.calendar)
            key = (f"event:{notice.workflow}:{notice.ref}:{notice.seq}:"
                   f"{recipient['address']}")
            rows.append(row_values(key, "case_event", recipient["address"],
                                   render("case_event", context), self.engine.clock.now(),
                                   self.settings.sender, case_id=notice.case_id))
        return enqueue(conn, rows)
