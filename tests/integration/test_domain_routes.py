"""Domain-owned triggers (``via:``) on a real database (SQLite and PostgreSQL): the generic
fire refuses them and writes nothing; the CERAR and MACE services still record them."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import SQLModel

from engine.app import App
from engine.core.clock import FixedClock
from engine.core.errors import CaseNotFoundError, DomainOwnedError
from engine.core.service import Engine
from engine.core.settings import SHIPPED_WORKFLOWS
from engine.core.store.database import Database
from engine.domains.mace.service import MaceService
from tests.conftest import london, make_app

D = dt.date.fromisoformat
# Everything a fire or a domain command could write, except the audit trail.
TABLES = ("case", "case_event", "deadline", "case_involvement", "outbox", "missing_episode",
          "mace_meeting", "mace_attendance", "mace_decision", "mace_action")
A, B = "MACE-North-2024-06-05", "MACE-North-2024-06-19"
CHILD = "CE-C-1"


@pytest.fixture
def mace(app: App) -> MaceService:
    return app.mace


def _rows(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    with db.read() as session:
        return {name: sorted((tuple(r) for r in session.execute(
            select(SQLModel.metadata.tables[name]))), key=repr) for name in TABLES}


def _audit(db: Database) -> list[tuple[Any, ...]]:
    table = SQLModel.metadata.tables["audit_record"]
    with db.read() as session:
        return [(r.action, r.outcome) for r in session.execute(
            select(table).order_by(table.c.id))]


def _world(mace: MaceService, clock: FixedClock) -> None:
    """A child at high concern with one missing episode; meeting A held (action A1, minutes
    circulated), meeting B with its agenda published, later meetings scheduled."""
    clock.set(london("2024-06-03 09:00"))
    cerar = mace.cerar
    cerar.open("C-1", "2024-06-03", "police", "cumberland", "amy")
    cerar.fire(CHILD, "screen", {"screened_on": "2024-06-03"}, "amy")
    cerar.fire(CHILD, "assess", {"assessed_on": "2024-06-03", "risk_level": "high"}, "mgr")
    cerar.record_missing(CHILD, "2024-06-01T22:00", "2024-06-02T09:00", "coord")
    mace.create_series("North", "2w", "wednesday", "10:00", "chair", ["amy"], "coord",
                       horizon_days=40)
    mace.publish(A, "coord")
    clock.set(london("2024-06-05 12:00"))
    mace.hold(A, "coord", [("police", "bob")])
    mace.add_action(A, "Share school attendance", "amy", "education", D("2024-06-12"),
                    "coord", child_case=CHILD)
    mace.circulate(A, "coord")
    mace.publish(B, "coord")


# (case, trigger, values that would be accepted, the command named)
GENERIC_ATTEMPTS = [
    (A, "record_decision", {"decision_case": "CE-C-9999", "decision": "review_done"},
     "safeguard mace decide"),
    (A, "add_action", {"action_ref": "A9", "action_due_on": "2024-06-20"},
     "safeguard mace action add"),
    (A, "complete_action", {"action_ref": "A1", "action_done_on": "2024-06-05"},
     "safeguard mace action done"),
    (A, "drop_action", {"action_ref": "A1", "action_drop_reason": "taken over"},
     "safeguard mace action drop"),
    (A, "close", {"closed_on": "2024-06-05"}, "safeguard mace close"),
    (B, "hold", {"held_on": "2024-06-05"}, "safeguard mace hold"),
    (B, "reschedule", {"meeting_on": "2024-06-20", "starts_at": "2024-06-20T09:00:00+00:00",
                       "reschedule_reason": "room"}, "safeguard mace reschedule"),
    (B, "cancel", {"cancel_reason": "no quorum"}, "safeguard mace cancel"),
    ("MACE-North-2024-07-03", "publish_agenda", {"agenda_published_on": "2024-06-05"},
     "safeguard mace publish"),
    (CHILD, "record_missing_episode", {"episode": "M2", "missing_from": "2024-06-04T20:00",
                                       "returned_at": "2024-06-05T08:00"},
     "safeguard cerar missing"),
    (CHILD, "record_rhi", {"episode": "M1", "rhi_outcome": "held",
                           "rhi_at": "2024-06-04T10:00"}, "safeguard cerar rhi"),
    (CHILD, "change_risk_level", {"risk_level": "high", "level_change_reason": "x"},
     "safeguard cerar level"),
]


def test_the_generic_fire_refuses_every_domain_owned_trigger_and_writes_nothing(
        mace: MaceService, engine: Engine, db: Database, clock: FixedClock) -> None:
    _world(mace, clock)
    for ref, trigger, values, command in GENERIC_ATTEMPTS:
        shown = engine.case(ref, "coord")
        offered = {t.name: t.via for t in shown.available_triggers}
        assert offered.get(trigger) == command, (ref, trigger, offered)  # listed, with its form
        before, audit = _rows(db), _audit(db)
        with pytest.raises(DomainOwnedError) as caught:
            engine.fire(ref, trigger, values, "coord", command="case advance")
        assert str(caught.value).startswith(f"'{trigger}' is recorded through '{command}'")
        assert _rows(db) == before, trigger
        assert _audit(db) == audit  # a usage error, like a missing field: not audited
        # The same as a step of a caller's unit: generic unless told otherwise.
        with pytest.raises(DomainOwnedError), engine.unit("coord", "test.fire") as unit:
            engine.fire(ref, trigger, values, "coord", unit=unit)
        assert _rows(db) == before, trigger
    # Plain steps stay on the generic route.
    assert {t.name: t.via for t in engine.case(CHILD, "coord").available_triggers}[
        "record_review"] is None
    engine.fire(CHILD, "record_review", {"reviewed_on": "2024-06-05"}, "coord")


def test_the_domain_services_still_record_them(mace: MaceService, engine: Engine,
                                               db: Database, clock: FixedClock) -> None:
    _world(mace, clock)
    out = mace.decide(A, CHILD, "level_changed", "chair", level="medium", reason="engaging")
    assert out["child"]["data"] == {} and mace.cerar.show(CHILD, "coord").case.data[
        "risk_level"] == "medium"
    assert mace.complete_action(A, "A1", "amy").status == "done"
    assert mace.close(A, "coord").state == "closed"
    assert mace.hold(B, "coord", [("police", "bob")]).state == "held"
    view = mace.cerar.record_rhi(CHILD, "M1", "held", "2024-06-04T10:00", "coord")
    assert [(e.episode, e.rhi_outcome) for e in view.episodes] == [("M1", "held")]
    assert mace.cerar.fire(CHILD, "change_risk_level", {
        "risk_level": "low", "level_change_reason": "settled"}, "mgr").case.data[
        "risk_level"] == "low"
    with pytest.raises(DomainOwnedError, match="safeguard cerar missing"):
        mace.cerar.fire(CHILD, "record_missing_episode", {}, "coord")  # not its route either


def test_a_decision_or_an_action_about_an_unknown_child_is_refused(
        mace: MaceService, db: Database, clock: FixedClock) -> None:
    _world(mace, clock)
    before = _rows(db)
    with pytest.raises(CaseNotFoundError, match="no case 'CE-C-9999' in workflow 'cerar'"):
        mace.decide(A, "CE-C-9999", "review_done", "chair")
    with pytest.raises(CaseNotFoundError, match="no case 'CE-C-9999'"):
        mace.add_action(A, "Share school attendance", "amy", "education", D("2024-06-12"),
                        "coord", child_case="CE-C-9999")
    with pytest.raises(CaseNotFoundError, match=f"no case '{B}' in workflow 'cerar'"):
        mace.decide(A, B, "review_done", "chair")  # a case, but not a child's
    assert _rows(db) == before
    assert mace.meeting(A, "coord").decisions == ()
    assert [a.ref for a in mace.actions("coord")] == ["A1"]


def test_a_case_opened_before_its_domain_claimed_the_trigger_is_refused_too(
        app: App, db: Database, clock: FixedClock, tmp_path: Path) -> None:
    engine = app.engine
    folder = tmp_path / "older"
    folder.mkdir()
    for path in SHIPPED_WORKFLOWS.glob("*.yaml"):
        text = re.sub(r"(?m)^    via: .*\n", "", path.read_text(encoding="utf-8"))
        (folder / path.name).write_text(re.sub(r"(?m)^version: \d+$", "version: 1", text))
    older = make_app(db, clock, workflows_dir=folder).cerar
    older.open("C-1", "2024-06-03", "police", "cumberland", "amy")
    before = _rows(db)
    with pytest.raises(DomainOwnedError, match="safeguard cerar missing"):
        engine.fire(CHILD, "record_missing_episode", {
            "episode": "M1", "missing_from": "2024-06-01T22:00",
            "returned_at": "2024-06-02T09:00"}, "coord")
    assert _rows(db) == before
    view = app.cerar.record_missing(
        CHILD, "2024-06-01T22:00", "2024-06-02T09:00", "coord")
    assert view.case.workflow_version == 1 and [e.episode for e in view.episodes] == ["M1"]
