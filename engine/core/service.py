"""The Engine: every command is one transaction over cases, their events and deadlines.

A fire re-reads the case, checks its version, runs the transition on the workflow version the
case was opened on, appends an event and applies the deadline plan; the case row's UPDATE
carries ``WHERE version = :seen`` so a concurrent change makes it fail cleanly, writing
nothing. The engine never reads the wall clock (a :class:`Clock` is injected) and never
prints. SQL lives in :mod:`engine.core.store.cases`; deadline rules in :mod:`engine.core.deadlines`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, func, select

from engine.core import plan
from engine.core.access import (
    INVOLVEMENT_ROLES,
    needs_text,
    permits,
    permits_case,
    require,
)
from engine.core.alerts import done_rungs, next_alert_for
from engine.core.calendar import WorkingCalendar
from engine.core.clock import Clock
from engine.core.deadlines import (
    OPEN,
    CloseDeadline,
    DeadlineOp,
    DeadlineSnapshot,
    Reschedule,
    StartDeadline,
    effective_status,
    plan_deadlines,
)
from engine.core.definition import CORRECT_TRIGGER, OPEN_TRIGGER, GuardDef, WorkflowDef
from engine.core.errors import (
    CaseNotFoundError,
    ConcurrencyError,
    DefinitionError,
    DuplicateCaseError,
    FieldError,
    GuardFailedError,
    HiddenCaseError,
    PermissionDeniedError,
    Problem,
    TransitionNotAllowedError,
    UnknownWorkflowError,
    UsageError,
    did_you_mean,
    one_of,
)
from engine.core.fields import check_note, parse_values
from engine.core.gate import PERSONAL_MARK, RESTRICTED_MARK, Gate
from engine.core.machine import CaseAdapter, MachineError, WorkflowMachine, guard_passes
from engine.core.notices import CaseEventNotice, EventHook
from engine.core.people import registered
from engine.core.registry import WorkflowRegistry
from engine.core.routes import check_generic_route, owning_command
from engine.core.store.cases import CASES, DEADLINES, CaseRecord, CaseStore, DeadlineRecord
from engine.core.store.database import Database
from engine.core.store.links import linked_cases
from engine.core.store.visibility import readable as readable_cases
from engine.core.store.visibility import stored_versions
from engine.core.unit import Unit, Units
from engine.core.views import (
    CasePage,
    CaseSummary,
    CaseView,
    DeadlineView,
    EventView,
    LinkView,
    TriggerInfo,
)

T = TypeVar("T")


def _check_ref(ref: str) -> None:
    if not REF_PATTERN.match(ref):
        raise UsageError(f"'{ref}' is not a usable case reference: use letters, digits "
                         "and . _ / - (at most 64 characters)")


REF_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")


class Engine:
    def __init__(self, db: Database, registry: WorkflowRegistry, clock: Clock,
                 calendar: WorkingCalendar, audit_head_file: Path | None = None,
                 audit_key: bytes | None = None) -> None:
        self.db = db
        self.gate = Gate(clock, audit_head_file, audit_key)
        self.units = Units(db, self.gate)
        # Told of fires whose transition names roles to notify, inside the fire's transaction
        # (the notifications package enqueues the emails there).
        self.on_event: EventHook | None = None
        self.registry = registry
        self.clock = clock
        self.calendar = calendar
        self._definitions: dict[tuple[str, int], WorkflowDef] = {}
        self._machines: dict[tuple[str, int], WorkflowMachine] = {}
        self._registered: set[tuple[str, int, str]] = set()
        # (workflow, version, state) -> (the definition, the registry, its steps): _triggers
        self._step_infos: dict[tuple[str, int, str], tuple[
            WorkflowDef, WorkflowRegistry,
            tuple[tuple[tuple[GuardDef, ...], TriggerInfo], ...]]] = {}

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
                self._definitions[key] = self.registry.parse(
                    stored[1], f"{name} version {version} (stored)")
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

    # -- units of work --------------------------------------------------------------------
    def unit(self, actor: str, action: str, *, case_ref: str | None = None,
             workflow: str | None = None, command: str | None = None,
             reads: bool = False) -> AbstractContextManager[Unit]:
        """One command's transaction as ``actor`` (see :class:`Units`; ``reads``: the
        command writes nothing but its audit record)."""
        return self.units.begin(actor, action, case_ref=case_ref, workflow=workflow,
                                command=command, reads=reads)

    def _within(self, unit: Unit | None, actor: str, action: str, case_ref: str | None,
                workflow: str | None, command: str | None, work: Callable[[Unit], T],
                reads: bool = False) -> T:
        """``work`` in the caller's unit (a step of a larger command), or in a unit of its
        own (a command by itself)."""
        if unit is not None:
            if unit.actor != actor:
                raise UsageError(f"a command run as {unit.actor} cannot act as {actor}")
            return work(unit)
        with self.unit(actor, action, case_ref=case_ref, workflow=workflow,
                       command=command, reads=reads) as own:
            return work(own)

    def area_for_new_case(self, unit: Unit, area: str | None) -> str:
        """``area`` checked, or the only area there is; else a usage error asking for one."""
        known = [code for code, _ in unit.access.areas()]
        if area is None:
            if len(known) == 1:
                return known[0]
            if not known:
                raise UsageError("no partnership areas are set up: an administrator adds one "
                                 "with 'safeguard area add CODE --name NAME'")
            raise FieldError("area", f"choose the case's area: {one_of(known)}",
                             cli="add --area AREA")
        if area not in known:
            raise UsageError(f"unknown area '{area}'{did_you_mean(area, known)}; areas: "
                             f"{one_of(known)}")
        return area

    def may(self, unit: Unit, roles: Sequence[str], case: CaseRecord) -> bool:
        """The unit's actor holds one of ``roles`` for this case (area, involvement)."""
        principal = unit.principal
        if permits(principal, roles, case.area, involved=False):
            return True
        if not any(r in INVOLVEMENT_ROLES and principal.holds(r, case.area) for r in roles):
            return False
        # Only a role that needs involvement is left: that costs a query.
        kinds = unit.access.involvement_kinds(principal.login).get(case.id, set())
        return permits_case(principal, roles, case.area, kinds, case.closed_at is None)

    def require_on_case(self, unit: Unit, roles: Sequence[str], case: CaseRecord,
                        action: str) -> None:
        if not self.may(unit, roles, case):
            require(unit.principal, roles, case.area, False, action)  # raises with the message

    def find(self, unit: Unit, ref: str, workflow: str | None = None) -> CaseRecord:
        """The case, if the unit's actor may read it (the read is noted on the unit)."""
        case, _ = self._find_with_deadlines(unit, ref, workflow)
        return case

    def authorize(self, actor: str, action: str) -> None:
        """A command about the system rather than one case (the outbox, the scheduler): the
        actor holds one of its roles (:mod:`engine.core.policy`). Audited, refusals too."""
        with self.unit(actor, action) as unit:
            unit.require()

    # -- commands ----------------------------------------------------------------------
    def open_case(self, workflow: str, ref: str, values: Mapping[str, str], actor: str,
                  note: str | None = None, command: str | None = None,
                  area: str | None = None, *, unit: Unit | None = None) -> CaseView:
        definition = self.registry.get(workflow)
        _check_ref(ref)
        note = check_note(note)
        data = parse_values(definition.fields, values, definition.open_requires,
                            definition.open_accepts, f"opening a {workflow} case")

        def work(u: Unit) -> CaseView:
            return self._open(u, definition, ref, data, note, area)

        return self._within(unit, actor, "case.open", ref, workflow, command, work)

    def _open(self, unit: Unit, definition: WorkflowDef, ref: str, data: dict[str, str],
              note: str | None, area: str | None) -> CaseView:
        workflow = definition.name
        # A partnership-wide case (the business plan's actions) belongs to no one area.
        case_area = None if definition.partnership_wide else self.area_for_new_case(unit, area)
        require(unit.principal, definition.open_roles, case_area, False,
                f"open a {workflow} case" + (f" in area {case_area}" if case_area else ""))
        now = self.clock.now()
        state = definition.initial_state
        store = unit.cases
        self._register(store, definition)
        case_id = store.insert_case(ref, workflow, definition.version, state, data, now,
                                    case_area)
        if case_id is None:
            raise DuplicateCaseError(ref, workflow)
        case = CaseRecord(case_id, ref, workflow, definition.version, state, {}, 0, now,
                          now, case_area)
        ops = plan_deadlines(definition, OPEN_TRIGGER, state, state, {}, data, [], now,
                             self.calendar)
        deadlines = self._apply(store, case_id, ops, [], now, definition)
        changes = {k: [None, v] for k, v in data.items()}
        store.add_event(case_id=case_id, seq=1, at=now, actor=unit.actor,
                        trigger=OPEN_TRIGGER, from_state=None, to_state=state,
                        changes=self._safe_changes(definition, changes), note=note,
                        command=unit.command)
        self._involve(unit, definition, case_id, {}, data, now)
        unit.touch(ref, workflow, area=case_area, fields=sorted(data))
        return self._view(definition, case, state, data, 1, now, deadlines, now,
                          self.may(unit, definition.access.personal, case))

    def fire(self, ref: str, trigger: str, values: Mapping[str, str], actor: str,
             note: str | None = None, workflow: str | None = None,
             expected_version: int | None = None, command: str | None = None, *,
             unit: Unit | None = None, via_domain: bool = False) -> CaseView:
        """Fire ``trigger`` on case ``ref``: by itself (``case advance``), or as a step of a
        larger command's unit (recording a MACE decision updates the child's case too).

        A trigger that a domain service owns (``via:`` in the workflow) is refused unless
        ``via_domain`` is set: only that service, which keeps its records, sets it.
        """
        note = check_note(note)

        def work(u: Unit) -> CaseView:
            return self._fire(u, ref, trigger, values, note, workflow, expected_version,
                              via_domain)

        return self._within(unit, actor, "case.advance", ref, workflow, command, work)

    def _fire(self, unit: Unit, ref: str, trigger: str, values: Mapping[str, str],
              note: str | None, workflow: str | None, expected_version: int | None,
              via_domain: bool) -> CaseView:
        case, rows = self._find_with_deadlines(unit, ref, workflow)
        if expected_version is not None and case.version != expected_version:
            raise ConcurrencyError(ref, expected_version, case.version)
        definition = self.definition(unit.cases, case.workflow, case.workflow_version)
        if not via_domain:
            check_generic_route(self.registry, definition, trigger)
        machine = self.machine(definition)
        transition = definition.transition_for(case.state, trigger)
        if transition is None:
            raise TransitionNotAllowedError(ref, trigger, case.state,
                                            machine.allowed(case.state))
        self.require_on_case(unit, transition.roles, case,
                             f"fire '{trigger}' on {case.workflow} case {ref} "
                             f"(area {case.area})")
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
        # A plan's items (an action plan): a known open item, a fresh reference, none open
        # when the case closes.
        plan.check_fire(definition, ref, trigger, entered, definition.is_final(adapter.state),
                        adapter.data, rows)
        now = self.clock.now()
        view = self._commit(unit, case, rows, definition, trigger, adapter.state, entered,
                            dict(adapter.data), note, now,
                            self.may(unit, definition.access.personal, case))
        self._involve(unit, definition, case.id, case.data, adapter.data, now)
        if transition.notify and self.on_event is not None:
            self.on_event(unit.conn, CaseEventNotice(
                case.id, ref, case.workflow, definition, case.area, adapter.state, trigger,
                case.version + 1, transition.notify))
        unit.touch(ref, case.workflow, steps=[{"case": ref, "trigger": trigger,
                                               "from": case.state, "to": adapter.state,
                                               "fields": sorted(parsed)}])
        return view

    def correct(self, ref: str, values: Mapping[str, str], actor: str, note: str,
                workflow: str | None = None, command: str | None = None) -> CaseView:
        """Correct recorded fields (a wrong date, say); deadlines counted from them move."""
        if not note or not note.strip():
            raise FieldError("note", "a correction needs a reason", cli="add --note '...'")
        note = check_note(note) or note
        if not values:
            raise UsageError("nothing to correct: change at least one value",
                             cli="add --set FIELD=VALUE")

        def work(unit: Unit) -> CaseView:
            case, rows = self._find_with_deadlines(unit, ref, workflow)
            definition = self.definition(unit.cases, case.workflow, case.workflow_version)
            self.require_on_case(unit, definition.access.correct, case,
                                 f"correct {case.workflow} case {ref} (area {case.area})")
            keyed = {c.keyed_by for c in definition.clocks.values() if c.keyed_by} | {
                c.rule.anchor for c in definition.clocks.values() if c.keyed_by and c.rule.anchor}
            for name in values:
                if name in keyed:
                    raise UsageError(f"'{name}' belongs to one of several records (an episode, "
                                     "an action): correct it with that record's own command")
            settable = [name for name in definition.fields if name in case.data]
            parsed = parse_values(definition.fields, values, (), settable,
                                  f"correcting case '{ref}' (only fields already recorded)")
            new_data = {**case.data, **parsed}
            if new_data == case.data:
                raise UsageError("those are the values already recorded; nothing changed")
            now = self.clock.now()
            view = self._commit(unit, case, rows, definition, CORRECT_TRIGGER, case.state,
                                None, new_data, note, now,
                                self.may(unit, definition.access.personal, case))
            self._involve(unit, definition, case.id, case.data, new_data, now)
            unit.touch(ref, case.workflow, fields=sorted(parsed))
            return view

        return self._within(None, actor, "case.correct", ref, workflow, command, work)

    def _commit(self, unit: Unit, case: CaseRecord, rows: Sequence[DeadlineRecord],
                definition: WorkflowDef, trigger: str, to_state: str, entered: str | None,
                new_data: dict[str, str], note: str | None, now: dt.datetime,
                personal: bool = False) -> CaseView:
        store = unit.cases
        final = definition.is_final(to_state)
        # The version check makes the deadlines read with the case current: had anyone
        # changed the case (and so its deadlines) since, this UPDATE would match no row.
        if not store.bump_case(case.id, case.version, to_state, new_data, now, final):
            raise ConcurrencyError(case.ref, case.version)
        snapshots = [DeadlineSnapshot(d.id, d.name, d.cycle, d.status, d.anchor_value,
                                      d.due_at, d.met_at, d.key) for d in rows]
        ops = plan_deadlines(definition, trigger, entered, to_state, case.data, new_data,
                             snapshots, now, self.calendar)
        deadlines = self._apply(store, case.id, ops, rows, now, definition)
        changes = {k: [case.data.get(k), v] for k, v in new_data.items()
                   if case.data.get(k) != v}
        store.add_event(case_id=case.id, seq=case.version + 1, at=now, actor=unit.actor,
                        trigger=trigger, from_state=case.state, to_state=to_state,
                        changes=self._safe_changes(definition, changes), note=note,
                        command=unit.command)
        return self._view(definition, case, to_state, new_data, case.version + 1, now,
                          deadlines, now, personal)

    def _apply(self, store: CaseStore, case_id: int, ops: Sequence[DeadlineOp],
               rows: Sequence[DeadlineRecord], now: dt.datetime,
               definition: WorkflowDef) -> list[DeadlineRecord]:
        """Write the deadline operations; return the case's deadlines as they now are.

        Each written deadline also gets its next alert time (its alert ladder's next rung
        not yet raised; none once it is met or cancelled), so the sweep reads an index.
        """
        moved = [op.id for op in ops if isinstance(op, Reschedule) and op.status == OPEN]
        done = done_rungs(store.conn, moved)
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
                    "closed_at": None, "key": op.key, "next_alert_at": next_alert_for(
                        definition.clocks.get(op.name), OPEN, op.due.at, op.due.day, set(),
                        self.calendar)})
                continue
            old = current[op.id]
            if isinstance(op, CloseDeadline):
                new = DeadlineRecord(old.id, old.case_id, old.name, old.cycle, old.rule,
                                     old.anchor_value, old.due_at, old.due_day, op.status,
                                     old.owner_role, old.started_at, op.met_at, old.key)
                closed_at: dt.datetime | None = now
            else:
                assert isinstance(op, Reschedule)
                new = DeadlineRecord(old.id, old.case_id, old.name, old.cycle,
                                     op.rule or old.rule, op.anchor_value, op.due.at,
                                     op.due.day, op.status, old.owner_role, old.started_at,
                                     op.met_at, old.key)
                closed_at = None if op.status == OPEN else now
            current[op.id] = new
            updates.append({"b_id": new.id, "rule": new.rule, "anchor_value": new.anchor_value,
                            "due_at": new.due_at, "due_day": new.due_day,
                            "status": new.status, "met_at": new.met_at,
                            "closed_at": closed_at, "next_alert_at": next_alert_for(
                                definition.clocks.get(new.name), new.status, new.due_at,
                                new.due_day, done.get(new.id, set()), self.calendar)})
        store.update_deadlines(updates)
        store.insert_deadlines(inserts)
        started = [DeadlineRecord(0, case_id, r["name"], r["cycle"], r["rule"],
                                  r["anchor_value"], r["due_at"], r["due_day"], OPEN,
                                  r["owner_role"], now, None, r["key"]) for r in inserts]
        return list(current.values()) + started

    # -- queries (each read of case data is audited) --------------------------------------
    def case(self, ref: str, actor: str, workflow: str | None = None,
             command: str | None = None, *, unit: Unit | None = None) -> CaseView:
        def work(u: Unit) -> CaseView:
            return self.case_read(u, ref, workflow)[0]

        return self._within(unit, actor, "case.show", ref, workflow, command, work,
                            reads=True)

    def case_read(self, unit: Unit, ref: str, workflow: str | None = None,
                  events: bool = False,
                  ) -> tuple[CaseView, CaseRecord, WorkflowDef, list[Any] | None]:
        """A case as :meth:`case` shows it, in the caller's unit, with what a page needs
        beside the view: the case row, its definition and (``events``) its events, each
        read once (the plan replays the same events)."""
        case, rows = self._find_with_deadlines(unit, ref, workflow)
        definition = self.definition(unit.cases, case.workflow, case.workflow_version)
        now = self.clock.now()
        view = self._view(definition, case, case.state, case.data, case.version,
                          case.updated_at, rows, now,
                          self.may(unit, definition.access.personal, case))
        links = self.links(unit, case)
        if links:
            view = replace(view, links=links)
        history = unit.cases.event_rows(case.id) \
            if events or definition.plan_clock() is not None else None
        if definition.plan_clock() is not None:
            assert history is not None
            view = replace(view, plan=plan.items(definition, history, rows, now))
        return view, case, definition, history

    def links(self, unit: Unit, case: CaseRecord) -> tuple[LinkView, ...]:
        """The cases linked to ``case``: each one's reference, and its title and state only
        if the unit's actor may read it (nothing else is read, and the read is not noted)."""
        out = []
        for other in linked_cases(unit.conn, case.id):
            definition = self.definition(unit.cases, other.workflow, other.workflow_version)
            if self.may(unit, definition.access.read, other):
                out.append(LinkView(other.ref, other.workflow, True, definition.title,
                                    other.state))
            else:
                out.append(LinkView(other.ref, other.workflow, False))
        return tuple(out)

    def history(self, ref: str, actor: str, workflow: str | None = None,
                command: str | None = None) -> list[EventView]:
        def work(unit: Unit) -> list[EventView]:
            case, _ = self._find_with_deadlines(unit, ref, workflow)
            return [EventView(e.seq, e.at, e.actor, e.trigger, e.from_state, e.to_state,
                              dict(e.changes), e.note) for e in unit.cases.event_rows(case.id)]

        return self._within(None, actor, "case.history", ref, workflow, command, work,
                            reads=True)

    def cases(self, actor: str, workflow: str | None = None, state: str | None = None,
              overdue: bool = False, command: str | None = None, *,
              unit: Unit | None = None, action: str = "case.list") -> list[CaseSummary]:
        """The cases the actor may read (others are not listed), with their next deadline."""
        return self.case_page(actor, workflow, state, overdue, command, unit=unit,
                              action=action).cases

    def readable(self, unit: Unit) -> ColumnElement[bool]:
        """The cases the unit's actor may read, as a condition on the ``case`` table."""
        readers = {(name, version): self.definition(unit.cases, name, version).access.read
                   for name, version in stored_versions(unit.conn)}
        return readable_cases(unit.principal, readers)

    def case_page(self, actor: str, workflow: str | None = None, state: str | None = None,
                  overdue: bool = False, command: str | None = None, *,
                  limit: int | None = None, offset: int = 0, unit: Unit | None = None,
                  action: str = "case.list") -> CasePage:
        """One page of the cases the actor may read, in (workflow, ref) order, and how many
        there are: filtered and counted in the database (reads only the page's rows)."""
        if (limit is not None and limit < 1) or offset < 0:
            raise UsageError("--limit must be at least 1 and --offset at least 0")
        now = self.clock.now()
        conditions: list[ColumnElement[bool]] = []
        if workflow:
            self.registry.get(workflow)
            conditions.append(CASES.c.workflow == workflow)
        if state:
            known = sorted({s for d in self.registry if not workflow or d.name == workflow
                            for s in d.states})
            if state not in known:
                raise UsageError(f"no state '{state}'{did_you_mean(state, known)}; states: "
                                 f"{one_of(known)}")
            conditions.append(CASES.c.state == state)
        if overdue:
            # A subquery from the (status, due_at) index: the overdue are few.
            conditions.append(CASES.c.id.in_(select(DEADLINES.c.case_id).where(
                DEADLINES.c.status == OPEN, DEADLINES.c.due_at <= now)))

        def work(u: Unit) -> CasePage:
            where = and_(self.readable(u), *conditions)
            total = int(u.conn.scalar(select(func.count()).select_from(CASES).where(where))
                        or 0)
            query = (select(CASES.c.id, CASES.c.ref, CASES.c.workflow, CASES.c.state,
                            CASES.c.version, CASES.c.updated_at)
                     .where(where).order_by(CASES.c.workflow, CASES.c.ref).offset(offset))
            if limit is not None:
                query = query.limit(limit)
            found = u.conn.execute(query).all()
            pending: dict[int, list[DeadlineView]] = {}
            if found:
                page = query.with_only_columns(CASES.c.id).subquery()
                rows = u.conn.execute(
                    select(*(DEADLINES.c[n] for n in DeadlineRecord.__dataclass_fields__))
                    .where(DEADLINES.c.status == OPEN,
                           DEADLINES.c.case_id.in_(select(page.c.id)))
                    .order_by(DEADLINES.c.due_at, DEADLINES.c.id))
                for row in rows:
                    record = DeadlineRecord(*row)
                    pending.setdefault(record.case_id, []).append(
                        self._deadline_view(record, now))
            u.touch(None, workflow, listed=len(found))
            out = []
            for c in found:
                mine = pending.get(c.id, [])
                out.append(CaseSummary(c.ref, c.workflow, c.state, c.version, c.updated_at,
                                       mine[0] if mine else None,
                                       sum(1 for d in mine if d.status != OPEN)))
            return CasePage(out, total, offset, limit)

        return self._within(unit, actor, action, None, workflow, command, work, reads=True)

    def involve(self, unit: Unit, refs: Sequence[tuple[str, str]], logins: Sequence[str],
                kind: str) -> None:
        """Involve users in cases ((workflow, ref) pairs): e.g. the members invited to a MACE
        meeting in the meeting and in each child on its agenda."""
        now = self.clock.now()
        for workflow, ref in refs:
            for case in unit.cases.find(ref, workflow):
                for login in logins:
                    unit.access.involve(case.id, login, kind, now)

    def uninvolve(self, unit: Unit, workflow: str, ref: str, login: str, kind: str) -> None:
        for case in unit.cases.find(ref, workflow):
            unit.access.uninvolve(case.id, login, kind)

    # -- helpers -----------------------------------------------------------------------
    def _find_with_deadlines(self, unit: Unit, ref: str, workflow: str | None,
                             ) -> tuple[CaseRecord, list[DeadlineRecord]]:
        """The case and its deadlines, if the actor may read it; the only way to a case.
        The read is noted on the unit (its audit record names the case)."""
        if workflow:
            self.registry.get(workflow)
        store = unit.cases
        principal = unit.principal
        found = store.find_with_deadlines(ref, workflow)
        if not found:
            raise CaseNotFoundError(ref, workflow)
        if len(found) > 1:
            raise UsageError(f"'{ref}' names cases in several workflows "
                             f"({', '.join(sorted(c.workflow for c, _ in found))}): "
                             "add --workflow NAME")
        case, rows = found[0]
        definition = self.definition(store, case.workflow, case.workflow_version)
        if not self.may(unit, definition.access.read, case):
            refusal = PermissionDeniedError(
                principal.login, f"see {case.workflow} case {ref}",
                needs_text(definition.access.read, case.area), principal.describe())
            raise HiddenCaseError(ref, workflow, str(refusal))  # as if there were none
        unit.touch(ref, case.workflow)
        return case, rows

    def _involve(self, unit: Unit, definition: WorkflowDef, case_id: int,
                 old: Mapping[str, str], new: Mapping[str, str], now: dt.datetime) -> None:
        """A field that names a user (e.g. the reviewer appointed) involves them in the case;
        the user it named before (a replaced reviewer) is no longer involved that way."""
        access = unit.access
        for field in definition.involving_fields:  # most workflows: none, so no work
            before, after = old.get(field.name), new.get(field.name)
            if not field.involves or before == after:
                continue
            if after:  # the reviewer is a registered user, who then sees this case
                registered(unit.conn, [after], f"the {field.title}")
            if before:
                access.uninvolve(case_id, before, field.involves)
            if after:
                access.involve(case_id, after, field.involves, now)

    @staticmethod
    def _safe_changes(definition: WorkflowDef, changes: dict[str, list[str | None]],
                      ) -> dict[str, list[str | None]]:
        """Events never hold personal values: only that a personal field changed."""
        personal = definition.personal_fields()
        return {k: ([None if v[0] is None else PERSONAL_MARK,
                     None if v[1] is None else PERSONAL_MARK] if k in personal else v)
                for k, v in changes.items()}

    def _triggers(self, definition: WorkflowDef, state: str,
                  ) -> tuple[tuple[tuple[GuardDef, ...], TriggerInfo], ...]:
        """The steps out of ``state``, each with the guards it waits for: made once per
        workflow version and state (made again for another definition or registry object:
        which command owns a step depends on the registry's current version too)."""
        key = (definition.name, definition.version, state)
        found = self._step_infos.get(key)
        if found is None or found[0] is not definition or found[1] is not self.registry:
            steps = tuple(
                (tuple(definition.guards[g] for g in t.guards),
                 TriggerInfo(t.trigger, t.dest, t.requires, t.accepts, t.description,
                             owning_command(self.registry, definition, t.trigger)))
                for t in definition.transitions_from(state))
            found = self._step_infos[key] = (definition, self.registry, steps)
        return found[2]

    @staticmethod
    def _deadline_view(d: DeadlineRecord, now: dt.datetime) -> DeadlineView:
        return DeadlineView(d.name, d.cycle, d.rule, d.due_at, d.due_day,
                            effective_status(d.status, d.due_at, now, d.due_day is None), d.met_at,
                            d.owner_role, d.started_at, d.key)

    def _view(self, definition: WorkflowDef, case: CaseRecord, state: str,
              data: dict[str, str], version: int, updated_at: dt.datetime,
              deadlines: Sequence[DeadlineRecord], now: dt.datetime,
              personal: bool = False) -> CaseView:
        triggers = tuple(info for guards, info in self._triggers(definition, state)
                         if all(guard_passes(g, data) for g in guards))
        state_def = definition.states[state]
        hidden = definition.personal_fields()
        ordered = sorted(deadlines, key=lambda d: (d.started_at, d.id or 1 << 62))
        return CaseView(
            ref=case.ref, workflow=case.workflow, workflow_version=case.workflow_version,
            state=state, state_description=state_def.description, final=state_def.final,
            data={k: (v if personal or k not in hidden else RESTRICTED_MARK)
                  for k, v in data.items()},
            version=version, opened_at=case.opened_at, updated_at=updated_at,
            available_triggers=triggers,
            deadlines=tuple(self._deadline_view(d, now) for d in ordered))
