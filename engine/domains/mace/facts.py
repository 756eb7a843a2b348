"""The database reads an agenda is built from: every open CERAR case's level, reviews,
missing episodes and RHIs, and the open actions of earlier meetings. Reads only.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlmodel import Session, col

from engine.core.clock import london_date, show_instant
from engine.core.deadlines import OPEN
from engine.core.store.models import (
    Case,
    CaseEvent,
    Deadline,
    MaceAction,
    MaceMeeting,
    MissingEpisode,
)
from engine.domains.cerar.service import WORKFLOW as CERAR
from engine.domains.mace.agenda import ActionFacts, ChildFacts, LevelChange, RhiDue


def child_ref(session: Session, case_id: int | None) -> str | None:
    """The child reference of a CERAR case (by id), or None."""
    if case_id is None:
        return None
    case = session.get(Case, case_id)
    return case.data.get("child_ref") if case else None


def child_names(session: Session) -> list[str]:
    """The names recorded on open CERAR cases (to keep them out of agendas and actions)."""
    return [c.data["child_name"] for c in session.scalars(select(Case).where(
        Case.workflow == CERAR, Case.closed_at.is_(None)))  # type: ignore[arg-type, union-attr]
        if c.data.get("child_name")]


def open_actions(session: Session, exclude_meeting: int,
                 series_id: int | None = None) -> list[ActionFacts]:
    """Open actions agreed at meetings (of one series, if given) other than
    ``exclude_meeting``."""
    query = select(MaceAction, col(Case.ref)).join(
        MaceMeeting, MaceMeeting.id == MaceAction.meeting_id).join(  # type: ignore[arg-type]
        Case, Case.id == MaceMeeting.case_id).where(  # type: ignore[arg-type]
        MaceAction.status == "open", MaceAction.meeting_id != exclude_meeting)  # type: ignore[arg-type]
    if series_id is not None:
        query = query.where(MaceMeeting.series_id == series_id)  # type: ignore[arg-type]
    rows = session.execute(query)
    return [ActionFacts(a.ref, ref, child_ref(session, a.case_id), a.summary, a.owner,
                        a.agency, a.due_on) for a, ref in rows]


def child_facts(session: Session, area: str | None = None) -> list[ChildFacts]:
    """What the agenda needs to know of every open CERAR case (of ``area``, when the series
    has one), in a few queries."""
    query = select(Case).where(
        Case.workflow == CERAR, Case.closed_at.is_(None))  # type: ignore[arg-type, union-attr]
    if area is not None:
        query = query.where(Case.area == area)  # type: ignore[arg-type]
    cases = list(session.scalars(query))
    ids = [c.id for c in cases]
    if not ids:
        return []
    deadlines: dict[int, list[Deadline]] = {}
    for d in session.scalars(select(Deadline).where(
            Deadline.case_id.in_(ids), Deadline.status == OPEN)):  # type: ignore[attr-defined, arg-type]
        deadlines.setdefault(d.case_id, []).append(d)
    changes: dict[int, list[LevelChange]] = {}
    # The day a level changed is the one recorded with it (`cerar level --on`), which stays
    # in the case's data (an event lists it only when it differs from the one before).
    changed_on: dict[int, str] = {}
    for e in session.scalars(select(CaseEvent).where(
            CaseEvent.case_id.in_(ids),  # type: ignore[attr-defined]
            CaseEvent.trigger.in_(("assess", "change_risk_level")))  # type: ignore[attr-defined]
            .order_by(CaseEvent.seq)):  # type: ignore[arg-type]
        old, new = e.changes.get("risk_level", [None, None])
        if "level_changed_on" in e.changes:
            changed_on[e.case_id] = e.changes["level_changed_on"][1]
        day = changed_on.get(e.case_id) if e.trigger == "change_risk_level" else None
        if new:
            changes.setdefault(e.case_id, []).append(
                LevelChange(dt.date.fromisoformat(day) if day else london_date(e.at), old,
                            new))
    returns: dict[int, list[dt.date]] = {}
    for r in session.scalars(select(MissingEpisode).where(
            MissingEpisode.case_id.in_(ids))):  # type: ignore[attr-defined]
        returns.setdefault(r.case_id, []).append(london_date(r.returned_at))
    out = []
    for c in cases:
        mine = deadlines.get(c.id or 0, [])
        review = next((d for d in mine if d.name == "review"), None)
        strategy = next((d for d in mine if d.name == "strategy_meeting"), None)
        out.append(ChildFacts(
            case_ref=c.ref, child_ref=c.data.get("child_ref", ""), state=c.state,
            concern_received_on=dt.date.fromisoformat(c.data["concern_received_on"]),
            risk_level=c.data.get("risk_level"), mace_flag=c.data.get("mace_flag"),
            next_review_due=review.due_day if review else None,
            level_changes=tuple(changes.get(c.id or 0, [])),
            returns=tuple(returns.get(c.id or 0, [])),
            rhi_outstanding=tuple(RhiDue(d.key or "", show_instant(d.due_at))
                                  for d in sorted(mine, key=lambda d: d.due_at)
                                  if d.name == "rhi"),
            strategy_meeting_due=strategy.due_day if strategy else None,
            placement=c.data.get("placement"),
            placing_authority=c.data.get("placing_authority"),
            host_authority=c.data.get("host_authority")))
    return out


__all__ = ["child_facts", "child_names", "child_ref", "open_actions"]
