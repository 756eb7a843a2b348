from __future__ import annotations

import datetime as dt

import pytest

from engine.core.calendar import WorkingCalendar
from engine.core.clock import LONDON, UTC
from engine.core.rules import compute_due, parse_rule

CAL = WorkingCalendar()
D = dt.date.fromisoformat


@pytest.mark.parametrize(("text", "kind", "amount", "anchor", "state"), [
    ("5 working days after became_aware_on", "working_days_after", 5, "became_aware_on", None),
    ("1 working day after x", "working_days_after", 1, "x", None),
    ("7 Working Days  before planned_publication_on", "working_days_before", 7,
     "planned_publication_on", None),
    ("6 calendar months after decision_on", "months_after", 6, "decision_on", None),
    ("72 hours after returned_at", "hours_after", 72, "returned_at", None),
    ("every 4 weeks while in publication_deferred", "every_weeks", 4, None,
     "publication_deferred"),
])
def test_rules_parse(text: str, kind: str, amount: int, anchor: str | None,
                     state: str | None) -> None:
    rule = parse_rule(text)
    assert rule is not None
    assert (rule.kind, rule.amount, rule.anchor, rule.state) == (kind, amount, anchor, state)


@pytest.mark.parametrize("text", ["5 days after x", "five working days after x",
                                  "every 0 weeks while in s", "6 months after", ""])
def test_unreadable_rules_are_rejected(text: str) -> None:
    assert parse_rule(text) is None


def test_working_days_due_is_end_of_london_day() -> None:
    rule = parse_rule("5 working days after became_aware_on")
    assert rule is not None
    due = compute_due(rule, D("2024-06-03"), CAL)
    assert due.day == D("2024-06-10")
    # End of Mon 10 June in London (BST) is 23:00 UTC that day.
    assert due.at == dt.datetime(2024, 6, 10, 23, 0, tzinfo=UTC)


def test_seventy_two_clock_hours_from_wednesday_night_is_saturday_night() -> None:
    rule = parse_rule("72 hours after returned_at")
    assert rule is not None
    returned = dt.datetime(2024, 6, 5, 21, 30, tzinfo=LONDON)  # a Wednesday
    due = compute_due(rule, returned, CAL)
    assert due.day is None
    assert due.at.astimezone(LONDON) == dt.datetime(2024, 6, 8, 21, 30, tzinfo=LONDON)


def test_hours_are_elapsed_hours_across_a_clock_change() -> None:
    rule = parse_rule("72 hours after returned_at")
    assert rule is not None
    # Clocks go back at 02:00 BST on Sunday 27 October 2024: 72 elapsed hours later the
    # London wall clock reads one hour earlier.
    returned = dt.datetime(2024, 10, 25, 21, 30, tzinfo=LONDON)
    due = compute_due(rule, returned, CAL)
    assert due.at - returned == dt.timedelta(hours=72)
    assert due.at.astimezone(LONDON).strftime("%a %H:%M") == "Mon 20:30"


def test_months_and_weeks() -> None:
    months = parse_rule("6 calendar months after decision_on")
    weeks = parse_rule("every 4 weeks while in publication_deferred")
    assert months is not None and weeks is not None
    assert compute_due(months, D("2024-05-31"), CAL).day == D("2024-11-30")
    assert compute_due(weeks, D("2024-06-03"), CAL).day == D("2024-07-01")
