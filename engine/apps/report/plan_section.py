"""The annual report's business plan section (Appendix C, the delivery plan): a section
source in the shape the report's contract gives (``key``, ``title``, ``load``, ``build``).

``load`` reads the ``business_plan_action`` cases alive in the period (opened by its end, not
closed before its start) and their updates up to its end, in two bounded SELECTs; ``build``
(pure) replays each action as it stood at the period's end: the last update's rating and
note, complete or withdrawn if that happened by then, and red by rule when it was open, past
its timescale and not updated since (:func:`engine.domains.plan.rag.rating`). The plan belongs
to the partnership, not to an area: an area's report gets an empty section.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from engine.apps.report.figures import RAG_COLOURS, Chart, Section
from engine.core.clock import end_of_day, london_date, start_of_day
from engine.core.store.models import Case, CaseEvent
from engine.domains.plan.rag import RAGS, WORDS, day_words, rating
from engine.domains.plan.service import WORKFLOW

_ENDINGS = {"complete": "complete", "withdraw": "withdrawn"}
_TRIGGERS = ("record_update", "complete", "withdraw")
COLUMNS = ("Priority", "Outcome", "Action", "Timescale",
           "Group, agency or individual responsible", "Update", "RAG")


@dataclass(frozen=True)
class PlanActionRow:
    """An action's words (no personal fields: a plan holds none) and its updates' values."""

    ref: str
    priority: str
    outcome: str
    summary: str
    due_on: dt.date
    responsible: str
    opened_on: dt.date


@dataclass(frozen=True)
class PlanUpdateRow:
    ref: str
    on: dt.date  # the London day it was recorded
    trigger: str
    rag: str | None
    note: str | None
    updated_on: dt.date | None


@dataclass(frozen=True)
class PlanData:
    actions: tuple[PlanActionRow, ...]
    updates: tuple[PlanUpdateRow, ...]


def _day(value: object) -> dt.date | None:
    return dt.date.fromisoformat(str(value)) if value else None


def _after(changes: dict[str, Any], name: str) -> Any:
    pair = changes.get(name)
    return pair[1] if isinstance(pair, list) and len(pair) == 2 else None


def _ref_key(ref: str) -> tuple[Any, ...]:
    import re

    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", ref))


class PlanSource:
    key = "business_plan"
    title = "Business plan delivery"

    def load(self, conn: Connection, start: dt.date, end: dt.date) -> PlanData:
        first, last = start_of_day(start), end_of_day(end)
        alive = and_(Case.workflow == WORKFLOW, Case.opened_at <= last,  # type: ignore[arg-type]
                     or_(Case.closed_at.is_(None),  # type: ignore[union-attr]
                         Case.closed_at >= first))  # type: ignore[operator, arg-type]
        actions = []
        for ref, data, opened in conn.execute(
                select(Case.ref, Case.data, Case.opened_at).where(alive)):  # type: ignore[call-overload]
            actions.append(PlanActionRow(
                ref, str(data.get("priority", "")), str(data.get("outcome", "")),
                str(data.get("summary", "")), dt.date.fromisoformat(data["due_on"]),
                str(data.get("responsible", "")), london_date(opened)))
        updates = []
        ids = select(Case.id).where(alive)  # type: ignore[call-overload]
        for ref, at, trigger, changes in conn.execute(
                select(Case.ref, CaseEvent.at, CaseEvent.trigger, CaseEvent.changes)  # type: ignore[call-overload]
                .join(Case, Case.id == CaseEvent.case_id)
                .where(CaseEvent.case_id.in_(ids),  # type: ignore[attr-defined]
                       CaseEvent.trigger.in_(_TRIGGERS),  # type: ignore[attr-defined]
                       CaseEvent.at <= last)
                .order_by(CaseEvent.case_id, CaseEvent.seq)):
            changes = changes or {}
            updates.append(PlanUpdateRow(
                ref, london_date(at), trigger, _after(changes, "rag"),
                _after(changes, "update_note"), _day(_after(changes, "updated_on"))))
        return PlanData(tuple(actions), tuple(updates))

    def build(self, loaded: PlanData, start: dt.date, end: dt.date,
              area: str | None) -> Section:
        section = Section(self.key, self.title)
        if area is not None or not loaded.actions:
            return section  # the plan is the partnership's: no area holds it
        by_ref: dict[str, list[PlanUpdateRow]] = {}
        for u in loaded.updates:
            by_ref.setdefault(u.ref, []).append(u)
        counts = dict.fromkeys(RAGS, 0)
        red_by_rule = not_rated = withdrawn = 0
        rows = []
        for action in sorted(loaded.actions, key=lambda a: _ref_key(a.ref)):
            state, rag, note, updated = "open", None, None, None
            for u in by_ref.get(action.ref, []):
                if u.trigger in _ENDINGS:
                    state = _ENDINGS[u.trigger]
                if u.trigger != "withdraw":
                    rag, note, updated = u.rag, u.note, u.updated_on
            judged = rating(state, rag, action.due_on, updated, end)
            if state == "withdrawn":
                withdrawn += 1
            elif judged.rag is None:
                not_rated += 1
            else:
                counts[judged.rag] += 1
                red_by_rule += judged.by_rule
            rows.append((action.priority, action.outcome, f"{action.ref}. {action.summary}",
                         day_words(action.due_on), action.responsible, note or "",
                         judged.text))
        section.add("actions", "Actions in the plan", len(loaded.actions))
        for rag in RAGS:
            section.add(f"rag_{rag}", f"{WORDS[rag]} at the period's end", counts[rag])
        section.add("red_by_rule", "Red by rule (past the timescale, no update since)",
                    red_by_rule)
        section.add("not_rated", "Not yet rated", not_rated)
        section.add("withdrawn", "Withdrawn", withdrawn)
        section.tables.append((f"Business plan delivery plan: update as at {day_words(end)}",
                               COLUMNS, rows))
        section.chart = Chart.bars("Business plan actions by RAG at the period's end",
                                   [(WORDS[r], counts[r]) for r in RAGS],
                                   [RAG_COLOURS[WORDS[r]] for r in RAGS])
        return section


__all__ = ["PlanActionRow", "PlanData", "PlanSource", "PlanUpdateRow"]
