"""The Engine on a real database (SQLite and PostgreSQL): cases, events, deadlines, versions."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.core.clock import FixedClock
from engine.core.errors import (
    CaseNotFoundError,
    ConcurrencyError,
    DefinitionError,
    DuplicateCaseError,
    FieldError,
    GuardFailedError,
    TransitionNotAllowedError,
    UsageError,
)
from engine.core.registry import WorkflowRegistry
from engine.core.service import Engine
from engine.core.settings import SHIPPED_WORKFLOWS
from engine.core.store.database import Database
from engine.core.store.models import Case, CaseEvent, Deadline
from tests.conftest import london, make_app

TO_PUBLISHED = [("notify", {"notified_on": "2024-06-07"}),
                ("submit_rapid_review", {"rr_submitted_on": "2024-06-20"}),
                ("commission_lcspr", {"decision_on": "2024-07-01"}),
                ("appoint_reviewer", {"reviewer": "bob", "reviewer_appointed_on": "2024-07-02"}),
                ("approve_final", {"planned_publication_on": "2024-12-02"}),
                ("send_to_panel", {"sent_to_panel_on": "2024-11-20"}),
                ("publish", {"published_on": "2024-12-02"})]
OPEN_FIELDS = {"became_aware_on": "2024-06-03", "child_ref": "C-1001", "label": "Test"}
# The shipped practice review's version (it rises whenever the file changes).
CURRENT = WorkflowRegistry.from_directory(SHIPPED_WORKFLOWS).get("practice_review").version


def _counts(db: Database) -> tuple[int, int, int]:
    with db.read() as s:
        return tuple(int(s.scalar(select(func.count()).select_from(m)) or 0)  # type: ignore[return-value]
                     for m in (Case, CaseEvent, Deadline))


def test_open_records_case_event_and_first_deadlines(engine: Engine) -> None:
    view = engine.open_case("practice_review", "PR-1", OPEN_FIELDS, actor="amy")
    assert view.state == "awaiting_notification"
    assert view.workflow_version == CURRENT and view.version == 1
    due = {d.name: (d.due, d.status, d.rule) for d in view.deadlines}
    assert due == {
        "notification": ("2024-06-10", "open", "5 working days after became_aware_on"),
        "rapid_review": ("2024-06-24", "open", "15 working days after became_aware_on"),
    }
    [event] = engine.history("PR-1", "amy")
    assert (event.trigger, event.actor, event.to_state) == ("open", "amy", "awaiting_notification")


def test_fire_moves_meets_deadline_and_appends_event(engine: Engine, clock: FixedClock) -> None:
    engine.open_case("practice_review", "PR-1", OPEN_FIELDS, actor="amy")
    clock.set(london("2024-06-07 10:00"))
    view = engine.fire("PR-1", "notify", {"notified_on": "2024-06-07"}, actor="bob",
                       note="sent by secure email")
    assert view.state == "rapid_review" and view.version == 2
    notification = next(d for d in view.deadlines if d.name == "notification")
    assert (notification.status, notification.met_on) == ("met", "2024-06-07")
    history = engine.history("PR-1", "amy")
    assert [(e.seq, e.trigger, e.from_state, e.to_state) for e in history] == [
        (1, "open", None, "awaiting_notification"),
        (2, "notify", "awaiting_notification", "rapid_review")]
    assert history[1].changes == {"notified_on": [None, "2024-06-07"]}
    assert history[1].note == "sent by secure email"


def test_late_notification_is_recorded_as_breached(engine: Engine, clock: FixedClock) -> None:
    engine.open_case("practice_review", "PR-1", OPEN_FIELDS, actor="amy")
    clock.set(london("2024-06-12 10:00"))
    before = engine.case("PR-1", "amy")
    assert {d.name: d.status for d in before.deadlines}["notification"] == "breached"
    view = engine.fire("PR-1", "notify", {"notified_on": "2024-06-11"}, actor="bob")
    assert {d.name: d.status for d in view.deadlines}["notification"] == "breached"


def test_refused_fires_change_nothing(engine: Engine, db: Database) -> None:
    engine.open_case("practice_review", "PR-1", OPEN_FIELDS, actor="amy")
    before = _counts(db)
    with pytest.raises(TransitionNotAllowedError, match="allowed: notify"):
        engine.fire("PR-1", "publish", {"published_on": "2024-06-07"}, actor="bob")
    with pytest.raises(FieldError, match="requires 'notified on'"):
        engine.fire("PR-1", "notify", {}, actor="bob")
    with pytest.raises(FieldError, match="not a date"):
        engine.fire("PR-1", "notify", {"notified_on": "7 June"}, actor="bob")
    with pytest.raises(FieldError, match="did you mean 'notified_on'"):
        engine.fire("PR-1", "notify", {"notifed_on": "2024-06-07"}, actor="bob")
    with pytest.raises(CaseNotFoundError):
        engine.fire("PR-404", "notify", {"notified_on": "2024-06-07"}, actor="bob")
    with pytest.raises(DuplicateCaseError):
        engine.open_case("practice_review", "PR-1", OPEN_FIELDS, actor="amy")
    assert _counts(db) == before
    assert engine.case("PR-1", "amy").version == 1


def test_guard_refusal_names_what_is_missing(engine: Engine) -> None:
    engine.open_case("practice_review", "PR-1", OPEN_FIELDS, actor="amy")
    steps = [*TO_PUBLISHED, ("start_action_plan", {"action_plan_started_on": "2024-12-10"})]
    for trigger, values in steps:
        engine.fire("PR-1", trigger, values, actor="amy")
    with pytest.raises(GuardFailedError, match="dissemination tasks"):
        engine.fire("PR-1", "close", {"closed_on": "2025-01-10"}, actor="amy")
    assert engine.case("PR-1", "amy").state == "action_plan"


def test_stale_expected_version_is_a_conflict(engine: Engine) -> None:
    engine.open_case("practice_review", "PR-1", OPEN_FIELDS, actor="amy")
    engine.fire("PR-1", "notify", {"notified_on": "2024-06-07"}, actor="amy",
                expected_version=1)
    with pytest.raises(ConcurrencyError, match="now at version 2"):
        engine.fire("PR-1", "submit_rapid_review", {"rr_submitted_on": "2024-06-20"},
                    actor="bob", expected_version=1)
    assert engine.case("PR-1", "amy").state == "rapid_review"


def test_correcting_the_anchor_recomputes_deadlines(engine: Engine) -> None:
    engine.open_case("practice_review", "PR-1", OPEN_FIELDS, actor="amy")
    view = engine.correct("PR-1", {"became_aware_on": "2024-05-31"}, actor="amy",
                          note="the referral was logged on Friday")
    due = {d.name: d.due for d in view.deadlines}
    assert due == {"notification": "2024-06-07", "rapid_review": "2024-06-21"}
    last = engine.history("PR-1", "amy")[-1]
    assert last.trigger == "correct"
    assert last.changes == {"became_aware_on": ["2024-06-03", "2024-05-31"]}


def test_correcting_the_met_date_rejudges_a_met_deadline(engine: Engine) -> None:
    engine.open_case("practice_review", "PR-1", OPEN_FIELDS, actor="amy")
    engine.fire("PR-1", "notify", {"notified_on": "2024-06-07"}, actor="amy")
    view = engine.correct("PR-1", {"notified_on": "2024-06-12"}, actor="amy",
                          note="typo: it went on the 12th")
    notification = next(d for d in view.deadlines if d.name == "notification")
    assert (notification.status, notification.met_on) == ("breached", "2024-06-12")


def test_a_case_keeps_its_workflow_version_when_the_file_changes(
        engine: Engine, db: Database, clock: FixedClock, tmp_path: object,
        registry: WorkflowRegistry, calendar: object) -> None:
    from pathlib import Path

    engine.open_case("practice_review", "PR-OLD", OPEN_FIELDS, actor="amy")
    folder = Path(str(tmp_path)) / "wf"
    folder.mkdir()
    text = (SHIPPED_WORKFLOWS / "practice_review.yaml").read_text()
    changed = text.replace(f"version: {CURRENT}\n", f"version: {CURRENT + 1}\n").replace(
        "rule: 5 working days after became_aware_on", "rule: 3 working days after became_aware_on")
    (folder / "practice_review.yaml").write_text(changed)
    newer = make_app(db, clock, workflows_dir=folder).engine  # type: ignore[arg-type]
    fresh = newer.open_case("practice_review", "PR-NEW", OPEN_FIELDS, actor="amy")
    assert fresh.workflow_version == CURRENT + 1
    assert {d.name: d.due for d in fresh.deadlines}["notification"] == "2024-06-06"
    old = newer.fire("PR-OLD", "notify", {"notified_on": "2024-06-07"}, actor="amy")
    assert old.workflow_version == CURRENT
    assert {d.name: d.status for d in old.deadlines}["notification"] == "met"

    # Changing the file without bumping its version is refused, not silently mixed.
    (folder / "practice_review.yaml").write_text(
        changed.replace("3 working days after became", "4 working days after became"))
    sneaky = make_app(db, clock, workflows_dir=folder).engine  # type: ignore[arg-type]
    with pytest.raises(DefinitionError, match="already in use with different content"):
        sneaky.open_case("practice_review", "PR-X", OPEN_FIELDS, actor="amy")


def test_list_filters_and_overdue(engine: Engine, clock: FixedClock) -> None:
    engine.open_case("practice_review", "PR-1", OPEN_FIELDS, actor="amy")
    engine.open_case("practice_review", "PR-2", {**OPEN_FIELDS, "became_aware_on": "2024-06-20"},
                     actor="amy")
    engine.fire("PR-2", "notify", {"notified_on": "2024-06-21"}, actor="amy")
    clock.set(london("2024-06-12 09:00"))
    assert [c.ref for c in engine.cases("amy")] == ["PR-1", "PR-2"]
    assert [c.ref for c in engine.cases("amy", state="rapid_review")] == ["PR-2"]
    overdue = engine.cases("amy", overdue=True)
    assert [(c.ref, c.overdue) for c in overdue] == [("PR-1", 1)]
    assert overdue[0].next_deadline is not None
    assert overdue[0].next_deadline.name == "notification"


def test_list_pages_in_the_database_with_the_total(engine: Engine, clock: FixedClock) -> None:
    for n in range(1, 6):
        engine.open_case("practice_review", f"PR-{n}", OPEN_FIELDS, actor="amy")
    clock.set(london("2024-06-12 09:00"))
    first = engine.case_page("amy", limit=2)
    assert ([c.ref for c in first.cases], first.total) == (["PR-1", "PR-2"], 5)
    last = engine.case_page("amy", overdue=True, limit=2, offset=4)
    assert ([c.ref for c in last.cases], last.total) == (["PR-5"], 5)
    assert last.cases[0].next_deadline is not None and last.cases[0].overdue == 1


def test_an_internal_record_with_nothing_to_record_is_refused(engine: Engine) -> None:
    engine.open_case("practice_review", "PR-1", OPEN_FIELDS, actor="amy")
    for trigger, values in TO_PUBLISHED:
        engine.fire("PR-1", trigger, values, actor="amy")
    with pytest.raises(UsageError, match="add at least one of --set training_reviewed_on"):
        engine.fire("PR-1", "record_dissemination", {}, actor="amy")
    assert engine.case("PR-1", "amy").version == 8


def test_events_are_append_only_in_the_database(engine: Engine, db: Database) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DatabaseError

    engine.open_case("practice_review", "PR-1", OPEN_FIELDS, actor="amy")
    for statement in ("UPDATE case_event SET actor = 'mallory'", "DELETE FROM case_event"):
        with pytest.raises(DatabaseError, match="append-only"), db.begin() as conn:
            conn.execute(text(statement))
    assert [e.actor for e in engine.history("PR-1", "amy")] == ["amy"]
