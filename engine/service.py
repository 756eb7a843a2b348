"""The Engine: every command is one transaction over cases, their events and deadlines.

A fire re-reads the case, checks its version, runs the transition on the workflow version the
case was opened on, appends an event and applies the deadline plan; the case row's UPDATE
carries ``WHERE version = :seen`` so a concurrent change makes it fail cleanly, writing
nothing. The engine never reads the wall clock (a :class:`Clock` is injected) and never
prints.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence

from sqlalchemy import and_, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

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
    UsageError,
)
from engine.fields import parse_values
from engine.loader import WorkflowRegistry, load_text
from engine.machine import CaseAdapter, MachineError, WorkflowMachine, guard_passes
from engine.store.database import Database
from engine.store.models import Case, CaseEvent, Deadline, WorkflowVersion
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
    def definition(self, session: Session, name: str, version: int) -> WorkflowDef:
        """The definition a case runs on: the stored text of its version, parsed once."""
        key = (name, version)
        if key not in self._definitions:
            current = self.registry.get(name) if name in self.registry.names() else None
            row = session.get(WorkflowVersion, key)
            if current is not None and current.version == version and (
                    row is None or row.digest == current.digest):
                self._definitions[key] = current
            elif row is not None:
                self._definitions[key] = load_text(row.source_text,
                                                   f"{name} version {version} (stored)")
            else:
                from engine.errors import UnknownWorkflowError

                raise UnknownWorkflowError(name, self.registry.names(), version)
        return self._definitions[key]

    def machine(self, definition: WorkflowDef) -> WorkflowMachine:
        key = (definition.name, definition.version)
        if key not in self._machines:
            self._machines[key] = WorkflowMachine(definition)
        return self._machines[key]

    def _register(self, session: Session, definition: WorkflowDef) -> None:
        """Record the definition text a new case will run on, once per version."""
        key = (definition.name, definition.version, definition.digest)
        if key in self._registered:
            return
        row = session.get(WorkflowVersion, (definition.name, definition.version))
        if row is None:
            with open(definition.source, encoding="utf-8") as handle:
                text = handle.read()
            try:
                with session.begin_nested():
                    session.add(WorkflowVersion(
                        name=definition.name, version=definition.version,
                        digest=definition.digest, source_text=text,
                        registered_at=self.clock.now()))
            except IntegrityError:  # another process registered it first: compare below
                row = session.get(WorkflowVersion, (definition.name, definition.version))
        if row is not None and row.digest != definition.digest:
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
        with self.db.write() as session:
            return self.open_in(session, definition, ref, data, actor, note, command)

    def open_in(self, session: Session, definition: WorkflowDef, ref: str,
                data: dict[str, str], actor: str, note: str | None = None,
                command: str | None = None) -> CaseView:
        """Open a case inside the caller's transaction (``data`` already parsed)."""
        now = self.clock.now()
        workflow = definition.name
        self._register(session, definition)
        exists = session.scalar(select(Case.id).where(  # type: ignore[call-overload]
            Case.workflow == workflow, Case.ref == ref))
        if exists is not None:
            raise DuplicateCaseError(ref, workflow)
        state = definition.initial_state
        case = Case(ref=ref, workflow=workflow, workflow_version=definition.version,
                    state=state, data=dict(data), version=1, opened_at=now, updated_at=now)
        session.add(case)
        try:
            session.flush()
        except IntegrityError:
            raise DuplicateCaseError(ref, workflow) from None
        assert case.id is not None
        ops = plan_deadlines(definition, OPEN_TRIGGER, state, state, {}, data, [], now,
                             self.calendar)
        self._apply(session, case.id, ops, now)
        session.add(CaseEvent(
            case_id=case.id, seq=1, at=now, actor=actor, trigger=OPEN_TRIGGER,
            from_state=None, to_state=state, changes={k: [None, v] for k, v in data.items()},
            note=note, command=command))
        return self._view(session, case, definition)

    def fire(self, ref: str, trigger: str, values: Mapping[str, str], actor: str,
             note: str | None = None, workflow: str | None = None,
             expected_version: int | None = None, command: str | None = None) -> CaseView:
        with self.db.write() as session:
            return self.fire_in(session, ref, trigger, values, actor, note, workflow,
                                expected_version, command)

    def fire_in(self, session: Session, ref: str, trigger: str, values: Mapping[str, str],
                actor: str, note: str | None = None, workflow: str | None = None,
                expected_version: int | None = None, command: str | None = None) -> CaseView:
        """Fire inside the caller's transaction: several fires, on several cases, commit or
        roll back together (recording a MACE meeting updates each child's case with it)."""
        now = self.clock.now()
        case = self._find(session, ref, workflow)
        if expected_version is not None and case.version != expected_version:
            raise ConcurrencyError(ref, expected_version, case.version)
        definition = self.definition(session, case.workflow, case.workflow_version)
        transition = definition.transition_for(case.state, trigger)
        if transition is None:
            raise TransitionNotAllowedError(ref, trigger, case.state,
                                            self.machine(definition).allowed(case.state))
        parsed = parse_values(definition.fields, values, transition.requires,
                              transition.accepts, f"'{trigger}'")
        new_data = {**case.data, **parsed}
        adapter = CaseAdapter(state=case.state, data=new_data)
        try:
            moved = self.machine(definition).fire(adapter, trigger)
        except MachineError:
            raise TransitionNotAllowedError(
                ref, trigger, case.state,
                self.machine(definition).allowed(case.state)) from None
        if not moved:
            guard = definition.guards[adapter.failed_guard or transition.guards[0]]
            raise GuardFailedError(ref, trigger, guard.name, guard.description)
        entered = None if transition.internal else adapter.state
        return self._commit(session, case, definition, trigger, adapter.state, entered,
                            new_data, actor, note, command, now)

    def correct(self, ref: str, values: Mapping[str, str], actor: str, note: str,
                workflow: str | None = None, command: str | None = None) -> CaseView:
        """Correct recorded fields (a wrong date, say); deadlines counted from them move."""
        if not note or not note.strip():
            raise UsageError("a correction needs a reason: add --note '...'")
        if not values:
            raise UsageError("nothing to correct: add --set FIELD=VALUE")
        now = self.clock.now()
        with self.db.write() as session:
            case = self._find(session, ref, workflow)
            definition = self.definition(session, case.workflow, case.workflow_version)
            settable = [name for name in definition.fields if name in case.data]
            parsed = parse_values(definition.fields, values, (), settable,
                                  f"correcting case '{ref}' (only fields already recorded)")
            new_data = {**case.data, **parsed}
            if new_data == case.data:
                raise UsageError("those are the values already recorded; nothing changed")
            return self._commit(session, case, definition, CORRECT_TRIGGER, case.state, None,
                                new_data, actor, note, command, now)

    def _commit(self, session: Session, case: Case, definition: WorkflowDef, trigger: str,
                to_state: str, entered: str | None, new_data: dict[str, str], actor: str,
                note: str | None, command: str | None, now: dt.datetime) -> CaseView:
        assert case.id is not None
        seen = case.version
        final = definition.is_final(to_state)
        result = session.execute(
            update(Case).where(and_(Case.id == case.id, Case.version == seen))  # type: ignore[arg-type]
            .values(state=to_state, data=new_data, version=seen + 1, updated_at=now,
                    closed_at=now if final else None)
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ConcurrencyError(case.ref, seen)
        rows = list(session.scalars(select(Deadline).where(
            Deadline.case_id == case.id)))  # type: ignore[arg-type]
        snapshots = [DeadlineSnapshot(d.id, d.name, d.cycle, d.status, d.anchor_value,  # type: ignore[arg-type]
                                      d.due_at, d.met_at, d.key) for d in rows]
        ops = plan_deadlines(definition, trigger, entered, to_state, case.data, new_data,
                             snapshots, now, self.calendar)
        self._apply(session, case.id, ops, now, {d.id: d for d in rows})  # type: ignore[misc]
        changes = {k: [case.data.get(k), v] for k, v in new_data.items()
                   if case.data.get(k) != v}
        session.add(CaseEvent(case_id=case.id, seq=seen + 1, at=now, actor=actor,
                              trigger=trigger, from_state=case.state, to_state=to_state,
                              changes=changes, note=note, command=command))
        case.state, case.data, case.version, case.updated_at = to_state, new_data, seen + 1, now
        session.flush()
        return self._view(session, case, definition)

    def _apply(self, session: Session, case_id: int, ops: Sequence[DeadlineOp],
               now: dt.datetime, rows: Mapping[int, Deadline] | None = None) -> None:
        rows = rows or {}
        for op in ops:
            if isinstance(op, StartDeadline):
                session.add(Deadline(
                    case_id=case_id, name=op.name, cycle=op.cycle, rule=op.rule,
                    anchor_field=op.anchor_field, anchor_value=op.anchor_value,
                    due_at=op.due.at, due_day=op.due.day, status=OPEN, owner_role=op.owner,
                    started_at=now, key=op.key))
                continue
            row = rows[op.id]
            if isinstance(op, CloseDeadline):
                row.status, row.met_at, row.closed_at = op.status, op.met_at, now
            elif isinstance(op, Reschedule):
                row.anchor_value, row.due_at, row.due_day = op.anchor_value, op.due.at, op.due.day
                row.status, row.met_at = op.status, op.met_at
                if op.rule is not None:
                    row.rule = op.rule
            session.add(row)

    # -- queries -----------------------------------------------------------------------
    def case(self, ref: str, workflow: str | None = None) -> CaseView:
        with self.db.read() as session:
            case = self._find(session, ref, workflow)
            definition = self.definition(session, case.workflow, case.workflow_version)
            return self._view(session, case, definition)

    def history(self, ref: str, workflow: str | None = None) -> list[EventView]:
        with self.db.read() as session:
            case = self._find(session, ref, workflow)
            events = session.scalars(select(CaseEvent).where(
                CaseEvent.case_id == case.id).order_by(CaseEvent.seq))  # type: ignore[arg-type]
            return [EventView(e.seq, e.at, e.actor, e.trigger, e.from_state, e.to_state,
                              dict(e.changes), e.note) for e in events]

    def cases(self, workflow: str | None = None, state: str | None = None,
              overdue: bool = False) -> list[CaseSummary]:
        now = self.clock.now()
        with self.db.read() as session:
            query = select(Case).order_by(Case.workflow, Case.ref)
            if workflow:
                self.registry.get(workflow)
                query = query.where(Case.workflow == workflow)  # type: ignore[arg-type]
            if state:
                query = query.where(Case.state == state)  # type: ignore[arg-type]
            if overdue:
                late = select(Deadline.case_id).where(  # type: ignore[call-overload]
                    Deadline.status == OPEN, Deadline.due_at <= now)
                query = query.where(Case.id.in_(late))  # type: ignore[union-attr]
            found = list(session.scalars(query))
            open_rows: dict[int, list[Deadline]] = {}
            if found:
                for d in session.scalars(select(Deadline).where(
                        Deadline.status == OPEN,  # type: ignore[arg-type]
                        Deadline.case_id.in_([c.id for c in found]))  # type: ignore[attr-defined]
                        .order_by(Deadline.due_at)):  # type: ignore[arg-type]
                    open_rows.setdefault(d.case_id, []).append(d)
            out = []
            for c in found:
                pending = [self._deadline_view(d, now) for d in open_rows.get(c.id or 0, [])]
                out.append(CaseSummary(
                    c.ref, c.workflow, c.state, c.version, c.updated_at,
                    pending[0] if pending else None,
                    sum(1 for d in pending if d.status != OPEN)))
            return out

    def find_in(self, session: Session, ref: str, workflow: str | None = None) -> Case:
        """The case row ``ref`` inside the caller's transaction."""
        return self._find(session, ref, workflow)

    def case_in(self, session: Session, ref: str, workflow: str | None = None) -> CaseView:
        """Case ``ref`` as the caller's transaction sees it (after its own fires)."""
        case = self._find(session, ref, workflow)
        return self._view(session, case,
                          self.definition(session, case.workflow, case.workflow_version))

    # -- helpers -----------------------------------------------------------------------
    def _find(self, session: Session, ref: str, workflow: str | None) -> Case:
        query = select(Case).where(Case.ref == ref)  # type: ignore[arg-type]
        if workflow:
            self.registry.get(workflow)
            query = query.where(Case.workflow == workflow)  # type: ignore[arg-type]
        found = list(session.scalars(query))
        if not found:
            raise CaseNotFoundError(ref, workflow)
        if len(found) > 1:
            raise UsageError(f"'{ref}' names cases in several workflows "
                             f"({', '.join(sorted(c.workflow for c in found))}): "
                             "add --workflow NAME")
        return found[0]

    def _deadline_view(self, d: Deadline, now: dt.datetime) -> DeadlineView:
        return DeadlineView(d.name, d.cycle, d.rule, d.due_at, d.due_day,
                            effective_status(d.status, d.due_at, now), d.met_at,
                            d.owner_role, d.started_at, d.key)

    def _view(self, session: Session, case: Case, definition: WorkflowDef) -> CaseView:
        now = self.clock.now()
        rows = session.scalars(select(Deadline).where(
            Deadline.case_id == case.id)  # type: ignore[arg-type]
            .order_by(Deadline.started_at, Deadline.id))  # type: ignore[arg-type]
        triggers = tuple(
            TriggerInfo(t.trigger, t.dest, t.requires, t.accepts, t.description)
            for t in definition.transitions_from(case.state)
            if all(guard_passes(definition.guards[g], case.data) for g in t.guards))
        state = definition.states[case.state]
        return CaseView(
            ref=case.ref, workflow=case.workflow, workflow_version=case.workflow_version,
            state=case.state, state_description=state.description, final=state.final,
            data=dict(case.data), version=case.version, opened_at=case.opened_at,
            updated_at=case.updated_at, available_triggers=triggers,
            deadlines=tuple(self._deadline_view(d, now) for d in rows))

