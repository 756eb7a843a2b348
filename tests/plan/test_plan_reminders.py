"""Quarterly update requests through the real notifier sweep with a FixedClock: the owner is
reminded, told when the update is due and overdue, and the escalation goes to the business
group chair too; an update restarts the quarter. And who may update: the owner (a business
group member) their own actions only."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.app import App
from engine.core.clock import FixedClock
from engine.core.errors import CaseNotFoundError, PermissionDeniedError
from engine.core.settings import NotificationSettings
from engine.core.store.database import Database
from engine.core.store.models import Alert, Deadline
from notifications.transports import MemoryTransport
from tests.conftest import london, make_app

PLAN = ("ref,priority,outcome,action,timescale,responsible,owner\n"
        "BP-1,Neglect,Neglect is identified early,Embed the tool,2025-03-31,Groups,owen\n"
        "BP-2,Neglect,Neglect is identified early,Scrutiny,2025-03-31,Business group,olga\n")


@pytest.fixture
def plan_app(db: Database, clock: FixedClock, tmp_path: Path) -> tuple[App, MemoryTransport]:
    memory = MemoryTransport()
    app = make_app(db, clock, tmp_path / "head.json",
                   notifications=NotificationSettings(transport="memory",
                                                      recipients_from="directory"),
                   transport=lambda: memory)
    # amy is an administrator (every role, from the seeded test users)
    for login, role in (("owen", "business_group_member"), ("olga", "business_group_member"),
                        ("bgc", "business_group_chair")):
        app.admin.add_user("amy", login, login.title(), f"{login}@example.org", "Agency")
        app.admin.grant("amy", login, role, None)
    return app, memory


def _sweep_days(app: App, clock: FixedClock, first: dt.date, last: dt.date) -> None:
    day = first
    while day <= last:
        clock.set(london(f"{day.isoformat()} 07:00"))
        app.notifier.sweep()
        app.notifier.dispatch()
        day += dt.timedelta(days=1)


def _alerts(db: Database, case_ref: str) -> dict[str, set[str]]:
    from engine.core.store.models import Case

    with db.read() as session:
        rows = session.execute(select(Alert.kind, Alert.recipients).join(
            Deadline, Deadline.id == Alert.deadline_id).join(
            Case, Case.id == Deadline.case_id).where(Case.ref == case_ref)).all()
    out: dict[str, set[str]] = {}
    for kind, recipients in rows:
        out.setdefault(kind, set()).update(r["address"] for r in recipients)
    return out


def test_owner_reminded_chair_gets_the_escalation(
        plan_app: tuple[App, MemoryTransport], db: Database, clock: FixedClock) -> None:
    app, memory = plan_app
    clock.set(london("2024-06-03 09:00"))
    app.plan.import_plan("plan.csv", PLAN, "amy", "2024-06-03")
    due = [d for d in app.engine.case("BP-1", "amy").deadlines if d.name == "update"]
    assert [(d.due, d.status) for d in due] == [("2024-09-02", "open")]  # 13 weeks

    # BP-2's owner updates in time; BP-1's owner misses the quarter.
    _sweep_days(app, clock, dt.date(2024, 6, 3), dt.date(2024, 8, 27))
    clock.set(london("2024-08-28 10:00"))
    app.plan.update("BP-2", "green", "on track", "olga")
    _sweep_days(app, clock, dt.date(2024, 8, 28), dt.date(2024, 9, 13))

    missed = _alerts(db, "BP-1")
    assert set(missed) == {"reminder", "due", "overdue", "escalation"}
    for kind in ("reminder", "due", "overdue"):
        assert missed[kind] == {"owen@example.org"}, kind
    assert {"owen@example.org", "bgc@example.org"} <= missed["escalation"]
    met = _alerts(db, "BP-2")
    assert set(met) == {"reminder"} and met["reminder"] == {"olga@example.org"}
    # The update met the quarter and started the next, 13 weeks from the update.
    quarters = [(d.cycle, d.status, d.due)
                for d in app.engine.case("BP-2", "amy").deadlines if d.name == "update"]
    assert quarters == [(1, "met", "2024-09-02"), (2, "open", "2024-11-27")]
    subjects = [m["Subject"] for m in memory.sent]
    assert any(s.startswith("Escalation: quarterly update for BP-1") for s in subjects)


def test_owners_update_only_their_own_actions(
        plan_app: tuple[App, MemoryTransport], clock: FixedClock) -> None:
    app, _memory = plan_app
    clock.set(london("2024-06-03 09:00"))
    with pytest.raises(PermissionDeniedError):
        app.plan.import_plan("plan.csv", PLAN, "owen")  # a member cannot import the plan
    app.plan.import_plan("plan.csv", PLAN, "bgc")
    clock.set(london("2024-07-01 09:00"))
    view = app.plan.update("BP-1", "amber", "training delayed", "owen")
    assert view.rating.text == "Amber (at risk)"
    with pytest.raises(CaseNotFoundError):  # another owner's action: as if it did not exist
        app.plan.update("BP-2", "green", "x", "owen")
    assert [a.ref for a in app.plan.actions("owen")] == ["BP-1"]
    assert [a.ref for a in app.plan.actions("bgc")] == ["BP-1", "BP-2"]
    # The chair may update any action; the history names who did.
    app.plan.update("BP-2", "green", "chased", "bgc")
    [bp2] = app.plan.actions("bgc", "BP-2")
    assert [(h.by, h.rag, h.note) for h in bp2.history] == [("bgc", "green", "chased")]
