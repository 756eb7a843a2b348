"""The deadline planner on the CERAR and MACE definitions: level changes, reviews, keyed
clocks. Pure: snapshots in, operations out (no database)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import pytest

from engine.core.calendar import WorkingCalendar
from engine.core.deadlines import (
    CANCELLED,
    MET,
    OPEN,
    CloseDeadline,
    DeadlineOp,
    DeadlineSnapshot,
    Reschedule,
    StartDeadline,
    plan_deadlines,
)
from engine.core.definition import WorkflowDef
from engine.core.errors import FieldError
from engine.core.registry import WorkflowRegistry
from engine.core.rules import Due
from tests.conftest import london

CAL = WorkingCalendar()
D = dt.date.fromisoformat


@pytest.fixture(scope="module")
def cerar(registry: WorkflowRegistry) -> WorkflowDef:
    return registry.get("cerar")


def _snap(op: StartDeadline, ident: int) -> DeadlineSnapshot:
    return DeadlineSnapshot(ident, op.name, op.cycle, OPEN, op.anchor_value, op.due.at,
                            None, op.key)


def _plan(definition: WorkflowDef, trigger: str, old: Mapping[str, str],
          new: Mapping[str, str], deadlines: Sequence[DeadlineSnapshot], now: str,
          entered: str | None = None, state: str = "assessed") -> list[DeadlineOp]:
    return plan_deadlines(definition, trigger, entered, state, old, new, deadlines,
                          london(now), CAL)


ASSESSED = {"concern_received_on": "2024-06-03", "child_ref": "C-1", "risk_level": "medium",
            "assessed_on": "2024-06-05"}


def _first_review(cerar: WorkflowDef) -> DeadlineSnapshot:
    [op] = [o for o in _plan(cerar, "assess", {}, ASSESSED, [], "2024-06-05 10:00",
                             entered="assessed") if isinstance(o, StartDeadline)
            and o.name == "review"]
    assert op.due.day == D("2024-07-17")  # 6 weeks for medium, from the assessment day
    assert op.rule == ("every 6 weeks while in assessed "
                       "(review_weeks[risk_level], risk_level=medium)")
    return _snap(op, 1)


def test_level_change_reschedules_the_review_from_the_day_of_the_change(
        cerar: WorkflowDef) -> None:
    review = _first_review(cerar)
    new = {**ASSESSED, "risk_level": "high", "level_change_reason": "new intelligence"}
    ops = _plan(cerar, "change_risk_level", ASSESSED, new, [review], "2024-06-20 15:00")
    assert len(ops) == 1
    [op] = ops
    assert isinstance(op, Reschedule) and op.id == 1 and op.status == OPEN
    assert op.anchor_value == "2024-06-20"
    assert op.due.day == D("2024-07-18")  # 4 weeks from the change, not from the assessment
    assert op.rule is not None and "every 4 weeks" in op.rule and "risk_level=high" in op.rule

    # Down to low: 12 weeks from that day.
    ops = _plan(cerar, "change_risk_level", new, {**new, "risk_level": "low"}, [review],
                "2024-06-21 09:00")
    assert isinstance(ops[0], Reschedule) and ops[0].due.day == D("2024-09-13")


def test_record_review_meets_the_current_review_and_starts_the_next(
        cerar: WorkflowDef) -> None:
    review = _first_review(cerar)
    new = {**ASSESSED, "reviewed_on": "2024-07-15"}
    ops = _plan(cerar, "record_review", ASSESSED, new, [review], "2024-07-16 09:00")
    closed = [o for o in ops if isinstance(o, CloseDeadline)]
    started = [o for o in ops if isinstance(o, StartDeadline)]
    assert [(o.id, o.status) for o in closed] == [(1, MET)]
    assert [(o.name, o.cycle, o.due.day) for o in started] == [
        ("review", 2, D("2024-08-26"))]  # 6 weeks from the day the review was held


def test_late_review_is_breached_and_the_next_still_starts(cerar: WorkflowDef) -> None:
    review = _first_review(cerar)
    new = {**ASSESSED, "reviewed_on": "2024-07-18"}
    ops = _plan(cerar, "record_review", ASSESSED, new, [review], "2024-07-18 09:00")
    assert [(type(o).__name__, getattr(o, "status", None)) for o in ops] == [
        ("CloseDeadline", "breached"), ("StartDeadline", None)]


def _episode(cerar: WorkflowDef, old: Mapping[str, str], episode: str, returned: str,
             deadlines: Sequence[DeadlineSnapshot]) -> tuple[dict[str, str], StartDeadline]:
    new = {**old, "episode": episode, "missing_from": "2024-06-01T08:00:00+00:00",
           "returned_at": returned}
    ops = _plan(cerar, "record_missing_episode", old, new, deadlines, "2024-06-12 09:00")
    starts = [o for o in ops if isinstance(o, StartDeadline)]
    assert len(starts) == 1 and len(ops) == 1, ops  # nothing else moves
    return new, starts[0]


def test_keyed_clock_runs_one_deadline_per_episode(cerar: WorkflowDef) -> None:
    data1, m1 = _episode(cerar, ASSESSED, "M1", "2024-06-05T20:30:00+00:00", [])
    assert (m1.key, m1.cycle) == ("M1", 1)
    assert m1.due == Due(at=dt.datetime(2024, 6, 8, 20, 30, tzinfo=dt.UTC), day=None)
    data2, m2 = _episode(cerar, data1, "M2", "2024-06-09T10:00:00+00:00", [_snap(m1, 1)])
    assert (m2.key, m2.cycle) == ("M2", 2)
    both = [_snap(m1, 1), _snap(m2, 2)]

    # The RHI of M1 meets M1 only; M2 stays open.
    rhi = {**data2, "episode": "M1", "rhi_outcome": "held", "rhi_at": "2024-06-07T12:00:00+00:00"}
    ops = _plan(cerar, "record_rhi", data2, rhi, both, "2024-06-12 09:00")
    assert [(type(o).__name__, getattr(o, "id", None), getattr(o, "status", None))
            for o in ops] == [("CloseDeadline", 1, MET)]

    # Correcting M2's return moves M2 only.
    fix = {**data2, "returned_at": "2024-06-09T12:00:00+00:00"}
    ops = _plan(cerar, "correct", data2, fix, both, "2024-06-12 09:00")
    assert [(type(o).__name__, getattr(o, "id", None)) for o in ops] == [("Reschedule", 2)]

    # Closing the case ends every open clock.
    ops = _plan(cerar, "close", data2, {**data2, "closed_on": "2024-06-12",
                                        "close_reason": "moved"}, both, "2024-06-12 09:00",
                entered="closed", state="closed")
    assert sorted((o.id, o.status) for o in ops if isinstance(o, CloseDeadline)) == [
        (1, CANCELLED), (2, CANCELLED)]


def test_keyed_clock_needs_its_key(cerar: WorkflowDef) -> None:
    new = {**ASSESSED, "missing_from": "2024-06-01T08:00:00+00:00",
           "returned_at": "2024-06-02T08:00:00+00:00"}
    with pytest.raises(FieldError, match="episode"):
        _plan(cerar, "record_missing_episode", ASSESSED, new, [], "2024-06-12 09:00")


def test_practice_review_rules_are_untouched(registry: WorkflowRegistry) -> None:
    definition = registry.get("practice_review")
    ops = plan_deadlines(definition, "open", "awaiting_notification", "awaiting_notification",
                         {}, {"became_aware_on": "2024-06-03"}, [], london("2024-06-03 09:00"),
                         CAL)
    assert [(o.name, o.rule, o.key) for o in ops if isinstance(o, StartDeadline)] == [
        ("notification", "5 working days after became_aware_on", None),
        ("rapid_review", "15 working days after became_aware_on", None)]
