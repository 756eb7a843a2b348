"""The Engine: every command is one transaction over cases, their events and deadlines.

A fire re-reads the case, checks its version, runs the transition on the workflow version the
case was opened on, appends an event and applies the deadline plan; the case row's UPDATE
carries ``WHERE version = :seen`` so a concurrent change makes it fail cleanly, writing
nothing. The engine never reads the wall clock (a :class:`Clock` is injected) and never
prints. SQL lives in :mod:`engine.store.cases`; deadline rules in :mod:`engine.deadlines`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select

from engine.calendar import WorkingCalendar
from engine.clock import Clock
from engine.deadlines import (
    OPEN,
    CloseDeadline,
    DeadlineOp,
    DeadlineSnapshot,
    Reschedule,
    StartDeadline,
    effective_status,
    plan_deadlines,
)
from engine.definition import CORRECT_TRIGGER, OPEN_TRIGGER, WorkflowDef
from engine.errors import (
    CaseNotFoundError,
    ConcurrencyError,
    DefinitionError,
    DuplicateCaseError,
    GuardFailedError,
    Problem,
    TransitionNotAllowedError,
    UnknownWorkflowError,
    UsageError,
)
from engine.fields import parse_values
from engine.loader import WorkflowRegistry, load_text
from engine.machine import CaseAdapter, MachineError, WorkflowMachine, guard_passes
from engine.store.cases import CASES, DEADLINES, CaseRecord, CaseStore, DeadlineRecord
from engine.store.database import Database
from engine.views import CaseSummary, CaseView, DeadlineView, EventView, TriggerInfo

REF_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")


class Engine:
    def __init__(self, db: Database, registry: WorkflowRegistry, clock: Clock,
                 calendar: WorkingCalendar) -> None:
        self.db = db
        self.registry = registry
        self.clock = clock
        self.calendar = calendar
        self._definitions: dict[tuple[str, int], WorkflowDef] = {}
        self._machines: dict[tuple[str, int], WorkflowMachine] = {}
        self._registered: set[tuple[str, int, str]] = set()

    # -- definitions -------------------------------------------------------------------
    def definition(self, store: CaseStore, name: str, version: int) -> WorkflowDef:
        """The definition a case runs on: the stored text of its version, parsed once."""
        key = (name, version)
        if key not in self._definitions:
            current = self.registry.get(name) if name in self.registry.names() else None
            stored = store.workflow_version(name, version)
            if current is not None and current.version == version and (
                    stored is None or stored[0] == current.digest):
                self._definitions[key] = current
            elif stored is not None:
                self._definitions[key] = load_text(stored[1], f"{name} version {version} "
                                                   "(stored)")
            else:
                raise UnknownWorkflowError(name, self.registry.names(), version)
        return self._definitions[key]

    def machine(self, definition: WorkflowDef) -> WorkflowMachine:
        key = (definition.name, definition.version)
        if key not in self._machines:
            self._machines[key] = WorkflowMachine(definition)
        return self._machines[key]

    def _register(self, store: CaseStore, definition: WorkflowDef) -> None:
        """Record the definition text new cases run on, once per version."""
        key = (definition.name, definition.version, definition.digest)
        if key in self._registered:
            return
        stored = store.workflow_version(definition.name, definition.version)
        if stored is None:
            with open(definition.source, encoding="utf-8") as handle:
                text = handle.read()
            if not store.record_workflow_version(definition.name, definition.version,
                                                 definition.digest, text, self.clock.now()):
                stored = store.workflow_version(definition.name, definition.version)
        if stored is not None and stored[0] != definition.digest:
            raise DefinitionError([Problem(
                definition.source, "version",
                f"{definition.name} version {definition.version} is already in use with "
                "different content", "bump 'version' whenever the file changes, so cases "
                "already open keep the definition they started on")])
        self._definitions[(definition.name, definition.version)] = definition
        self._registered.add(key)

    # -- commands ----------------------------------------------------------------------
    def open_case(self, workflow: str, ref: str, values: Mapping[str, str], actor: str,
                  note: str | None = None, command: str | None = None) -> CaseView:
        definition = self.registry.get(workflow)
        if not REF_PATTERN.match(ref):
            raise UsageError(f"'{ref}' is not a usable case reference: use letters, digits "
                             "and . _ / - (at most 64 characters)")
        data = parse_values(definition.fields, values, definition.open_requires,
                            definition.open_accepts, f"opening a {workflow} case")
        now = self.clock.now()
        state = definition.initial_state
        with self.db.begin() as conn:
            store = CaseStore(conn)
            self._register(store, definition)
            case_id = store.insert_case(ref, workflow, definition.version, state, data, now)
            if case_id is None:
                raise DuplicateCaseError(ref, workflow)
            case = CaseRecord(case_id, ref, workflow, definition.version, state, {}, 0, now,
                              now)
            ops = plan_deadlines(definition, OPEN_TRIGGER, state, state, {}, data, [], now,
                                 self.calendar)
            deadlines = self._apply(store, case_id, ops, [], now)
            store.add_event(case_id=case_id, seq=1, at=now, actor=actor, trigger=OPEN_TRIGGER,
                            from_state=None, to_state=state,
                            changes={k: [None, v] for k, v in data.items()}, note=note,
                            command=command)
            return self._view(definition, case, state, data, 1, now, deadlines, now)

    def fire(self, ref: str, trigger: str, values: Mapping[str, str], actor: str,
             note: str | None = None, workflow: str | None = None,
             expected_version: int | None = None, command: str | None = None) -> CaseView:
        now = self.clock.now()
        with self.db.begin() as conn:
            store = CaseStore(conn)
            case, rows = self._find_with_deadlines(store, ref, workflow)
            if expected_version is not None and case.version != expected_version:
                raise ConcurrencyError(ref, expected_version, case.version)
            definition = self.definition(store, case.workflow, case.workflow_version)
            machine = self.machine(definition)
            transition = definition.transition_for(case.state, trigger)
            if transition is None:
                raise TransitionNotAllowedError(ref, trigger, case.state,
                                                machine.allowed(case.state))
            parsed = parse_values(definition.fields, values, transition.requires,
                                  transition.accepts, f"'{trigger}'")
            if not parsed and transition.accepts and not transition.requires:
                raise UsageError(f"'{trigger}' records something: add at least one of "
                                 + ", ".join(f"--set {name}=..." for name in transition.accepts))
            adapter = CaseAdapter(state=case.state, data={**case.data, **parsed})
            try:
                moved = machine.fire(adapter, trigger)
            except MachineError:
                raise TransitionNotAllowedError(ref, trigger, case.state,
                                                machine.allowed(case.state)) from None
            if not moved:
                guard = definition.guards[adapter.failed_guard or transition.guards[0]]
                raise GuardFailedError(ref, trigger, guard.name, guard.description)
            entered = None if transition.internal else adapter.state
            return self._commit(store, case, rows, definition, trigger, adapter.state,
                                entered, dict(adapter.data), actor, note, command, now)

    def correct(self, ref: str, values: Mapping[str, str], actor: str, note: str,
                workflow: str | None = None, command: str | None = None) -> CaseView:
        """Correct recorded fields (a wrong date, say); deadlines counted from them move."""
        if not note or not note.strip():
            raise UsageError("a correction needs a reason: add --note '...'")
        if not values:
            raise UsageError("nothing to correct: add --set FIELD=VALUE")
        now = self.clock.now()
        with self.db.begin() as conn:
            store = CaseStore(conn)
            case, rows = self._find_with_deadlines(store, ref, workflow)
            definition = self.definition(store, case.workflow, case.workflow_version)
            settable = [name for name in definition.fields if name in case.data]
            parsed = parse_values(definition.fields, values, (), settable,
                                  f"correcting case '{ref}' (only fields already recorded)")
            new_data = {**case.data, **parsed}
            if new_data == case.data:
                raise UsageError("those are the values already recorded; nothing changed")
            return self._commit(store, case, rows, definition, CORRECT_TRIGGER, case.state,
                                None, new_data, actor, note, command, now)

    def _commit(self, store: CaseStore, case: CaseRecord, rows: Sequence[DeadlineRecord],
                definition: WorkflowDef, trigger: str, to_state: str, entered: str | None,
                new_data: dict[str, str], actor: str, note: str | None, command: str | None,
                now: dt.datetime) -> CaseView:
        final = definition.is_final(to_state)
        # The version check makes the deadlines read with the case current: had anyone
        # changed the case (and so its deadlines) since, this UPDATE would match no row.
        if not store.bump_case(case.id, case.version, to_state, new_data, now, final):
            raise ConcurrencyError(case.ref, case.version)
        snapshots = [DeadlineSnapshot(d.id, d.name, d.cycle, d.status, d.anchor_value,
                                      d.due_at, d.met_at) for d in rows]
        ops = plan_deadlines(definition, trigger, entered, to_state, case.data, new_data,
                             snapshots, now, self.calendar)
        deadlines = self._apply(store, case.id, ops, rows, now)
        changes = {k: [case.data.get(k), v] for k, v in new_data.items()
                   if case.data.get(k) != v}
        store.add_event(case_id=case.id, seq=case.version + 1, at=now, actor=actor,
                        trigger=trigger, from_state=case.state, to_state=to_state,
                        changes=changes, note=note, command=command)
        return self._view(definition, case, to_state, new_data, case.version + 1, now,
                          deadlines, now)

    def _apply(self, store: CaseStore, case_id: int, ops: Sequence[DeadlineOp],
               rows: Sequence[DeadlineRecord], now: dt.datetime) -> list[DeadlineRecord]:
        """Write the deadline operations; return the case's deadlines as they now are."""
        current = {d.id: d for d in rows}
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for op in ops:
            if isinstance(op, StartDeadline):
                inserts.append({
                    "case_id": case_id, "name": op.name, "cycle": op.cycle, "rule": op.rule,
                    "anchor_field": op.anchor_field, "anchor_value": op.anchor_value,
                    "due_at": op.due.at, "due_day": op.due.day, "status": OPEN,
                    "owner_role": op.owner, "started_at": now, "met_at": None,
                    "closed_at": None})
                continue
            old = current[op.id]
            if isinstance(op, CloseDeadline):
                new = DeadlineRecord(old.id, old.case_id, old.name, old.cycle, old.rule,
                                     old.anchor_value, old.due_at, old.due_day, op.status,
                                     old.owner_role, old.started_at, op.met_at)
                closed_at: dt.datetime | None = now
            else:
                assert isinstance(op, Reschedule)
                new = DeadlineRecord(old.id, old.case_id, old.name, old.cycle, old.rule,
                                     op.anchor_value, op.due.at, op.due.day, op.status,
                                     old.owner_role, old.started_at, op.met_at)
                closed_at = None if op.status == OPEN else now
            current[op.id] = new
            updates.append({"b_id": new.id, "anchor_value": new.anchor_value,
                            "due_at": new.due_at, "due_day": new.due_day,
                            "status": new.status, "met_at": new.met_at,
                            "closed_at": closed_at})
        store.update_deadlines(updates)
        store.insert_deadlines(inserts)
        started = [DeadlineRecord(0, case_id, r["name"], r["cycle"], r["rule"],
                                  r["anchor_value"], r["due_at"], r["due_day"], OPEN,
                                  r["owner_role"], now, None) for r in inserts]
        return list(current.values()) + started

    # -- queries -----------------------------------------------------------------------
    def case(self, ref: str, workflow: str | None = None) -> CaseView:
        with self.db.begin_read() as conn:
            store = CaseStore(conn)
            case = self._find(store, ref, workflow)
            definition = self.definition(store, case.workflow, case.workflow_version)
            return self._view(definition, case, case.state, case.data, case.version,
                              case.updated_at, store.deadlines(case.id), self.clock.now())

    def history(self, ref: str, workflow: str | None = None) -> list[EventView]:
        with self.db.begin_read() as conn:
            store = CaseStore(conn)
            case = self._find(store, ref, workflow)
            return [EventView(e.seq, e.at, e.actor, e.trigger, e.from_state, e.to_state,
                              dict(e.changes), e.note) for e in store.events(case.id)]

    def cases(self, workflow: str | None = None, state: str | None = None,
              overdue: bool = False) -> list[CaseSummary]:
        now = self.clock.now()
        query = select(CASES.c.id, CASES.c.ref, CASES.c.workflow, CASES.c.state,
                       CASES.c.version, CASES.c.updated_at).order_by(CASES.c.workflow,
                                                                      CASES.c.ref)
        if workflow:
            self.registry.get(workflow)
            query = query.where(CASES.c.workflow == workflow)
        if state:
            query = query.where(CASES.c.state == state)
        if overdue:
            query = query.where(CASES.c.id.in_(select(DEADLINES.c.case_id).where(
                DEADLINES.c.status == OPEN, DEADLINES.c.due_at <= now)))
        with self.db.begin_read() as conn:
            found = list(conn.execute(query))
            pending: dict[int, list[DeadlineView]] = {}
            if found:
                rows = conn.execute(
                    select(*(DEADLINES.c[n] for n in DeadlineRecord.__dataclass_fields__))
                    .where(DEADLINES.c.status == OPEN,
                           DEADLINES.c.case_id.in_([c.id for c in found]))
                    .order_by(DEADLINES.c.due_at))
                for row in rows:
                    record = DeadlineRecord(*row)
                    pending.setdefault(record.case_id, []).append(
                        self._deadline_view(record, now))
        out = []
        for c in found:
            mine = pending.get(c.id, [])
            out.append(CaseSummary(c.ref, c.workflow, c.state, c.version, c.updated_at,
                                   mine[0] if mine else None,
                                   sum(1 for d in mine if d.status != OPEN)))
        return out

    # -- helpers -----------------------------------------------------------------------
    def _find_with_deadlines(self, store: CaseStore, ref: str, workflow: str | None,
                             ) -> tuple[CaseRecord, list[DeadlineRecord]]:
        if workflow:
            self.registry.get(workflow)
        found = store.find_with_deadlines(ref, workflow)
        if not found:
            raise CaseNotFoundError(ref, workflow)
        if len(found) > 1:
            raise UsageError(f"'{ref}' names cases in several workflows "
                             f"({', '.join(sorted(c.workflow for c, _ in found))}): "
                             "add --workflow NAME")
        return found[0]

    def _find(self, store: CaseStore, ref: str, workflow: str | None) -> CaseRecord:
        if workflow:
            self.registry.get(workflow)
        found = store.find(ref, workflow)
        if not found:
            raise CaseNotFoundError(ref, workflow)
        if len(found) > 1:
            raise UsageError(f"'{ref}' names cases in several workflows "
                             f"({', '.join(sorted(c.workflow for c in found))}): "
                             "add --workflow NAME")
        return found[0]

    @staticmethod
    def _deadline_view(d: DeadlineRecord, now: dt.datetime) -> DeadlineView:
        return DeadlineView(d.name, d.cycle, d.rule, d.due_at, d.due_day,
                            effective_status(d.status, d.due_at, now), d.met_at,
                            d.owner_role, d.started_at)

    def _view(self, definition: WorkflowDef, case: CaseRecord, state: str,
              data: dict[str, str], version: int, updated_at: dt.datetime,
              deadlines: Sequence[DeadlineRecord], now: dt.datetime) -> CaseView:
        triggers = tuple(
            TriggerInfo(t.trigger, t.dest, t.requires, t.accepts, t.description)
            for t in definition.transitions_from(state)
            if all(guard_passes(definition.guards[g], data) for g in t.guards))
        state_def = definition.states[state]
        ordered = sorted(deadlines, key=lambda d: (d.started_at, d.id or 1 << 62))
        return CaseView(
            ref=case.ref, workflow=case.workflow, workflow_version=case.workflow_version,
            state=state, state_description=state_def.description, final=state_def.final,
            data=dict(data), version=version, opened_at=case.opened_at, updated_at=updated_at,
            available_triggers=triggers,
            deadlines=tuple(self._deadline_view(d, now) for d in ordered))
