"""SQL for cases, their events and deadlines, on one Core connection (one transaction).

This is the engine's hot path, so it uses prepared Core statements (compiled once, cached by
SQLAlchemy) rather than ORM sessions; the tables are the SQLModel ones. Knows no workflow
logic: it reads and writes rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Connection, Table, and_, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from engine.core.store.driver import Hot
from engine.core.store.models import Case, CaseEvent, Deadline, WorkflowVersion

CASES: Table = Case.__table__  # type: ignore[attr-defined]
EVENTS: Table = CaseEvent.__table__  # type: ignore[attr-defined]
DEADLINES: Table = Deadline.__table__  # type: ignore[attr-defined]
VERSIONS: Table = WorkflowVersion.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class CaseRecord:
    id: int
    ref: str
    workflow: str
    workflow_version: int
    state: str
    data: dict[str, str]
    version: int
    opened_at: dt.datetime
    updated_at: dt.datetime
    area: str | None = None
    closed_at: dt.datetime | None = None
    legal_hold: str | None = None
    erased_at: dt.datetime | None = None


@dataclass(frozen=True)
class DeadlineRecord:
    id: int
    case_id: int
    name: str
    cycle: int
    rule: str
    anchor_value: str
    due_at: dt.datetime
    due_day: dt.date | None
    status: str
    owner_role: str | None
    started_at: dt.datetime
    met_at: dt.datetime | None
    key: str | None = None


class EventRow(NamedTuple):
    """A case_event row (its columns in table order)."""

    id: int
    case_id: int
    seq: int
    at: dt.datetime
    actor: str
    trigger: str
    from_state: str | None
    to_state: str
    changes: dict[str, Any]
    note: str | None
    command: str | None


_CASE_COLUMNS = [CASES.c[name] for name in CaseRecord.__dataclass_fields__]
_DEADLINE_COLUMNS = [DEADLINES.c[name] for name in DeadlineRecord.__dataclass_fields__]

_FIND_BY_REF = select(*_CASE_COLUMNS).where(CASES.c.ref == bindparam("ref"))
_FIND_BY_REF_IN = _FIND_BY_REF.where(CASES.c.workflow == bindparam("workflow"))
_WITH_DEADLINES = (
    select(*_CASE_COLUMNS, *_DEADLINE_COLUMNS)
    .outerjoin(DEADLINES, DEADLINES.c.case_id == CASES.c.id)
    .where(CASES.c.ref == bindparam("ref"))
    .order_by(CASES.c.id, DEADLINES.c.started_at, DEADLINES.c.id)
)
_WITH_DEADLINES_IN = _WITH_DEADLINES.where(CASES.c.workflow == bindparam("workflow"))
_BUMP_CASE = (
    update(CASES)
    .where(and_(CASES.c.id == bindparam("b_id"), CASES.c.version == bindparam("b_seen")))
    .values(state=bindparam("state"), data=bindparam("data"), version=bindparam("version"),
            updated_at=bindparam("updated_at"), closed_at=bindparam("closed_at"))
)
_DEADLINES_OF = (select(*_DEADLINE_COLUMNS)
                 .where(DEADLINES.c.case_id == bindparam("case_id"))
                 .order_by(DEADLINES.c.started_at, DEADLINES.c.id))
_INSERT_DEADLINE = insert(DEADLINES)
_UPDATE_DEADLINE = (
    update(DEADLINES).where(DEADLINES.c.id == bindparam("b_id"))
    .values(rule=bindparam("rule"), anchor_value=bindparam("anchor_value"),
            due_at=bindparam("due_at"),
            due_day=bindparam("due_day"), status=bindparam("status"),
            met_at=bindparam("met_at"), closed_at=bindparam("closed_at"),
            next_alert_at=bindparam("next_alert_at"))
)
_INSERT_EVENT = insert(EVENTS)
_INSERT_CASE = insert(CASES)
_EVENT_KEYS = ("case_id", "seq", "at", "actor", "trigger", "from_state", "to_state", "changes",
               "note", "command")
_DEADLINE_KEYS = ("case_id", "name", "cycle", "rule", "anchor_field", "anchor_value", "due_at",
                  "due_day", "status", "owner_role", "started_at", "met_at", "closed_at", "key",
                  "next_alert_at")
_EVENTS_OF = (select(*(EVENTS.c[name] for name in EventRow._fields))
              .where(EVENTS.c.case_id == bindparam("case_id")).order_by(EVENTS.c.seq))
_DEADLINE_KEY_SET, _EVENT_KEY_SET = frozenset(_DEADLINE_KEYS), frozenset(_EVENT_KEYS)
# The fire's statements, on the driver's cursor (see engine.core.store.driver).
_HOT_EVENTS_OF = Hot(_EVENTS_OF)
_HOT_WITH_DEADLINES = Hot(_WITH_DEADLINES)
_HOT_WITH_DEADLINES_IN = Hot(_WITH_DEADLINES_IN)
_HOT_BUMP_CASE = Hot(_BUMP_CASE)
_HOT_INSERT_DEADLINE = Hot(_INSERT_DEADLINE, _DEADLINE_KEYS)
_HOT_UPDATE_DEADLINE = Hot(_UPDATE_DEADLINE)
_HOT_INSERT_EVENT = Hot(_INSERT_EVENT, _EVENT_KEYS)
_HOT_INSERT_CASE = Hot(_INSERT_CASE, ("ref", "workflow", "workflow_version", "state", "data",
                                      "version", "opened_at", "updated_at", "closed_at",
                                      "area"))


class CaseStore:
    """Row access for one transaction."""

    def __init__(self, connection: Connection) -> None:
        self.conn = connection

    # -- cases -------------------------------------------------------------------------
    def find(self, ref: str, workflow: str | None = None) -> list[CaseRecord]:
        if workflow is None:
            rows = self.conn.execute(_FIND_BY_REF, {"ref": ref})
        else:
            rows = self.conn.execute(_FIND_BY_REF_IN, {"ref": ref, "workflow": workflow})
        return [CaseRecord(*row) for row in rows]

    def find_with_deadlines(self, ref: str, workflow: str | None = None,
                            ) -> list[tuple[CaseRecord, list[DeadlineRecord]]]:
        """Cases with that reference and each one's deadlines, in one round trip."""
        width = len(_CASE_COLUMNS)
        if workflow is None:
            rows = _HOT_WITH_DEADLINES.joined(self.conn, {"ref": ref}, width)
        else:
            rows = _HOT_WITH_DEADLINES_IN.joined(self.conn, {"ref": ref, "workflow": workflow},
                                                 width)
        found: dict[int, tuple[CaseRecord, list[DeadlineRecord]]] = {}
        for case, deadline in rows:
            case_id = case[0]
            if case_id not in found:
                found[case_id] = (CaseRecord(*case), [])
            if deadline[0] is not None:
                found[case_id][1].append(DeadlineRecord(*deadline))
        return list(found.values())

    def insert_case(self, ref: str, workflow: str, workflow_version: int, state: str,
                    data: dict[str, str], now: dt.datetime, area: str | None = None,
                    ) -> int | None:
        """The new case's id, or None if the reference is taken in that workflow."""
        return _HOT_INSERT_CASE.insert(self.conn, {
            "ref": ref, "workflow": workflow, "workflow_version": workflow_version,
            "state": state, "data": data, "version": 1, "opened_at": now, "updated_at": now,
            "closed_at": None, "area": area})

    def bump_case(self, case_id: int, seen: int, state: str, data: dict[str, str],
                  now: dt.datetime, closed: bool) -> bool:
        """Write the case's new state if it is still at version ``seen``."""
        return _HOT_BUMP_CASE.run(self.conn, {
            "b_id": case_id, "b_seen": seen, "state": state, "data": data,
            "version": seen + 1, "updated_at": now, "closed_at": now if closed else None}) == 1

    # -- deadlines ---------------------------------------------------------------------
    def deadlines(self, case_id: int) -> list[DeadlineRecord]:
        return [DeadlineRecord(*row) for row in self.conn.execute(
            _DEADLINES_OF, {"case_id": case_id})]

    def insert_deadlines(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows and all(r.keys() == _DEADLINE_KEY_SET for r in rows):
            _HOT_INSERT_DEADLINE.run_many(self.conn, rows)
        elif rows:
            self.conn.execute(_INSERT_DEADLINE, list(rows))

    def update_deadlines(self, rows: Sequence[dict[str, Any]]) -> None:
        _HOT_UPDATE_DEADLINE.run_many(self.conn, rows)

    # -- events ------------------------------------------------------------------------
    def add_event(self, **values: Any) -> None:
        if values.keys() == _EVENT_KEY_SET:
            _HOT_INSERT_EVENT.run(self.conn, values)
        else:
            self.conn.execute(_INSERT_EVENT, values)

    def all_cases(self, workflow: str | None = None) -> list[CaseRecord]:
        query = select(*_CASE_COLUMNS).order_by(CASES.c.workflow, CASES.c.ref)
        if workflow is not None:
            query = query.where(CASES.c.workflow == workflow)
        return [CaseRecord(*row) for row in self.conn.execute(query)]

    def set_hold(self, case_id: int, reason: str | None) -> None:
        self.conn.execute(update(CASES).where(CASES.c.id == case_id).values(legal_hold=reason))

    def erase(self, case_id: int, data: dict[str, str], now: dt.datetime) -> None:
        self.conn.execute(update(CASES).where(CASES.c.id == case_id).values(
            data=data, erased_at=now, version=CASES.c.version + 1, updated_at=now))

    def item_values(self, case_id: int, keyed_by: str, key: str, fields: Sequence[str],
                    triggers: Collection[str]) -> dict[str, str]:
        """The values ``fields`` had when one of ``triggers`` last set the case's
        ``keyed_by`` field to ``key`` (what a keyed deadline's item was: an action's
        summary, an episode's return time), replayed from the case's events. Events never
        hold personal values."""
        data: dict[str, Any] = {}
        found: dict[str, str] = {}
        for trigger, changes in self.conn.execute(
                select(EVENTS.c.trigger, EVENTS.c.changes).where(EVENTS.c.case_id == case_id)
                .order_by(EVENTS.c.seq)):
            for name, change in (changes or {}).items():
                if isinstance(change, list) and len(change) == 2:
                    data[name] = change[1]
            if trigger in triggers and data.get(keyed_by) == key:
                found = {f: str(data[f]) for f in fields if data.get(f) not in (None, "")}
        return found

    def event_rows(self, case_id: int) -> list[EventRow]:
        """The case's events in order, as named tuples (a case page reads them every time)."""
        return [EventRow(*row) for row in _HOT_EVENTS_OF.rows(self.conn, {"case_id": case_id})]

    def events(self, case_id: int) -> Iterable[Any]:
        return self.conn.execute(select(EVENTS).where(EVENTS.c.case_id == case_id)
                                 .order_by(EVENTS.c.seq))

    # -- workflow versions -------------------------------------------------------------
    def workflow_version(self, name: str, version: int) -> tuple[str, str] | None:
        """(digest, source text) of a recorded workflow version."""
        row = self.conn.execute(
            select(VERSIONS.c.digest, VERSIONS.c.source_text)
            .where(and_(VERSIONS.c.name == name, VERSIONS.c.version == version))).first()
        return (row[0], row[1]) if row else None

    def record_workflow_version(self, name: str, version: int, digest: str, text: str,
                                now: dt.datetime) -> bool:
        """False if that version was recorded meanwhile (by another process)."""
        try:
            with self.conn.begin_nested():
                self.conn.execute(insert(VERSIONS), {
                    "name": name, "version": version, "digest": digest, "source_text": text,
                    "registered_at": now})
        except IntegrityError:
            return False
        return True
