"""The business plan service: import the plan, show it, record updates. One transaction each.

Each action is a case of ``workflows/business_plan_action.yaml`` (partnership-wide: no area),
so its quarterly update requests, their escalation to the business group chair, digests, the
history (who rated it what, when, why) and the audit come from the engine and the notifier.
The owner named in the plan is a registered user, involved in the case as the one who
answers for its updates. Never prints, never reads the wall clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from engine.core.access import require
from engine.core.clock import london_date, parse_date
from engine.core.errors import CaseNotFoundError, EngineError, UsageError, did_you_mean
from engine.core.fields import check_text
from engine.core.people import registered
from engine.core.service import Engine
from engine.core.store.cases import CaseRecord
from engine.core.store.models import Case, CaseEvent
from engine.domains.plan.planfile import PlanRow, parse_plan
from engine.domains.plan.rag import RAGS, WORDS, Rating, rating

WORKFLOW = "business_plan_action"
UPDATES = ("record_update", "complete")
# The fields the plan file sets (what a re-import compares).
PLAN_FIELDS = ("priority", "outcome", "summary", "due_on", "responsible", "owner")
_WORDS = {"priority": "priority", "outcome": "outcome", "summary": "action",
          "due_on": "timescale", "responsible": "responsible", "owner": "owner"}


@dataclass(frozen=True)
class RagChange:
    """One update in an action's RAG history."""

    at: dt.datetime
    by: str
    rag: str
    note: str
    on: str

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "by": self.by, "rag": self.rag,
                "rag_label": WORDS.get(self.rag, self.rag), "note": self.note,
                "updated_on": self.on}


@dataclass(frozen=True)
class ActionView:
    ref: str
    state: str
    priority: str
    outcome: str
    summary: str
    due_on: dt.date
    responsible: str
    owner: str
    update: str | None
    updated_on: dt.date | None
    rating: Rating
    history: tuple[RagChange, ...] = ()
    may_update: bool = False  # the asking user may record an update now (a front end's cue)

    def to_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "state": self.state, "priority": self.priority,
                "outcome": self.outcome, "action": self.summary,
                "timescale": self.due_on.isoformat(), "responsible": self.responsible,
                "owner": self.owner, "update": self.update,
                "updated_on": self.updated_on.isoformat() if self.updated_on else None,
                "rag": self.rating.rag, "rag_label": self.rating.text,
                "red_by_rule": self.rating.by_rule,
                "history": [h.to_json() for h in self.history]}


@dataclass(frozen=True)
class ImportResult:
    added: tuple[str, ...]
    unchanged: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"added": list(self.added), "unchanged": list(self.unchanged)}


def _day(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def action_view(case: Case, events: list[CaseEvent], today: dt.date,
                may_update: bool = False) -> ActionView:
    """An action as the plan shows it on ``today`` (pure: the rows are given)."""
    data = case.data
    due = dt.date.fromisoformat(data["due_on"])
    updated = _day(data.get("updated_on"))
    history = tuple(
        RagChange(e.at, e.actor, str(e.changes.get("rag", [None, data.get("rag")])[1]),
                  str(e.changes.get("update_note", [None, ""])[1] or ""),
                  str(e.changes.get("updated_on", [None, ""])[1] or ""))
        for e in events if e.trigger in UPDATES)
    return ActionView(case.ref, case.state, data.get("priority", ""), data.get("outcome", ""),
                      data.get("summary", ""), due, data.get("responsible", ""),
                      data.get("owner", ""), data.get("update_note"), updated,
                      rating(case.state, data.get("rag"), due, updated, today), history,
                      may_update)


class PlanService:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.clock = engine.clock

    def import_plan(self, name: str, text: str, actor: str,
                    plan_from: str | None = None) -> ImportResult:
        """Every action of the plan file, or none: a bad row is one line naming it. An
        action already in the plan with the same words is left as it is (re-importing the
        same plan changes nothing); one with different words is refused."""
        start = parse_date(plan_from) if plan_from else london_date(self.clock.now())
        with self.engine.unit(actor, "plan.import", workflow=WORKFLOW) as unit:
            # Before anything is read: a plan whose actions are all there opens no case, so
            # no open would check (and the file's words are compared with the stored ones).
            require(unit.principal, self.engine.registry.get(WORKFLOW).open_roles, None,
                    False, "import the business plan")
            rows = parse_plan(name, text)
            for row in rows:
                self._check_owner(unit, row)
            added, unchanged = [], []
            for row in rows:
                found = unit.cases.find(row.ref, WORKFLOW)
                if found:
                    self._same(row, found[0].data)
                    unchanged.append(row.ref)
                    continue
                try:
                    self.engine.open_case(WORKFLOW, row.ref, {
                        **row.fields(), "plan_from": start.isoformat()}, actor, unit=unit)
                except UsageError as exc:
                    raise UsageError(f"{row.where}: {exc}") from None
                added.append(row.ref)
            unit.note(added=len(added), unchanged=len(unchanged))
            return ImportResult(tuple(added), tuple(unchanged))

    def update(self, ref: str, rag: str, note: str, actor: str,
               on: str | None = None) -> ActionView:
        """Record an update: the RAG rating and what happened (blue completes the action)."""
        if not rag:
            raise UsageError(f"choose a RAG rating: one of {', '.join(RAGS)}")
        if rag not in RAGS:
            raise UsageError(f"unknown RAG rating '{rag}'{did_you_mean(rag, RAGS)}: use one "
                             f"of {', '.join(RAGS)}")
        if not note.strip():
            raise UsageError("an update needs its note: say what has happened")
        check_text("the note", note, 2000)
        today = london_date(self.clock.now())
        day = parse_date(on) if on else today
        if day > today:
            raise UsageError(f"the update's day {day.isoformat()} is still to come: an update is "
                             f"recorded on or before today ({today.isoformat()})")
        with self.engine.unit(actor, "plan.update", case_ref=ref, workflow=WORKFLOW) as unit:
            case = self.engine.find(unit, ref, WORKFLOW)
            if case.state != "open":
                raise UsageError(f"action '{ref}' is {case.state}: only an open action takes "
                                 "updates")
            if day < dt.date.fromisoformat(case.data["plan_from"]):
                raise UsageError(f"the update's day {day.isoformat()} is before the plan started "
                                 f"({case.data['plan_from']})")
            self.engine.fire(ref, "complete" if rag == "blue" else "record_update",
                             {"rag": rag, "update_note": note, "updated_on": day.isoformat()},
                             actor, None, WORKFLOW, unit=unit, via_domain=True)
            unit.note(rag=rag)
            return self._views(unit, today, ref)[0]

    def actions(self, actor: str, ref: str | None = None) -> list[ActionView]:
        """The plan (or one action) as it stands today, with each action's RAG history."""
        today = london_date(self.clock.now())
        with self.engine.unit(actor, "plan.show", case_ref=ref, workflow=WORKFLOW) as unit:
            if ref is not None:
                self.engine.find(unit, ref, WORKFLOW)  # checked and noted; else "no case"
            else:
                unit.require()
            return self._views(unit, today, ref)

    # -- helpers -------------------------------------------------------------------------
    def _views(self, unit: Any, today: dt.date, ref: str | None = None) -> list[ActionView]:
        query = select(Case).where(Case.workflow == WORKFLOW)  # type: ignore[arg-type]
        query = query.where(self.engine.readable(unit))
        if ref is not None:
            query = query.where(Case.ref == ref)  # type: ignore[arg-type]
        cases = list(unit.session.scalars(query))
        if ref is not None and not cases:
            raise CaseNotFoundError(ref, WORKFLOW)
        events: dict[int, list[CaseEvent]] = {}
        listed = query.with_only_columns(col(Case.id))
        for e in unit.session.scalars(select(CaseEvent).where(
                col(CaseEvent.case_id).in_(listed),
                col(CaseEvent.trigger).in_(UPDATES)).order_by(col(CaseEvent.seq))):
            events.setdefault(e.case_id, []).append(e)
        views = [action_view(c, events.get(c.id or 0, []), today, self._may_update(unit, c))
                 for c in cases]
        views.sort(key=lambda v: (_ref_key(v.ref)))
        return views

    def _may_update(self, unit: Any, case: Case) -> bool:
        """The actor may record an update on this open action (its owner, or a role that
        reaches every action): what a front end offers, the update itself checks again."""
        if case.state != "open":
            return False
        definition = self.engine.definition(unit.cases, case.workflow, case.workflow_version)
        transition = definition.transition_for(case.state, "record_update")
        record = CaseRecord(case.id or 0, case.ref, case.workflow, case.workflow_version,
                            case.state, case.data, case.version, case.opened_at,
                            case.updated_at, case.area, case.closed_at)
        return transition is not None and self.engine.may(unit, transition.roles, record)

    @staticmethod
    def _check_owner(unit: Any, row: PlanRow) -> None:
        try:
            registered(unit.conn, [row.owner], "owner")
        except EngineError as exc:
            raise UsageError(f"{row.where}: {exc}") from None

    @staticmethod
    def _same(row: PlanRow, data: dict[str, str]) -> None:
        wanted = row.fields()
        for name in PLAN_FIELDS:
            if data.get(name) != wanted[name]:
                raise UsageError(
                    f"{row.where}: action {row.ref} is already in the plan with another "
                    f"{_WORDS[name]} ('{data.get(name)}', the file says '{wanted[name]}'): "
                    f"change it with 'safeguard case correct {row.ref} --set "
                    f"{name}=... --note ...', or give the new action its own reference")


def _ref_key(ref: str) -> tuple[Any, ...]:
    """BP-2 before BP-10: digits compared as numbers."""
    import re

    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", ref))


__all__ = [
    "WORKFLOW",
    "ActionView",
    "ImportResult",
    "PlanService",
    "RagChange",
    "action_view",
]
