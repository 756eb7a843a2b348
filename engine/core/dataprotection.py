"""Data-protection duties: subject-access export, legal holds and retention.

* ``export`` writes everything held about a case (data, history, deadlines, involvement and
  the audit records of every access to it); it needs the role that may see personal fields.
* A legal hold (e.g. a public inquiry) blocks erasure; only a partnership manager sets or
  lifts one.
* ``retention_run`` erases the personal fields of cases whose retention period has passed
  (per workflow: N years from a date field, else from closure), recording an event and an
  audit record; the audit chain never held those values, so it stays verifiable.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from engine.core.access import require
from engine.core.calendar import add_months
from engine.core.clock import london_date
from engine.core.errors import FieldError
from engine.core.gate import PERSONAL_MARK
from engine.core.service import Engine
from engine.core.store.cases import DEADLINES
from engine.core.store.models import Alert, OutboxMessage

ALERTS = Alert.__table__  # type: ignore[attr-defined]
OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]

PARTNERSHIP_MANAGER = "partnership_manager"


@dataclass(frozen=True)
class RetentionItem:
    ref: str
    workflow: str
    expired_on: dt.date
    fields: tuple[str, ...]
    held: bool

    def to_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "workflow": self.workflow,
                "expired_on": self.expired_on.isoformat(), "fields": list(self.fields),
                "held": self.held}


class DataProtection:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def export(self, ref: str, actor: str, workflow: str | None = None,
               command: str | None = None) -> dict[str, Any]:
        engine = self.engine
        with engine.unit(actor, "case.export", case_ref=ref, workflow=workflow,
                         command=command) as unit:
            conn, store = unit.conn, unit.cases
            case = engine.find(unit, ref, workflow)
            definition = engine.definition(store, case.workflow, case.workflow_version)
            engine.require_on_case(unit, definition.access.personal, case,
                                   f"export {case.workflow} case {ref} (it includes "
                                   "personal data)")
            unit.record_now()  # the export lists its own record among the case's
            deadlines = [dict(row._mapping) for row in conn.execute(
                select(DEADLINES).where(DEADLINES.c.case_id == case.id)
                .order_by(DEADLINES.c.id))]
            access = unit.access
            return {
                "case": {"ref": case.ref, "workflow": case.workflow,
                         "workflow_version": case.workflow_version, "state": case.state,
                         "area": case.area, "version": case.version, "data": case.data,
                         "opened_at": case.opened_at, "updated_at": case.updated_at,
                         "closed_at": case.closed_at, "legal_hold": case.legal_hold,
                         "erased_at": case.erased_at},
                "events": [dict(e._mapping) for e in store.events(case.id)],
                "deadlines": deadlines,
                "involvement": access.involvement_of(case.id),
                "alerts": [dict(row._mapping) for row in conn.execute(
                    select(ALERTS).where(ALERTS.c.case_id == case.id).order_by(ALERTS.c.id))],
                "notifications": [dict(row._mapping) for row in conn.execute(
                    select(OUTBOX).where(OUTBOX.c.case_id == case.id)
                    .order_by(OUTBOX.c.id))],
                "audit": [e.to_json() for e in access.audit_entries(case_ref=ref)],
            }

    def set_hold(self, ref: str, actor: str, reason: str | None,
                 workflow: str | None = None, command: str | None = None) -> None:
        """Place (reason given) or lift (None) a legal hold."""
        engine = self.engine
        if reason is not None and not reason.strip():
            raise FieldError("reason", "a legal hold needs its reason",
                             cli="add --reason, e.g. --reason 'public inquiry'")
        action = "case.hold" if reason is not None else "case.release"
        with engine.unit(actor, action, case_ref=ref, workflow=workflow,
                         command=command) as unit:
            case = engine.find(unit, ref, workflow)
            require(unit.principal, [PARTNERSHIP_MANAGER], case.area, False,
                    f"{'place' if reason else 'lift'} a legal hold on case {ref}")
            unit.cases.set_hold(case.id, reason)
            unit.note(reason=reason)

    def retention_run(self, actor: str, dry_run: bool, command: str | None = None,
                      ) -> list[RetentionItem]:
        engine = self.engine
        today = london_date(engine.clock.now())

        with engine.unit(actor, "retention.run", command=command) as unit:
            unit.require()
            store = unit.cases
            due: list[RetentionItem] = []
            for case in store.all_cases():
                definition = engine.definition(store, case.workflow, case.workflow_version)
                policy = definition.retention
                personal = sorted(f for f in definition.personal_fields() if case.data.get(f))
                if policy is None or not personal or case.erased_at is not None:
                    continue
                anchor_text = case.data.get(policy.from_field) if policy.from_field else None
                anchor = (dt.date.fromisoformat(anchor_text) if anchor_text
                          else london_date(case.closed_at) if case.closed_at else None)
                if anchor is None:
                    continue
                expired_on = add_months(anchor, 12 * policy.years)
                if expired_on > today:
                    continue
                item = RetentionItem(case.ref, case.workflow, expired_on, tuple(personal),
                                     case.legal_hold is not None)
                due.append(item)
                if dry_run or item.held:
                    continue
                now = engine.clock.now()
                kept = {k: v for k, v in case.data.items() if k not in personal}
                store.erase(case.id, kept, now)
                store.add_event(case_id=case.id, seq=case.version + 1, at=now, actor=actor,
                                trigger="erase_personal", from_state=case.state,
                                to_state=case.state,
                                changes={f: [PERSONAL_MARK, None] for f in personal},
                                note=f"retention: {policy.years} years from "
                                     f"{policy.from_field or 'closure'}",
                                command=unit.command)
                unit.note(erased=[{"case": case.ref, "fields": list(personal)}])
                unit.touch(case.ref, case.workflow)
            unit.note(dry_run=dry_run, expired=len(due), held=sum(1 for i in due if i.held))
            return due
