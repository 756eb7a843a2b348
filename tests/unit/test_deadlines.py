"""The pure deadline planner: what a fire does to a case's deadlines, with no database."""

from __future__ import annotations

import datetime as dt

from engine.core.calendar import WorkingCalendar
from engine.core.deadlines import (
    CloseDeadline,
    DeadlineSnapshot,
    Reschedule,
    StartDeadline,
    effective_status,
    plan_deadlines,
)
from engine.core.loader import load_file
from engine.core.rules import compute_due, parse_rule
from engine.core.settings import SHIPPED_WORKFLOWS
from tests.conftest import london

PR = load_file(SHIPPED_WORKFLOWS / "practice_review.yaml")
CAL = WorkingCalendar()
NOW = london("2024-06-03 09:00")


def snapshot(id_: int, name: str, anchor: str, status: str = "open", cycle: int = 1,
             met_at: dt.datetime | None = None) -> DeadlineSnapshot:
    clock = PR.clocks[name]
    due = compute_due(clock.rule, dt.date.fromisoformat(anchor), CAL)
    return DeadlineSnapshot(id_, name, cycle, status, anchor, due.at, met_at)


def test_opening_starts_notification_and_rapid_review() -> None:
    data = {"became_aware_on": "2024-06-03"}
    ops = plan_deadlines(PR, "open", "awaiting_notification", "awaiting_notification", {}, data,
                         [], NOW, CAL)
    assert [(o.name, o.due.day.isoformat()) for o in ops if isinstance(o, StartDeadline)
            and o.due.day] == [("notification", "2024-06-10"), ("rapid_review", "2024-06-24")]


def test_meeting_uses_the_met_on_field_not_the_time_of_recording() -> None:
    old = {"became_aware_on": "2024-06-03"}
    new = {**old, "notified_on": "2024-06-10"}
    later = london("2024-06-14 16:00")  # recorded late, but the notification went on time
    ops = plan_deadlines(PR, "notify", "rapid_review", "rapid_review", old, new,
                         [snapshot(1, "notification", "2024-06-03")], later, CAL)
    assert ops == [CloseDeadline(1, "notification", "met", london("2024-06-10 00:00")
                                 .astimezone(dt.UTC))]


def test_met_the_day_after_due_is_breached() -> None:
    old = {"became_aware_on": "2024-06-03"}
    new = {**old, "notified_on": "2024-06-11"}
    [op] = plan_deadlines(PR, "notify", "rapid_review", "rapid_review", old, new,
                          [snapshot(1, "notification", "2024-06-03")], NOW, CAL)
    assert isinstance(op, CloseDeadline) and op.status == "breached"


def test_deferral_keeps_publication_open_and_starts_periodic_review() -> None:
    data = {"decision_on": "2024-07-01", "planned_publication_on": "2024-12-02",
            "deferral_reason": "criminal_proceedings", "deferred_on": "2024-11-25"}
    deadlines = [snapshot(1, "publication", "2024-07-01"),
                 snapshot(2, "send_to_panel", "2024-12-02", status="met")]
    ops = plan_deadlines(PR, "defer_publication", "publication_deferred",
                         "publication_deferred", data, data, deadlines,
                         london("2024-11-25 10:00"), CAL)
    assert [type(o).__name__ for o in ops] == ["StartDeadline"]
    start = ops[0]
    assert isinstance(start, StartDeadline)
    assert (start.name, start.due.day) == ("deferral_review", dt.date(2024, 12, 23))


def test_reviewing_a_deferral_meets_it_and_starts_the_next_cycle() -> None:
    data = {"deferral_reviewed_on": "2024-12-20"}
    review = DeadlineSnapshot(7, "deferral_review", 1, "open", "2024-11-25",
                              london("2024-12-24 00:00"))
    ops = plan_deadlines(PR, "review_deferral", None, "publication_deferred", {}, data,
                         [review], london("2024-12-20 12:00"), CAL)
    met, nxt = ops
    assert isinstance(met, CloseDeadline) and met.status == "met"
    assert isinstance(nxt, StartDeadline)
    assert (nxt.cycle, nxt.due.day) == (2, dt.date(2025, 1, 17))


def test_leaving_the_state_cancels_the_periodic_review() -> None:
    review = DeadlineSnapshot(7, "deferral_review", 2, "open", "2024-12-20",
                              london("2025-01-18 00:00"))
    data = {"planned_publication_on": "2025-03-03"}
    ops = plan_deadlines(PR, "resume_publication", "final_approved", "final_approved", {}, data,
                         [review], london("2025-01-10 12:00"), CAL)
    assert CloseDeadline(7, "deferral_review", "cancelled", None) in ops
    starts = [o for o in ops if isinstance(o, StartDeadline)]
    assert [(s.name, s.due.day) for s in starts] == [("send_to_panel", dt.date(2025, 2, 20))]


def test_final_state_cancels_everything_open() -> None:
    deadlines = [snapshot(1, "notification", "2024-06-03", status="met"),
                 snapshot(2, "rapid_review", "2024-06-03")]
    data = {"decision_on": "2024-06-20", "decision_rationale": "x"}
    ops = plan_deadlines(PR, "close_without_review", "closed", "closed", data, data, deadlines,
                         NOW, CAL)
    assert ops == [CloseDeadline(2, "rapid_review", "cancelled", None)]


def test_anchor_correction_reschedules_open_and_rejudges_met() -> None:
    old = {"became_aware_on": "2024-06-03", "notified_on": "2024-06-10"}
    new = {**old, "became_aware_on": "2024-05-30"}
    met_at = london("2024-06-10 00:00").astimezone(dt.UTC)
    deadlines = [snapshot(1, "notification", "2024-06-03", status="met", met_at=met_at),
                 snapshot(2, "rapid_review", "2024-06-03")]
    ops = plan_deadlines(PR, "correct", None, "rapid_review", old, new, deadlines, NOW, CAL)
    by_name = {o.name: o for o in ops}
    notification, rapid = by_name["notification"], by_name["rapid_review"]
    assert isinstance(notification, Reschedule) and isinstance(rapid, Reschedule)
    assert notification.due.day == dt.date(2024, 6, 6) and notification.status == "breached"
    assert rapid.due.day == dt.date(2024, 6, 20) and rapid.status == "open"


def test_effective_status_shows_open_past_due_as_breached() -> None:
    due = london("2024-06-11 00:00")
    assert effective_status("open", due, london("2024-06-10 23:59")) == "open"
    assert effective_status("open", due, due) == "breached"
    assert effective_status("met", due, london("2030-01-01 00:00")) == "met"


def test_rule_text_is_recorded_with_every_started_deadline() -> None:
    rule = parse_rule("6 calendar months after decision_on")
    assert rule is not None
    ops = plan_deadlines(PR, "commission_lcspr", "lcspr_commissioned", "lcspr_commissioned",
                         {}, {"decision_on": "2024-05-31"}, [], NOW, CAL)
    [start] = ops
    assert isinstance(start, StartDeadline)
    assert (start.rule, start.anchor_field, start.due.day) == (
        rule.text, "decision_on", dt.date(2024, 11, 30))


def test_a_later_cycle_never_rewrites_an_earlier_breach() -> None:
    """Regression: reviewing a deferral again re-judged the first, late, review as met."""
    late = DeadlineSnapshot(7, "deferral_review", 1, "breached", "2024-11-25",
                            london("2024-12-24 00:00"), london("2025-01-06 00:00"))
    current = DeadlineSnapshot(8, "deferral_review", 2, "open", "2025-01-06",
                               london("2025-02-04 00:00"))
    old = {"deferral_reviewed_on": "2025-01-06"}
    new = {"deferral_reviewed_on": "2025-01-30"}
    ops = plan_deadlines(PR, "review_deferral", None, "publication_deferred", old, new,
                         [late, current], london("2025-01-30 12:00"), CAL)
    assert [o.id for o in ops if not isinstance(o, StartDeadline)] == [8]
    # ...while a correction of the same field re-judges only the latest cycle.
    ops = plan_deadlines(PR, "correct", None, "publication_deferred", old, new,
                         [late, current], london("2025-01-30 12:00"), CAL)
    assert all(getattr(o, "id", None) != 7 for o in ops)


def test_a_first_review_counts_from_the_day_it_was_decided_not_recorded() -> None:
    data = {"deferral_reason": "inquest", "deferred_on": "2024-11-20"}
    ops = plan_deadlines(PR, "defer_publication", "publication_deferred",
                         "publication_deferred", {}, data, [], london("2024-11-28 12:00"), CAL)
    [start] = [o for o in ops if isinstance(o, StartDeadline)]
    assert (start.anchor_value, start.due.day) == ("2024-11-20", dt.date(2024, 12, 18))
