"""The annual report's query layer: read the rows the figures are computed from.

Plain Core SELECTs over cases, events, deadlines, missing episodes and MACE tables, turned
into frozen row tuples; nothing here computes a figure (that is :mod:`engine.apps.report.figures`)
and nothing reads a personal field (names, dates of birth and addresses are dropped here).

Given a period, only the cases alive in it are read: open ones, and those closed (or last
changed: a correction moves ``closed_at``) on or after its first day. A case closed before the
period has no event, state or recorded date in it, so no figure of the period reads its rows;
the one thing the figures count over all time, the practice reviews' action-plan actions by
RAG status at the period's end, is counted for those cases in SQL (``earlier_plan``). So the
report reads what its period holds, not every case ever stored.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, case, func, or_, select, true

from engine.core.clock import london_date
from engine.core.store.models import (
    Case,
    CaseEvent,
    Deadline,
    MaceAction,
    MaceDecision,
    MaceMeeting,
    MissingEpisode,
)

PERSONAL = frozenset({"child_name", "child_dob", "child_address"})


@dataclass(frozen=True)
class CaseRow:
    id: int
    ref: str
    workflow: str
    state: str
    area: str | None
    opened_at: dt.datetime
    data: dict[str, str]


@dataclass(frozen=True)
class EventRow:
    case_id: int
    seq: int
    at: dt.datetime
    trigger: str
    from_state: str | None
    to_state: str
    changes: dict[str, Any]


@dataclass(frozen=True)
class DeadlineRow:
    case_id: int
    name: str
    cycle: int
    status: str
    due_at: dt.datetime
    due_day: dt.date | None
    met_at: dt.datetime | None
    owner_role: str | None
    started_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None  # when it was met or cancelled

    def status_at(self, hi: dt.datetime) -> str:
        """How it stood at ``hi`` (the instant after a period): its stored status if it was
        met or cancelled before then, else ``open`` (breached if due before ``hi``), so a
        deadline met or cancelled after the period's end counts as it stood at the end."""
        if self.met_at is not None and self.met_at < hi:
            return self.status
        if self.status == "cancelled" and self.closed_at is not None and self.closed_at < hi:
            return "cancelled"
        return "breached" if self.due_at < hi else "open"


@dataclass(frozen=True)
class EpisodeRow:
    case_id: int
    episode: str
    returned_at: dt.datetime
    rhi_outcome: str | None
    rhi_at: dt.datetime | None


@dataclass(frozen=True)
class MeetingRow:
    case_id: int
    meeting_id: int
    agenda_children: tuple[str, ...]


@dataclass(frozen=True)
class DecisionRow:
    meeting_id: int
    case_id: int
    decision: str


@dataclass(frozen=True)
class ActionRow:
    meeting_id: int
    ref: str
    due_on: dt.date
    status: str
    done_on: dt.date | None
    created_at: dt.datetime
    dropped_on: dt.date | None = None  # dropped (no longer needed) that day

    def dropped_by(self, end: dt.date) -> bool:
        """Dropped by ``end``: left out of the RAG and due counts of a period ending then."""
        return self.dropped_on is not None and self.dropped_on <= end


@dataclass
class ReportData:
    """Everything the annual figures are computed from (any period)."""

    cases: list[CaseRow] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)
    deadlines: list[DeadlineRow] = field(default_factory=list)
    episodes: list[EpisodeRow] = field(default_factory=list)
    meetings: list[MeetingRow] = field(default_factory=list)
    decisions: list[DecisionRow] = field(default_factory=list)
    actions: list[ActionRow] = field(default_factory=list)
    # Action-plan actions (RAG at the period's end) of practice reviews closed before it,
    # by area.
    earlier_plan: dict[str | None, Counter[str]] = field(default_factory=dict)
    # MACE actions by RAG status at the period's end, counted in SQL (None: count them
    # from ``actions``, which then holds them all).
    mace_rag: Counter[str] | None = None


def _aware(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


CASE_T = Case.__table__  # type: ignore[attr-defined]
DEADLINE_T = Deadline.__table__  # type: ignore[attr-defined]


def _earlier_plan(conn: Connection, earlier: ColumnElement[bool], hi: dt.datetime,
                  end: dt.date, amber_days: int) -> dict[str | None, Counter[str]]:
    """RAG counts of the 'action' deadlines of practice reviews closed before the period,
    as :func:`engine.apps.report.figures.rag_status` gives them, in one aggregate."""
    d = DEADLINE_T
    rag = case((and_(d.c.met_at.is_not(None), d.c.met_at < hi), "blue"),
               (d.c.due_day < end, "red"),
               (d.c.due_day <= end + dt.timedelta(days=amber_days), "amber"),
               else_="green")
    rows = conn.execute(
        select(CASE_T.c.area, rag.label("rag"), func.count())
        .select_from(d.join(CASE_T, CASE_T.c.id == d.c.case_id))
        .where(CASE_T.c.workflow == "practice_review", earlier, d.c.name == "action",
               d.c.status != "cancelled", d.c.due_day.is_not(None), d.c.started_at < hi)
        .group_by(CASE_T.c.area, rag))
    out: dict[str | None, Counter[str]] = {}
    for area, key, n in rows:
        out.setdefault(area, Counter())[str(key)] += int(n)
    return out


def _mace_rag(conn: Connection, hi: dt.datetime, end: dt.date,
              amber_days: int) -> Counter[str]:
    """MACE actions agreed before ``hi`` and not dropped by ``end``, by RAG status at
    ``end``, as :func:`engine.apps.report.figures.rag_status` gives them, in one aggregate."""
    a = MaceAction.__table__  # type: ignore[attr-defined]
    rag = case((and_(a.c.done_on.is_not(None), a.c.done_on <= end), "blue"),
               (a.c.due_on < end, "red"),
               (a.c.due_on <= end + dt.timedelta(days=amber_days), "amber"),
               else_="green")
    rows = conn.execute(select(rag.label("rag"), func.count())
                        .where(a.c.created_at < hi,
                               or_(a.c.dropped_on.is_(None), a.c.dropped_on > end))
                        .group_by(rag))
    return Counter({str(k): int(n) for k, n in rows})


def load(conn: Connection, workflows: tuple[str, ...] = ("practice_review", "cerar",
                                                          "mace_meeting"),
         period: tuple[dt.datetime, dt.datetime, dt.date] | None = None,
         amber_days: int = 14) -> ReportData:
    """Read the report's rows for the given workflows (personal fields dropped): all of
    them, or with ``period`` (its first instant, the instant after it, its last day) those
    of the cases alive in it."""
    case_t, deadline_t = CASE_T, DEADLINE_T
    event_t = CaseEvent.__table__  # type: ignore[attr-defined]
    out = ReportData()
    alive: ColumnElement[bool] = true()
    if period is not None:
        lo, hi, end = period
        alive = or_(case_t.c.closed_at.is_(None), case_t.c.closed_at >= lo)
        out.earlier_plan = _earlier_plan(conn, ~alive, hi, end, amber_days)
    chosen = and_(case_t.c.workflow.in_(workflows), alive)
    row: Any
    for row in conn.execute(select(case_t.c.id, case_t.c.ref, case_t.c.workflow,
                                   case_t.c.state, case_t.c.area, case_t.c.opened_at,
                                   case_t.c.data).where(chosen)
                            .order_by(case_t.c.id)):
        data = {k: str(v) for k, v in (row.data or {}).items() if k not in PERSONAL}
        out.cases.append(CaseRow(row.id, row.ref, row.workflow, row.state, row.area,
                                 _aware(row.opened_at), data))
    if not out.cases:
        return out
    # A subquery, not a list of ids: SQLite caps the number of bound parameters.
    ids = select(case_t.c.id).where(chosen).scalar_subquery()
    for row in conn.execute(select(event_t.c.case_id, event_t.c.seq, event_t.c.at,
                                   event_t.c.trigger, event_t.c.from_state,
                                   event_t.c.to_state, event_t.c.changes)
                            .where(event_t.c.case_id.in_(ids))
                            .order_by(event_t.c.case_id, event_t.c.seq)):
        changes = {k: v for k, v in (row.changes or {}).items() if k not in PERSONAL}
        out.events.append(EventRow(row.case_id, row.seq, _aware(row.at), row.trigger,
                                   row.from_state, row.to_state, changes))
    for row in conn.execute(select(deadline_t.c.case_id, deadline_t.c.name,
                                   deadline_t.c.cycle, deadline_t.c.status,
                                   deadline_t.c.due_at, deadline_t.c.due_day,
                                   deadline_t.c.met_at, deadline_t.c.owner_role,
                                   deadline_t.c.started_at, deadline_t.c.closed_at)
                            .where(deadline_t.c.case_id.in_(ids))
                            .order_by(deadline_t.c.case_id, deadline_t.c.id)):
        out.deadlines.append(DeadlineRow(
            row.case_id, row.name, row.cycle, row.status, _aware(row.due_at), row.due_day,
            _aware(row.met_at) if row.met_at else None, row.owner_role,
            _aware(row.started_at), _aware(row.closed_at) if row.closed_at else None))
    ep_t = MissingEpisode.__table__  # type: ignore[attr-defined]
    for row in conn.execute(select(ep_t.c.case_id, ep_t.c.episode, ep_t.c.returned_at,
                                   ep_t.c.rhi_outcome, ep_t.c.rhi_at)
                            .where(ep_t.c.case_id.in_(ids)).order_by(ep_t.c.id)):
        out.episodes.append(EpisodeRow(row.case_id, row.episode, _aware(row.returned_at),
                                       row.rhi_outcome,
                                       _aware(row.rhi_at) if row.rhi_at else None))
    mt_t = MaceMeeting.__table__  # type: ignore[attr-defined]
    for row in conn.execute(select(mt_t.c.case_id, mt_t.c.id, mt_t.c.agenda)
                            .where(mt_t.c.case_id.in_(ids)).order_by(mt_t.c.id)):
        agenda = row.agenda or {}
        children = tuple(str(c.get("case_ref")) for c in agenda.get("children", [])
                         if isinstance(c, dict) and c.get("case_ref"))
        out.meetings.append(MeetingRow(row.case_id, row.id, children))
    dec_t = MaceDecision.__table__  # type: ignore[attr-defined]
    meeting_ids = select(mt_t.c.id).where(mt_t.c.case_id.in_(ids)).scalar_subquery()
    for row in conn.execute(select(dec_t.c.meeting_id, dec_t.c.case_id, dec_t.c.decision)
                            .where(dec_t.c.meeting_id.in_(meeting_ids))
                            .order_by(dec_t.c.id)):
        out.decisions.append(DecisionRow(row.meeting_id, row.case_id, row.decision))
    act_t = MaceAction.__table__  # type: ignore[attr-defined]
    wanted: ColumnElement[bool] = true()
    if period is not None:
        # The RAG counts are over every action agreed by the period's end: one aggregate;
        # the rows read are those of the period's meetings and those due in it.
        lo, hi, end = period
        out.mace_rag = _mace_rag(conn, hi, end, amber_days)
        wanted = or_(act_t.c.meeting_id.in_(meeting_ids),
                     and_(act_t.c.due_on >= london_date(lo), act_t.c.due_on <= end))
    for row in conn.execute(select(act_t.c.meeting_id, act_t.c.ref, act_t.c.due_on,
                                   act_t.c.status, act_t.c.done_on, act_t.c.created_at,
                                   act_t.c.dropped_on)
                            .where(wanted).order_by(act_t.c.id)):
        out.actions.append(ActionRow(row.meeting_id, row.ref, row.due_on, row.status,
                                     row.done_on, _aware(row.created_at), row.dropped_on))
    return out
