"""The annual report's query layer: read the rows the CERAR and MACE figures are computed from.

Plain Core SELECTs over cases, events, missing episodes and MACE tables, turned
into frozen row tuples; nothing here computes a figure (that is :mod:`engine.apps.report.figures`)
and nothing reads a personal field (names, dates of birth and addresses are dropped here).
(The practice reviews' figures are counted in SQL: :mod:`engine.apps.report.review_queries`.)

Given a period, only the cases alive in it are read (:func:`alive`): open ones, and those
closed (or last changed: a correction moves ``closed_at``) on or after its first day. A case
closed before the period has no event, state or recorded date in it, so no figure of the
period reads its rows. So the report reads what its period holds, not every case ever stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, or_, select, true, union_all

from engine.core.clock import london_date
from engine.core.store.models import (
    Case,
    CaseEvent,
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
    episodes: list[EpisodeRow] = field(default_factory=list)
    meetings: list[MeetingRow] = field(default_factory=list)
    decisions: list[DecisionRow] = field(default_factory=list)
    actions: list[ActionRow] = field(default_factory=list)


def _aware(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


CASE_T = Case.__table__  # type: ignore[attr-defined]
EVENT_T = CaseEvent.__table__  # type: ignore[attr-defined]


def alive(workflows: str | Iterable[str], lo: dt.datetime) -> ColumnElement[bool]:
    """The case is one of the workflows' cases alive at or after ``lo``: open, or closed on or
    after it. As two ranges of ix_case_workflow_closed (an OR of them in one WHERE makes
    SQLite scan every case of the workflow, so the cost would grow with the history)."""
    chosen = [workflows] if isinstance(workflows, str) else list(workflows)
    c = CASE_T.c
    chosen_alive: ColumnElement[bool] = c.id.in_(union_all(
        select(c.id).where(c.workflow.in_(chosen), c.closed_at.is_(None)),
        select(c.id).where(c.workflow.in_(chosen), c.closed_at >= lo)))
    return chosen_alive


def event_rows(conn: Connection, ids: Any) -> list[EventRow]:
    """The events of the cases ``ids`` (a list, or a subquery of ids), personal fields dropped,
    in each case's order."""
    e = EVENT_T.c
    out = []
    for row in conn.execute(select(e.case_id, e.seq, e.at, e.trigger, e.from_state,
                                   e.to_state, e.changes)
                            .where(e.case_id.in_(ids)).order_by(e.case_id, e.seq)):
        changes = {k: v for k, v in (row.changes or {}).items() if k not in PERSONAL}
        out.append(EventRow(row.case_id, row.seq, _aware(row.at), row.trigger,
                            row.from_state, row.to_state, changes))
    return out


def load(conn: Connection, workflows: tuple[str, ...] = ("cerar", "mace_meeting"),
         period: tuple[dt.datetime, dt.datetime, dt.date] | None = None) -> ReportData:
    """Read the report's rows for the given workflows (personal fields dropped): all of
    them, or with ``period`` (its first instant, the instant after it, its last day) those
    of the cases alive in it."""
    case_t = CASE_T
    out = ReportData()
    chosen = case_t.c.workflow.in_(workflows) if period is None \
        else alive(workflows, period[0])
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
    out.events = event_rows(conn, ids)
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
        # The rows read are those of the period's meetings and those due in it (the RAG
        # counts over every action are one aggregate: review_queries).
        lo, _, end = period
        wanted = or_(act_t.c.meeting_id.in_(meeting_ids),
                     and_(act_t.c.due_on >= london_date(lo), act_t.c.due_on <= end))
    for row in conn.execute(select(act_t.c.meeting_id, act_t.c.ref, act_t.c.due_on,
                                   act_t.c.status, act_t.c.done_on, act_t.c.created_at,
                                   act_t.c.dropped_on)
                            .where(wanted).order_by(act_t.c.id)):
        out.actions.append(ActionRow(row.meeting_id, row.ref, row.due_on, row.status,
                                     row.done_on, _aware(row.created_at), row.dropped_on))
    return out
