"""Dropping a MACE action no longer needed, on SQLite and PostgreSQL: the row says dropped
with the reason and the day, its deadline is cancelled, the meeting can close; every refusal
is one line and writes nothing; a meeting generated on the workflow version from before
dropping keeps it (and says so). No reminders after a drop: tests/notifications/test_owners.py.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from engine.app import App
from engine.core.clock import FixedClock
from engine.core.errors import PermissionDeniedError, UsageError
from engine.core.settings import SHIPPED_WORKFLOWS
from engine.core.store.database import Database
from engine.core.store.models import AuditRecord, CaseEvent, Deadline, MaceAction
from engine.domains.mace.service import MaceService, OpenActionsError
from tests.conftest import london, make_app

D = dt.date.fromisoformat
MEETING = "MACE-North-2024-06-05"


def _held(mace: MaceService, clock: FixedClock, members: tuple[str, ...] = ("amy", "bob"),
          ) -> str:
    """A meeting held on 5 June with a child on it (named on the child's case), and two
    actions: A1 about the child, owned by amy, and A2, owned by bob."""
    clock.set(london("2024-06-03 09:00"))
    child = mace.cerar.open("C-1", "2024-06-03", "police", "cumberland", "coord",
                            extra={"child_name": "Jo Bloggs"}).case.ref
    mace.create_series("North", "2w", "wednesday", "10:00", "chair", list(members), "coord",
                       horizon_days=10)
    mace.publish(MEETING, "coord")
    clock.set(london("2024-06-05 12:00"))
    mace.hold(MEETING, "coord", [("police", "bob")])
    mace.add_action(MEETING, "Share school attendance", "amy", "education", D("2024-06-14"),
                    "coord", child_case=child)
    mace.add_action(MEETING, "Disruption visit to the park", "bob", "police", D("2024-06-19"),
                    "coord")
    return child


def _written(db: Database) -> tuple[int, list[Any], list[Any]]:
    """Events, deadlines' states and actions' states: what a refused drop must not change."""
    with db.read() as s:
        return (int(s.scalar(select(func.count()).select_from(CaseEvent)) or 0),
                [tuple(r) for r in s.execute(select(
                    col(Deadline.id), col(Deadline.status), col(Deadline.next_alert_at)).order_by(
                    col(Deadline.id)))],
                [tuple(r) for r in s.execute(select(
                    col(MaceAction.id), col(MaceAction.status),
                    col(MaceAction.drop_reason)).order_by(col(MaceAction.id)))])


def _audits(db: Database, action: str, outcome: str = "ok") -> list[AuditRecord]:
    with db.read() as s:
        return list(s.scalars(select(AuditRecord).where(
            col(AuditRecord.action) == action, col(AuditRecord.outcome) == outcome)))


def _action_deadline(mace: MaceService, key: str) -> dict[str, object]:
    return next(d for d in mace.meeting(MEETING, "coord").deadlines
                if d["name"] == "action" and d["key"] == key)


def test_a_dropped_action_is_kept_with_its_reason_and_the_meeting_can_close(
        app: App, db: Database, clock: FixedClock) -> None:
    mace = app.mace
    _held(mace, clock)
    mace.circulate(MEETING, "coord")
    clock.set(london("2024-06-10 09:00"))
    view = mace.drop_action(MEETING, "A1", "  child moved out\n of the area ", "chair",
                            on=D("2024-06-07"))
    assert (view.status, view.drop_reason, view.dropped_on, view.done_on) == (
        "dropped", "child moved out of the area", D("2024-06-07"), None)
    assert view.child_ref == "C-1"
    assert _action_deadline(mace, "A1")["status"] == "cancelled"
    assert _action_deadline(mace, "A2")["status"] == "open"
    listed = {a.ref: a.to_json() for a in mace.actions("coord", meeting=MEETING)}
    assert (listed["A1"]["status"], listed["A1"]["drop_reason"], listed["A1"]["dropped_on"]) \
        == ("dropped", "child moved out of the area", "2024-06-07")
    assert [a.ref for a in mace.actions("coord", open_only=True)] == ["A2"]
    # The case's plan (case show, the case page) says it too.
    plan = app.casework.page(MEETING, "coord").view.plan
    assert [(i.ref, i.status, i.reason) for i in plan] == [
        ("A1", "dropped", "child moved out of the area"), ("A2", "open", None)]
    [record] = _audits(db, "mace.action.drop")
    assert (record.actor, record.case_ref) == ("chair", MEETING)
    assert record.detail["steps"][0]["trigger"] == "drop_action"

    with pytest.raises(OpenActionsError, match=r"open actions \(A2\).*action drop"):
        mace.close(MEETING, "coord")
    mace.drop_action(MEETING, "A2", "taken over by the South meeting", "coord")
    assert mace.close(MEETING, "coord").state == "closed"
    assert {(a["ref"], a["status"], a["dropped_on"]) for a in mace.meeting(
        MEETING, "coord").actions} == {("A1", "dropped", "2024-06-07"),
                                       ("A2", "dropped", "2024-06-10")}


@pytest.mark.parametrize(("action", "reason", "on", "message"), [
    ("A9", "no longer needed", None,
     f"meeting '{MEETING}' has no action 'A9'; open actions: A1, A2"),
    ("A1", "no", None, "the reason an action is dropped is 3 to 300 characters"),
    ("A1", "x" * 301, None, "the reason an action is dropped is 3 to 300 characters"),
    ("A1", "Jo Bloggs moved away", None, "that text names a child"),
    ("A1", "no longer needed", "2024-06-06", "the day 2024-06-06 is still to come"),
    ("A1", "no longer needed", "2024-06-04",
     f"the day 2024-06-04 is before meeting '{MEETING}' was held (2024-06-05)"),
])
def test_a_drop_that_cannot_be_is_refused_in_one_line_and_writes_nothing(
        app: App, db: Database, clock: FixedClock, action: str, reason: str, on: str | None,
        message: str) -> None:
    _held(app.mace, clock)
    before = _written(db)
    with pytest.raises(UsageError) as caught:
        app.mace.drop_action(MEETING, action, reason, "coord", on=D(on) if on else None)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)
    assert _written(db) == before and _audits(db, "mace.action.drop") == []


def test_an_action_done_or_dropped_is_not_dropped_again_nor_done(
        app: App, db: Database, clock: FixedClock) -> None:
    mace = app.mace
    _held(mace, clock)
    mace.complete_action(MEETING, "A1", "amy")
    mace.drop_action(MEETING, "A2", "taken over", "coord")
    before = _written(db)
    calls: list[tuple[Callable[[], object], str]] = [
        (lambda: mace.drop_action(MEETING, "A1", "not needed", "coord"),
         f"action A1 of '{MEETING}' is already done"),
        (lambda: mace.drop_action(MEETING, "A2", "not needed", "coord"),
         f"action A2 of '{MEETING}' is already dropped on 2024-06-05"),
        (lambda: mace.complete_action(MEETING, "A2", "amy"),
         f"action A2 of '{MEETING}' is already dropped on 2024-06-05")]
    for call, text in calls:
        with pytest.raises(UsageError) as caught:
            call()
        assert str(caught.value) == text
    assert _written(db) == before


def test_only_the_coordinator_and_the_chair_drop_and_a_refusal_is_audited(
        app: App, db: Database, clock: FixedClock) -> None:
    app.admin.add_user("amy", "mem", "Mem", "mem@police.example", "Police")
    app.admin.grant("amy", "mem", "mace_member", "cumberland")
    mace = app.mace
    _held(mace, clock, members=("amy", "bob", "mem"))  # invited: reads the meeting
    assert mace.meeting(MEETING, "mem").ref == MEETING
    before = _written(db)
    # Refused before what was sent is looked at: the same answer for any action or reason.
    for action, reason in (("A1", "not needed"), ("A9", "Jo Bloggs")):
        with pytest.raises(PermissionDeniedError, match="drop an action of MACE meeting"):
            mace.drop_action(MEETING, action, reason, "mem")
    assert _written(db) == before
    refused = _audits(db, "mace.action.drop", "refused")
    assert [(r.actor, r.case_ref) for r in refused] == [("mem", MEETING)] * 2
    assert "Jo Bloggs" not in str([r.detail for r in refused])


def _before_dropping(folder: Path) -> Path:
    """The shipped workflows with mace_meeting as it was before actions could be dropped
    (version 4: no drop_action, no reason field, the action clock never cancelled)."""
    for path in SHIPPED_WORKFLOWS.glob("*.yaml"):
        (folder / path.name).write_text(path.read_text(encoding="utf-8"))
    path = folder / "mace_meeting.yaml"
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"(?ms)^  - trigger: drop_action\n.*?(?=^  - trigger: )", "", text)
    text = re.sub(r"(?m)^  action_drop_reason:\n(?:    .*\n)+", "", text)
    text = text.replace("    cancelled: {fire: [drop_action]}\n", "").replace(
        "plan: {owner: action_owner, reason: action_drop_reason}", "plan: {owner: action_owner}")
    text = re.sub(r"(?m)^version: \d+$", "version: 4", text)
    assert "drop_action" not in text and "action_drop_reason" not in text
    path.write_text(text)
    return folder


def test_a_meeting_on_the_version_before_dropping_keeps_it(
        app: App, db: Database, clock: FixedClock, tmp_path: Path) -> None:
    older = make_app(db, clock, workflows_dir=_before_dropping(tmp_path)).mace
    _held(older, clock)  # generated, held and its actions added on version 4
    mace = app.mace  # the shipped workflows: version 5 and later
    view, _agenda, page = mace.meeting_page(MEETING, "coord")
    assert page.view.workflow_version == 4 and view.state == "held"
    assert "drop_action" not in {s.trigger.name for s in page.steps}
    before = _written(db)
    with pytest.raises(UsageError, match=f"meeting '{MEETING}' runs version 4 of the MACE "
                       "meeting workflow, from before actions could be dropped"):
        mace.drop_action(MEETING, "A1", "not needed", "coord")
    assert _written(db) == before
    mace.circulate(MEETING, "coord")
    with pytest.raises(OpenActionsError) as caught:
        mace.close(MEETING, "coord")
    assert "drop" not in str(caught.value)  # only the way this version has
    for ref in ("A1", "A2"):
        assert mace.complete_action(MEETING, ref, "amy").status == "done"
    assert mace.close(MEETING, "coord").state == "closed"
    # Meetings generated now run the shipped version, which drops.
    clock.set(london("2024-06-10 09:00"))
    made = mace.generate("coord", "North")
    shipped = app.engine.registry.get("mace_meeting").version
    assert shipped > 4 and made and {mace.meeting_page(m.ref, "coord")[2].view.workflow_version
                                     for m in made} == {shipped}
