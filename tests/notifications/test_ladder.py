"""Unit tests of the alert ladder: parsing, arithmetic, catch-up. Pure, no database."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.core.calendar import WorkingCalendar
from engine.core.clock import LONDON, end_of_day
from engine.core.definition import DEFAULT_ALERTS, OWNER, AlertRungDef
from engine.core.errors import DefinitionError
from engine.core.ladder import due_day_of, due_now, next_alert_at, plan_rungs, roles_for
from engine.core.loader import load_text
from engine.core.registry import WorkflowRegistry
from engine.core.settings import SHIPPED_WORKFLOWS

CAL = WorkingCalendar()
LADDER = (
    AlertRungDef(-5, "reminder"), AlertRungDef(-2, "reminder"), AlertRungDef(0, "due"),
    AlertRungDef(1, "overdue"), AlertRungDef(3, "escalation", (OWNER, "partnership_manager")),
)


def at(day: str, hour: int = 7) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{hour:02d}:00").replace(tzinfo=LONDON)


def test_rungs_count_working_days_around_the_due_day() -> None:
    due = dt.date(2024, 6, 10)  # Monday
    planned = plan_rungs(LADDER, end_of_day(due), due, CAL)
    assert [(p.key, p.day.isoformat()) for p in planned] == [
        ("5wd-before", "2024-06-03"), ("2wd-before", "2024-06-06"), ("due", "2024-06-10"),
        ("1wd-after", "2024-06-11"), ("3wd-after", "2024-06-13")]
    assert planned[0].at == at("2024-06-03")


def test_rungs_skip_bank_holidays_and_follow_dst() -> None:
    due = dt.date(2024, 12, 24)  # Christmas and Boxing Day are not working days
    planned = {p.key: p for p in plan_rungs(LADDER, end_of_day(due), due, CAL)}
    assert planned["1wd-after"].day == dt.date(2024, 12, 27)
    assert planned["3wd-after"].day == dt.date(2024, 12, 31)  # Fri 27, Mon 30, Tue 31
    assert planned["due"].at.hour == 7  # GMT: 07:00 London is 07:00 UTC
    summer = plan_rungs(LADDER, end_of_day(dt.date(2024, 7, 1)), dt.date(2024, 7, 1), CAL)
    assert summer[2].at.astimezone(dt.UTC).hour == 6  # BST


def test_hour_deadlines_take_their_london_day() -> None:
    due_at = dt.datetime(2024, 6, 8, 21, 30, tzinfo=LONDON)  # a Saturday
    assert due_day_of(due_at, None) == dt.date(2024, 6, 8)
    planned = {p.key: p.day for p in plan_rungs(LADDER, due_at, None, CAL)}
    assert planned["1wd-after"] == dt.date(2024, 6, 10)


def test_due_now_sends_the_latest_and_skips_the_rest() -> None:
    due = dt.date(2024, 6, 10)
    planned = plan_rungs(LADDER, end_of_day(due), due, CAL)
    send, skip = due_now(planned, set(), at("2024-06-11", 9))
    assert send is not None and send.key == "1wd-after"
    assert [p.key for p in skip] == ["5wd-before", "2wd-before", "due"]
    done = {"5wd-before", "2wd-before", "due", "1wd-after"}
    assert due_now(planned, done, at("2024-06-11", 9)) == (None, [])
    assert next_alert_at(planned, done) == at("2024-06-13")
    assert next_alert_at(planned, {p.key for p in planned}) is None
    assert due_now(planned, set(), at("2024-06-03", 6)) == (None, [])  # before 07:00


def test_roles_replace_owner_and_drop_duplicates() -> None:
    rung = AlertRungDef(3, "escalation", (OWNER, "partnership_manager", OWNER))
    assert roles_for(rung, "case_review_chair") == ("case_review_chair", "partnership_manager")
    assert roles_for(rung, None) == ("partnership_manager",)


def test_practice_review_declares_ladders_and_others_default() -> None:
    definition = WorkflowRegistry.from_directory(SHIPPED_WORKFLOWS).get("practice_review")
    keys = {name: [r.key for r in c.alerts] for name, c in definition.clocks.items()}
    assert keys["rapid_review"] == ["5wd-before", "2wd-before", "due", "1wd-after", "3wd-after"]
    assert definition.clocks["rapid_review"].alerts[-1].to == (
        "case_review_chair", "partnership_manager")


MINIMAL = """
workflow: w
version: 1
title: W
fields:
  start_on: {type: date}
open: {requires: [start_on]}
states:
  a: {initial: true, description: a}
  b: {final: true, description: b}
transitions:
  - {trigger: go, from: a, to: b}
clocks:
  c:
    rule: 5 working days after start_on
    starts: {enter: [a]}
    met: {fire: [go]}
    owner: business_support
"""


def test_a_clock_without_alerts_gets_the_default_ladder() -> None:
    assert load_text(MINIMAL).clocks["c"].alerts == DEFAULT_ALERTS


def test_alert_problems_are_reported_with_their_path() -> None:
    bad = MINIMAL + """    alerts:
      - {at: 3 days before}
      - {at: due, kind: shout}
      - {at: due, to: [chiar]}
      - {at: 1 working day after, whom: x}
"""
    with pytest.raises(DefinitionError) as caught:
        load_text(bad, "w.yaml")
    problems = [(p.path, p.message) for p in caught.value.problems]
    paths = [p for p, _ in problems]
    assert "clocks.c.alerts[0].at" in paths
    assert "clocks.c.alerts[1].kind" in paths
    assert "clocks.c.alerts[2].to" in paths
    assert "clocks.c.alerts[3].whom" in paths
    with pytest.raises(DefinitionError):
        load_text(MINIMAL + "    alerts: due\n")


def test_a_declared_ladder_is_sorted_and_keyed() -> None:
    ladder = load_text(MINIMAL + """    alerts:
      - due
      - {at: 2 working days after, kind: escalation, to: [owner, partnership_manager]}
      - 1 working day before
""").clocks["c"].alerts
    assert [(r.key, r.kind) for r in ladder] == [
        ("1wd-before", "reminder"), ("due", "due"), ("2wd-after", "escalation")]


def test_the_due_rung_of_a_weekend_deadline_goes_out_on_the_friday() -> None:
    due = dt.date(2024, 6, 8)  # Saturday
    planned = {p.key: p.day for p in plan_rungs(LADDER, end_of_day(due), due, CAL)}
    assert planned["due"] == dt.date(2024, 6, 7)
    assert planned["1wd-after"] == dt.date(2024, 6, 10)
    assert all(CAL.is_working_day(day) for day in planned.values())
