"""The practice reviews' sections of the annual report (rapid reviews, LCSPRs, action plans),
made from what :func:`engine.apps.report.review_queries.load_reviews` counted and listed.

Pure: no database, no clock. The counts come by area (the partnership's are every area's);
the tables list the rows read for the period (none for the rapid reviews when only the
figures were read: every table row is also counted by a figure, so a section empty of
figures is empty either way).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from typing import Any, TypeVar

from engine.apps.report.figures import (
    RAG,
    RAG_COLOURS,
    RAG_WORDS,
    Chart,
    Replay,
    Section,
    or_empty,
    recorded_day,
    words,
)
from engine.apps.report.review_queries import (
    DECISIONS,
    DISSEMINATION,
    DeferredRow,
    PublishedRow,
    ReviewData,
    SentRow,
)
from engine.core.clock import end_of_day

OUTCOME_WORDS = {"lcspr": "Local child safeguarding practice review",
                 "no_further_review": "No further review",
                 "national_review": "Referred for a national review",
                 "awaiting_decision": "Awaiting a decision"}
REASON_WORDS = {"criminal_proceedings": "Criminal proceedings", "inquest": "Inquest",
                "family_court": "Family court proceedings",
                "other_process": "Another process", "unknown": "Reason not recorded"}


Row = TypeVar("Row", SentRow, PublishedRow, DeferredRow)


def _mine(rows: Sequence[Row], area: str | None) -> list[Row]:
    return [r for r in rows if area is None or r.area == area]


def review_sections(data: ReviewData, start: dt.date, end: dt.date,
                    area: str | None = None) -> list[Section]:
    """The three sections for ``[start, end]``, for the partnership or (``area``, a code)
    for the reviews of one area."""
    counts = data.counted(area)
    return [or_empty(s) for s in (
        _rapid_reviews(counts, _mine(data.sent, area)),
        _lcsprs(counts, data, area, end),
        _actions(counts, data.mace_rag, area),
    )]


def _rapid_reviews(counts: Counter[str], sent: list[SentRow]) -> Section:
    s = Section("rapid_reviews", "Serious incidents and rapid reviews")
    s.add("notifications", "Serious incident notifications made", counts["notifications"])
    s.add("notifications_on_time", "Notifications within 5 working days",
          counts["notifications_on_time"])
    s.add("held", "Rapid reviews held (sent to the Panel)", counts["held"])
    s.add("on_time", "Rapid reviews within 15 working days", counts["on_time"])
    for key in OUTCOME_WORDS:
        s.add(f"outcome_{key}", f"Outcome: {OUTCOME_WORDS[key].lower()}",
              counts[f"outcome_{key}"])
    rows = [(r.ref, r.area or "", r.sent_on, "Yes" if r.on_time else "No",
             OUTCOME_WORDS[DECISIONS.get(r.decision or "", "awaiting_decision")])
            for r in sent]
    s.tables.append(("Rapid reviews", ("Reference", "Area", "Sent", "On time", "Outcome"),
                     rows))
    s.chart = Chart.bars("Rapid review outcomes",
                         [(OUTCOME_WORDS[k], counts[f"outcome_{k}"]) for k in OUTCOME_WORDS])
    return s


def _published(rows: list[PublishedRow], end: dt.date,
               ) -> tuple[list[tuple[Any, ...]], list[int], list[tuple[str, int, int]]]:
    """The published reviews' table rows, their days from decision to publication, and
    their dissemination tasks done by the period's end."""
    table, days, dissemination = [], [], []
    for r in rows:
        decided, out = recorded_day(r.decision_on), recorded_day(r.published_on)
        if decided and out:
            days.append((out - decided).days)
        table.append((r.ref, r.decision_on, r.published_on,
                      (out - decided).days if decided and out else "",
                      "Yes" if r.within_6_months else "No"))
        done = sum(1 for t in r.dissemination if (d := recorded_day(t)) and d <= end)
        dissemination.append((r.ref, done, len(DISSEMINATION)))
    return table, days, dissemination


def _lcsprs(counts: Counter[str], data: ReviewData, area: str | None,
            end: dt.date) -> Section:
    s = Section("lcspr", "Local child safeguarding practice reviews")
    s.add("commissioned", "LCSPRs commissioned", counts["commissioned"])
    s.add("in_progress", "LCSPRs in progress at the period's end", counts["in_progress"])
    published = _mine(data.published, area)
    s.add("published", "LCSPRs published", len(published))
    pub_rows, days, dis_rows = _published(published, end)
    s.add("days_to_publication_mean", "Mean days from decision to publication",
          round(sum(days) / len(days), 1) if days else None)
    s.add("published_within_6_months", "Published within 6 months of the decision",
          sum(1 for r in pub_rows if r[4] == "Yes"))
    deferred = _mine(data.deferred, area)
    s.add("deferred", "LCSPRs deferred at the period's end", len(deferred))
    replay, hi = Replay(data.deferred_events), end_of_day(end)
    why = {r.id: replay.value_at(r.id, "deferral_reason", hi) or "unknown" for r in deferred}
    reasons = Counter(why.values())
    # Every reason, with its zeros (an area or year without one compares as 0, not as a
    # figure it has no record of); a reason outside the list only when it occurs.
    shown = [r for r in REASON_WORDS if r != "unknown"] + sorted(
        r for r in reasons if r not in REASON_WORDS or r == "unknown")
    for reason in shown:
        s.add(f"deferred_{reason}", f"Deferred: {words(REASON_WORDS, reason).lower()}",
              reasons[reason])
    s.add("past_target", "LCSPRs past their 6-month target, unpublished",
          counts["past_target"])
    s.tables.append(("Published reviews", ("Reference", "Decision", "Published", "Days",
                                           "Within 6 months"), pub_rows))
    s.tables.append(("Deferred reviews", ("Reference", "Reason"),
                     [(r.ref, words(REASON_WORDS, why[r.id])) for r in deferred]))
    s.add("dissemination_done", "Dissemination tasks done (published reviews)",
          sum(r[1] for r in dis_rows))
    s.tables.append(("Dissemination of learning", ("Reference", "Tasks done", "Of"),
                     dis_rows))
    s.chart = Chart.bars("Local child safeguarding practice reviews", [
        ("Commissioned", counts["commissioned"]), ("In progress", counts["in_progress"]),
        ("Published", len(published)), ("Deferred", len(deferred))])
    return s


def _actions(counts: Counter[str], mace_rag: Counter[str], area: str | None) -> Section:
    s = Section("actions", "Action plans and actions by RAG status")
    s.add("review_action_plans", "Practice reviews with an action plan at the period's end",
          counts["review_action_plans"])
    # MACE actions belong to the partnership's meetings, not to one area.
    for key in RAG:
        s.add(f"rag_{key}", f"MACE actions: {RAG_WORDS[key].lower()}",
              None if area is not None else mace_rag[key])
    # The practice reviews' own action plans: one 'action' deadline per action, each as it
    # stood at the period's end (one dropped before the end is counted as dropped in the
    # period it was dropped, not in the RAG counts).
    plan = {key: counts[f"review_rag_{key}"] for key in RAG}
    for key in RAG:
        s.add(f"review_rag_{key}", f"Review action-plan actions: {RAG_WORDS[key].lower()}",
              plan[key])
    s.add("review_dropped", "Review action-plan actions dropped in the period (with a "
          "reason; not in the RAG counts)", counts["review_dropped"])
    s.tables.append(("Actions by RAG status", ("RAG status", "Review action plans",
                                                "MACE actions"),
                     [(RAG_WORDS[k], plan[k], mace_rag[k] if area is None else None)
                      for k in RAG] if any(plan.values()) or (area is None and any(
                          mace_rag.values())) else []))
    s.chart = Chart.bars("Actions by RAG status",
                         [(RAG_WORDS[k], plan[k] + (mace_rag[k] if area is None else 0))
                          for k in RAG], [RAG_COLOURS[RAG_WORDS[k]] for k in RAG])
    return s


__all__ = ["OUTCOME_WORDS", "REASON_WORDS", "review_sections"]
