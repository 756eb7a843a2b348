"""What a front end shows of cases, beyond the CLI's views: a case page (the case, its
timeline and the steps this user may take), a step's form (its fields as the workflow defines
them) and the user's task list. Each is one audited unit of work through the Engine; the
permission checks are the Engine's and the workflow's, as for every other route.

Nothing here renders: the web front end turns these into pages.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection

from engine.core.access import Principal, permits
from engine.core.definition import FieldDef, TransitionDef, WorkflowDef
from engine.core.errors import TransitionNotAllowedError, UsageError
from engine.core.policy import COMMANDS, permitted
from engine.core.service import Engine
from engine.core.store.access_store import AccessStore
from engine.core.store.task_store import TaskRow, count_open_deadlines, open_deadlines
from engine.core.unit import Unit
from engine.core.views import CaseView, EventView, TriggerInfo

TASK_LIMIT = 500


@dataclass(frozen=True)
class Step:
    """A step available in the case's state: whether this user may take it, and if not yet
    possible (a guard), what is missing."""

    trigger: TriggerInfo
    allowed: bool
    missing: str | None = None


@dataclass(frozen=True)
class CasePage:
    view: CaseView
    events: tuple[EventView, ...]
    steps: tuple[Step, ...]
    fields: dict[str, FieldDef]
    title: str
    definition: WorkflowDef | None = None  # the case's version: labels, clocks, rules
    task_count: int | None = None  # the user's tasks, for the header: read in the same unit
    area: tuple[str, str] | None = None  # the case's area: its code and the partnership's name


@dataclass(frozen=True)
class StepForm:
    view: CaseView
    transition: TransitionDef
    fields: tuple[tuple[FieldDef, bool], ...]  # (field, required)
    last_actor: str | None
    last_at: dt.datetime | None


@dataclass(frozen=True)
class Task:
    ref: str
    workflow: str
    state: str
    name: str
    key: str | None
    rule: str
    due_at: dt.datetime
    due_day: dt.date | None
    owner: str | None
    meets: str | None  # the step that meets it, if this user may take it now


@dataclass(frozen=True)
class OpenChoice:
    workflow: str
    title: str
    areas: tuple[str, ...]
    fields: tuple[tuple[FieldDef, bool], ...]


class CaseWork:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._menus: dict[frozenset[str], frozenset[str]] = {}

    def page(self, ref: str, actor: str, command: str | None = None) -> CasePage:
        with self.engine.unit(actor, "case.show", case_ref=ref, command=command,
                              reads=True) as unit:
            return self.page_in(unit, ref)

    def page_in(self, unit: Unit, ref: str, workflow: str | None = None) -> CasePage:
        """The case page as a step of the caller's unit (a domain's own page: the CERAR
        child, the MACE meeting), so that page is one audited read."""
        engine = self.engine
        view, case, definition, history = engine.case_read(unit, ref, workflow, events=True)
        events = tuple(EventView(e.seq, e.at, e.actor, e.trigger, e.from_state, e.to_state,
                                 dict(e.changes), e.note)
                       for e in history or ())
        steps = []
        for t in definition.transitions_from(view.state):
            info = next((i for i in view.available_triggers if i.name == t.trigger), None)
            if not engine.may(unit, t.roles, case):
                continue
            if info is None:  # a guard not yet satisfied: say what is missing
                guard = definition.guards[t.guards[0]] if t.guards else None
                info = TriggerInfo(t.trigger, t.dest, t.requires, t.accepts,
                                   t.description, t.via)
                steps.append(Step(info, True, guard.description if guard else None))
            else:
                steps.append(Step(info, True))
        return CasePage(view, events, tuple(steps), dict(definition.fields),
                        definition.title, definition,
                        self._count(unit.conn, unit.principal),
                        (case.area, unit.access.area_name(case.area) or case.area)
                        if case.area else None)

    def step(self, ref: str, trigger: str, actor: str) -> StepForm:
        """The form for ``trigger`` on case ``ref``: refused (as the fire would be) when the
        step is not available or the user may not take it."""
        engine = self.engine
        with engine.unit(actor, "case.show", case_ref=ref, reads=True) as unit:
            view = engine.case(ref, actor, unit=unit)
            case = engine.find(unit, ref, view.workflow)
            definition = engine.definition(unit.cases, case.workflow, case.workflow_version)
            transition = definition.transition_for(case.state, trigger)
            if transition is None:
                raise TransitionNotAllowedError(ref, trigger, case.state,
                                                [t.name for t in view.available_triggers])
            engine.require_on_case(unit, transition.roles, case,
                                   f"fire '{trigger}' on {case.workflow} case {ref} "
                                   f"(area {case.area})")
            last = list(unit.cases.events(case.id))[-1:]
            fields = tuple((definition.fields[n], n in transition.requires)
                           for n in transition.fields)
            return StepForm(view, transition, fields,
                            last[0].actor if last else None, last[0].at if last else None)

    def tasks(self, actor: str, command: str | None = None) -> list[Task]:
        """The open deadlines this user must act on: owned by a role they hold for the
        case's area (and, for roles that need it, their involvement), soonest first."""
        engine = self.engine
        with engine.unit(actor, "case.tasks", command=command, reads=True) as unit:
            out = []
            for row in self._own(unit.conn, unit.principal):
                definition = engine.definition(unit.cases, row.workflow, row.workflow_version)
                out.append(Task(row.ref, row.workflow, row.state, row.name, row.key, row.rule,
                                row.due_at, row.due_day, row.owner_role,
                                self._meets(unit, definition, row.state, row.name, row.area)))
            unit.note(listed=len(out))
            return out

    def task_count(self, actor: str) -> int:
        """How many tasks ``actor`` has (the number in every page's header). A read of the
        user's own count that names no case, so it is not an audited command: a page makes
        one audit record, for what it shows."""
        engine = self.engine
        with engine.db.begin_read() as conn:
            return self._count(conn, engine.gate.principal(conn, actor))

    @staticmethod
    def _count(conn: Connection, principal: Principal) -> int:
        """len(_own(...)), counted in the database (involvement included)."""
        return count_open_deadlines(conn, principal.login, principal.grants, TASK_LIMIT)

    @staticmethod
    def _own(conn: Connection, principal: Principal) -> list[TaskRow]:
        """The same rule as :meth:`_count`, applied in SQL before the limit: a user's tasks
        are never hidden behind other roles' or other cases' deadlines."""
        return open_deadlines(conn, principal.login, principal.grants, TASK_LIMIT)

    @staticmethod
    def _meets(unit: Unit, definition: WorkflowDef, state: str, clock: str,
               area: str | None) -> str | None:
        c = definition.clocks.get(clock)
        if c is None:
            return None
        for t in definition.transitions_from(state):
            if (t.trigger in c.met.fire or (t.dest in c.met.enter)) and t.via is None and \
                    permits(unit.principal, t.roles, area, involved=True):
                return t.trigger
        return None

    def menu(self, actor: str) -> frozenset[str]:
        """What a front end's menu may offer this user: the policy commands they hold a role
        for (``status``, ``mace.meetings``, ...) and ``read:WORKFLOW`` for each workflow whose
        cases their roles may read. A lookup of the user's own grants to choose which links
        to show, not a command (so not audited): every page still asks its service, which
        checks and audits. Empty for an unknown or disabled user."""
        with self.engine.db.begin_read() as conn:
            principal = AccessStore(conn).principal(actor)
        if principal is None or principal.disabled:
            return frozenset()
        return self.menu_for(frozenset(principal.grants))

    def menu_for(self, roles: frozenset[str]) -> frozenset[str]:
        """:meth:`menu` for the roles a user holds (in any area), as the session check read
        them for this request: no further read. Cached per set of roles."""
        cached = self._menus.get(roles)
        if cached is None:
            holder = Principal("", {role: frozenset({None}) for role in roles})
            allowed = {action for action in COMMANDS if permitted(holder, action)}
            allowed |= {f"read:{d.name}" for d in self.engine.registry
                        if any(role in roles for role in d.access.read)}
            allowed |= {f"open:{d.name}" for d in self.engine.registry
                        if any(role in roles for role in d.open_roles)}
            cached = self._menus[roles] = frozenset(allowed)
        return cached

    def open_choices(self, actor: str) -> list[OpenChoice]:
        """The workflows this user may open cases of, in which areas, with their fields."""
        engine = self.engine
        with engine.unit(actor, "case.open_form") as unit:
            areas = [code for code, _ in unit.access.areas()]
            out = []
            for definition in engine.registry:
                allowed = tuple(a for a in areas if permits(unit.principal,
                                                            definition.open_roles, a, False))
                if not allowed:
                    continue
                fields = tuple((definition.fields[n], True) for n in definition.open_requires) \
                    + tuple((definition.fields[n], False) for n in definition.open_accepts)
                out.append(OpenChoice(definition.name, definition.title, allowed, fields))
            return out

    def open_choice(self, actor: str, workflow: str) -> OpenChoice:
        for choice in self.open_choices(actor):
            if choice.workflow == workflow:
                return choice
        raise UsageError(f"you may not open {workflow} cases here, or there is no such "
                         "workflow")


__all__ = ["CasePage", "CaseWork", "OpenChoice", "Step", "StepForm", "Task"]
