"""The practice reviews' figures (rapid reviews, LCSPRs, action plans), counted in SQL.

A period can hold many more reviews than the report lists: every count of the three sections
is one aggregate over the reviews alive in the period (:func:`alive`), grouped by area. The
only rows read are those the sections list: the LCSPRs published in the period and those
deferred at its end (their figures need their dates and reasons) and, unless only the figures
are wanted (the previous year is compared by its figures alone), the rapid reviews sent in
it. Nothing here reads a personal field, and nothing computes a figure's words: that is
:mod:`engine.apps.report.review_figures`.

Each condition says in SQL what a replay of the case's events would (as
:class:`engine.apps.report.figures.Replay` does for CERAR): a state at an instant is the last
event's before the first event at or after it; a deadline counts as it stood at the period's
end (:func:`status_at`). Date fields are stored as ISO days
(:func:`engine.core.fields.parse_value`), which compare as text.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    ScalarSelect,
    and_,
    case,
    exists,
    func,
    or_,
    select,
)

from engine.apps.report.queries import CASE_T, EVENT_T, EventRow, alive, event_rows
from engine.core.store.models import Deadline, MaceAction

WORKFLOW = "practice_review"
DECISIONS = {"commission_lcspr": "lcspr", "close_without_review": "no_further_review",
             "refer_national_review": "national_review"}
IN_PROGRESS = ("lcspr_commissioned", "in_review", "final_approved", "sent_to_panel")
DEFERRED = "publication_deferred"
DISSEMINATION = ("training_reviewed_on", "policies_reviewed_on", "website_updated_on",
                 "learning_brief_on", "workshops_held_on", "assurance_sought_on")
_LAST_SEQ = 2**31 - 1  # after every event of a case
DEADLINE_T = Deadline.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class SentRow:
    """A rapid review sent to the Panel in the period."""

    ref: str
    area: str | None
    sent_on: str
    on_time: bool
    decision: str | None  # the last decision's trigger by the period's end (a DECISIONS key)


@dataclass(frozen=True)
class PublishedRow:
    """An LCSPR published in the period."""

    ref: str
    area: str | None
    decision_on: str
    published_on: str
    within_6_months: bool  # its publication deadline met
    dissemination: tuple[str, ...]  # the DISSEMINATION fields ('' when not recorded)


@dataclass(frozen=True)
class DeferredRow:
    """An LCSPR deferred at the period's end (its reason is replayed from its events)."""

    id: int
    ref: str
    area: str | None


@dataclass
class ReviewData:
    """What the practice reviews' sections are computed from (one period)."""

    # area -> figure key (as the sections name their figures) -> count
    counts: dict[str | None, Counter[str]] = field(default_factory=dict)
    published: list[PublishedRow] = field(default_factory=list)
    deferred: list[DeferredRow] = field(default_factory=list)
    deferred_events: list[EventRow] = field(default_factory=list)
    sent: list[SentRow] = field(default_factory=list)  # empty: figures only
    # MACE actions by RAG status (the partnership's), shown beside the reviews' actions
    mace_rag: Counter[str] = field(default_factory=Counter)

    def counted(self, area: str | None) -> Counter[str]:
        """The counts of one area, or (None) of the partnership: every area's and none's."""
        if area is not None:
            return self.counts.get(area, Counter())
        return sum(self.counts.values(), Counter())


def _text(name: str) -> ColumnElement[Any]:
    text: ColumnElement[Any] = CASE_T.c.data[name].as_string()
    return text


def _day_in(name: str, first: dt.date, last: dt.date) -> ColumnElement[bool]:
    """The date field ``name`` falls in ``[first, last]`` (a time after the day ignored)."""
    day = func.substr(_text(name), 1, 10)
    return and_(day.is_not(None), day.between(first.isoformat(), last.isoformat()))


def _met(clock: str) -> ColumnElement[bool]:
    """A deadline of the case's ``clock`` is met (at any time)."""
    d = DEADLINE_T.c
    return exists().where(d.case_id == CASE_T.c.id, d.name == clock, d.status == "met")


def _fired(trigger: str, hi: dt.datetime, lo: dt.datetime | None = None) -> ColumnElement[bool]:
    """The case had a ``trigger`` event before ``hi`` (and at or after ``lo``)."""
    e = EVENT_T.c
    when = e.at < hi if lo is None else and_(e.at >= lo, e.at < hi)
    return exists().where(e.case_id == CASE_T.c.id, e.trigger == trigger, when)


def _last_decision(hi: dt.datetime) -> ScalarSelect[Any]:
    e = EVENT_T.c
    return (select(e.trigger).where(e.case_id == CASE_T.c.id, e.trigger.in_(DECISIONS),
                                    e.at < hi)
            .order_by(e.seq.desc()).limit(1).scalar_subquery())


def state_at(hi: dt.datetime) -> ScalarSelect[Any]:
    """The case's state at ``hi``: the last event's before its first event at or after it."""
    e, later = EVENT_T.c, EVENT_T.alias("later").c
    first_late = (select(func.min(later.seq))  # correlated two levels up: say so
                  .where(later.case_id == CASE_T.c.id, later.at >= hi)
                  .correlate(CASE_T).scalar_subquery())
    return (select(e.to_state).where(e.case_id == CASE_T.c.id,
                                     e.seq < func.coalesce(first_late, _LAST_SEQ))
            .order_by(e.seq.desc()).limit(1).scalar_subquery())


def status_at(hi: dt.datetime) -> ColumnElement[str]:
    """A deadline's status at ``hi`` (the instant after a period): its stored status if it
    was met before then, cancelled if it was cancelled before then, else open (breached if
    due before ``hi``); so one met or cancelled after the period's end counts as it stood."""
    d = DEADLINE_T.c
    return case((and_(d.met_at.is_not(None), d.met_at < hi), d.status),
                (and_(d.status == "cancelled", d.closed_at.is_not(None), d.closed_at < hi),
                 "cancelled"),
                (d.due_at < hi, "breached"), else_="open")


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def _by_area(rows: Iterable[Any], into: dict[str | None, Counter[str]]) -> None:
    """Add rows of (area, key, count) into per-area counters."""
    for area, key, n in rows:
        if key is not None:
            into.setdefault(area, Counter())[str(key)] += int(n or 0)


def _case_counts(conn: Connection, lo: dt.datetime, hi: dt.datetime, start: dt.date,
                 end: dt.date, into: dict[str | None, Counter[str]]) -> None:
    """The counts made of each alive review's facts, in one aggregate by area."""
    notified = _day_in("notified_on", start, end)
    sent = _day_in("rr_submitted_on", start, end)
    ever = _fired("commission_lcspr", hi)
    overdue = exists().where(DEADLINE_T.c.case_id == CASE_T.c.id,
                             DEADLINE_T.c.name == "publication", DEADLINE_T.c.due_at < hi,
                             status_at(hi) == "breached")
    unpublished = ~_day_in("published_on", dt.date.min, end)
    facts = select(
        CASE_T.c.area,
        _flag(notified).label("notified"),
        _flag(and_(notified, _met("notification"))).label("notified_on_time"),
        _flag(sent).label("sent"),
        _flag(and_(sent, _met("rapid_review"))).label("sent_on_time"),
        case((sent, func.coalesce(_last_decision(hi), "")), else_=None).label("decision"),
        _flag(_fired("commission_lcspr", hi, lo)).label("commissioned"),
        _flag(ever).label("ever"),
        state_at(hi).label("state"),
        _flag(and_(ever, unpublished, overdue)).label("past_target"),
    ).where(alive(WORKFLOW, lo)).subquery()
    f = facts.c
    summed: dict[str, ColumnElement[int]] = {
        "notifications": f.notified, "notifications_on_time": f.notified_on_time,
        "held": f.sent, "on_time": f.sent_on_time,
        **{f"outcome_{o}": _flag(f.decision == t) for t, o in DECISIONS.items()},
        "outcome_awaiting_decision": _flag(f.decision == ""),
        "commissioned": f.commissioned,
        "in_progress": _flag(and_(f.ever == 1, f.state.in_(IN_PROGRESS))),
        "past_target": f.past_target,
        "review_action_plans": _flag(f.state == "action_plan"),
    }
    keys = list(summed)
    for row in conn.execute(select(f.area, *(func.sum(v) for v in summed.values()))
                            .group_by(f.area)):
        _by_area(((row[0], k, n) for k, n in zip(keys, row[1:], strict=True)), into)


def _plan_counts(conn: Connection, lo: dt.datetime, hi: dt.datetime, end: dt.date,
                 amber_days: int, into: dict[str | None, Counter[str]]) -> None:
    """The reviews' action-plan actions ('action' deadlines) by RAG status at the period's
    end, and those dropped (cancelled) in the period, by area. Of a review alive in the
    period each counts as it stood at the end; of one closed before it, those not dropped.
    Every review's: one aggregate led by the clock's name (ix_deadline_name), not by the
    reviews (closed ones are most of them)."""
    c, d = CASE_T.c, DEADLINE_T.c
    closed_before = c.closed_at < lo
    dropped = status_at(hi) == "cancelled"
    key = case((closed_before, case((d.status == "cancelled", None),
                                    (d.met_at < hi, "review_rag_blue"), else_="by_due")),
               (and_(dropped, d.closed_at >= lo), "review_dropped"), (dropped, None),
               (d.met_at < hi, "review_rag_blue"), else_="by_due")
    rag = case((key != "by_due", key), (d.due_day < end, "review_rag_red"),
               (d.due_day <= end + dt.timedelta(days=amber_days), "review_rag_amber"),
               else_="review_rag_green")
    _by_area(conn.execute(
        select(c.area, rag, func.count())
        .select_from(DEADLINE_T.join(CASE_T, c.id == d.case_id))
        .where(d.name == "action", c.workflow == WORKFLOW, d.due_day.is_not(None),
               d.started_at < hi)
        .group_by(c.area, rag)), into)


def _mace_rag(conn: Connection, hi: dt.datetime, end: dt.date,
              amber_days: int) -> Counter[str]:
    """MACE actions agreed before ``hi`` and not dropped by ``end``, by RAG status at
    ``end``, as :func:`engine.apps.report.figures.rag_status` gives them, in one aggregate."""
    a = MaceAction.__table__.c  # type: ignore[attr-defined]
    rag = case((and_(a.done_on.is_not(None), a.done_on <= end), "blue"),
               (a.due_on < end, "red"),
               (a.due_on <= end + dt.timedelta(days=amber_days), "amber"),
               else_="green")
    rows = conn.execute(select(rag, func.count())
                        .where(a.created_at < hi, or_(a.dropped_on.is_(None), a.dropped_on > end))
                        .group_by(rag))
    return Counter({str(k): int(n) for k, n in rows})


def _published(conn: Connection, lo: dt.datetime, hi: dt.datetime, start: dt.date,
               end: dt.date) -> list[PublishedRow]:
    c = CASE_T.c
    rows = conn.execute(
        select(c.ref, c.area, _text("decision_on"), _text("published_on"),
               _flag(_met("publication")), *(_text(f) for f in DISSEMINATION))
        .where(alive(WORKFLOW, lo), _day_in("published_on", start, end),
               _fired("commission_lcspr", hi))
        .order_by(c.id))
    return [PublishedRow(ref, area, decided or "", published or "", bool(met),
                         tuple(t or "" for t in tasks))
            for ref, area, decided, published, met, *tasks in rows]


def _deferred(conn: Connection, lo: dt.datetime, hi: dt.datetime) -> list[DeferredRow]:
    c = CASE_T.c
    return [DeferredRow(*row) for row in conn.execute(
        select(c.id, c.ref, c.area)
        .where(alive(WORKFLOW, lo), _fired("commission_lcspr", hi), state_at(hi) == DEFERRED)
        .order_by(c.id))]


def _sent(conn: Connection, lo: dt.datetime, hi: dt.datetime, start: dt.date,
          end: dt.date) -> list[SentRow]:
    c = CASE_T.c
    rows = conn.execute(
        select(c.ref, c.area, _text("rr_submitted_on"), _flag(_met("rapid_review")),
               _last_decision(hi))
        .where(alive(WORKFLOW, lo), _day_in("rr_submitted_on", start, end)).order_by(c.id))
    return [SentRow(ref, area, sent_on, bool(met), decision)
            for ref, area, sent_on, met, decision in rows]


def load_reviews(conn: Connection, period: tuple[dt.datetime, dt.datetime, dt.date, dt.date],
                 amber_days: int, listed: bool = True) -> ReviewData:
    """The practice reviews' counts and listed rows for ``period`` (its first instant, the
    instant after it, its first and last days); ``listed`` False: not the rapid reviews
    sent in it (only a table lists them)."""
    lo, hi, start, end = period
    out = ReviewData(mace_rag=_mace_rag(conn, hi, end, amber_days))
    _case_counts(conn, lo, hi, start, end, out.counts)
    _plan_counts(conn, lo, hi, end, amber_days, out.counts)
    out.published = _published(conn, lo, hi, start, end)
    out.deferred = _deferred(conn, lo, hi)
    if out.deferred:  # their reasons are replayed from their events
        out.deferred_events = event_rows(conn, [r.id for r in out.deferred])
    if listed:
        out.sent = _sent(conn, lo, hi, start, end)
    return out


__all__ = ["DeferredRow", "PublishedRow", "ReviewData", "SentRow", "load_reviews"]
