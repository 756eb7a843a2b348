"""The alert store and the directory on a real database (SQLite and PostgreSQL): claiming due
deadlines (and skipping locked ones), recording each rung once, moving the work list on, the
listings the notifier shows, and who holds which role where."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from engine.core.clock import end_of_day
from engine.core.service import Engine
from engine.core.store.access_store import AccessStore
from engine.core.store.alert_store import ALERTS, AlertStore, NewAlert
from engine.core.store.cases import CASES
from engine.core.store.database import Database
from engine.core.store.directory import Directory
from tests.conftest import AREA, london

OPEN_FIELDS = {"became_aware_on": "2024-06-03", "child_ref": "C-1001", "label": "Test"}
NOTIFICATION_RUNG = london("2024-06-06 07:00")  # 2 working days before 10 June


def _open(engine: Engine, *refs: str) -> None:
    for ref in refs:
        engine.open_case("practice_review", ref, OPEN_FIELDS, actor="amy")


def _raised(deadline_id: int, case_id: int, rung: str = "2wd-before",
            at: dt.datetime = NOTIFICATION_RUNG) -> NewAlert:
    return NewAlert(deadline_id=deadline_id, case_id=case_id, rung=rung, kind="reminder",
                    status="raised", fire_at=at, due_at=london("2024-06-10 23:59"),
                    raised_at=at, recipients=[{"role": "business_support",
                                               "address": "support@example.org"}])


def test_claim_returns_only_due_deadlines_earliest_first(engine: Engine, db: Database) -> None:
    _open(engine, "PR-1", "PR-2")
    with db.begin() as conn:
        store = AlertStore(conn)
        assert store.claim_due(london("2024-06-06 06:59"), 10) == []
        due = store.claim_due(london("2024-06-06 08:00"), 10)
        assert [(d.ref, d.name) for d in due] == [("PR-1", "notification"),
                                                  ("PR-2", "notification")]
        first = due[0]
        assert (first.workflow, first.state, first.area, first.status, first.owner_role) == (
            "practice_review", "awaiting_notification", AREA, "open", "business_support")
        assert first.due_day == dt.date(2024, 6, 10) and first.rule.startswith("5 working")
        assert len(store.claim_due(london("2024-06-06 08:00"), 1)) == 1
        later = store.claim_due(london("2024-06-17 08:00"), 10)  # rapid review's first rung
        assert sorted((d.ref, d.name) for d in later) == [
            ("PR-1", "notification"), ("PR-1", "rapid_review"),
            ("PR-2", "notification"), ("PR-2", "rapid_review")]


def test_a_second_sweep_skips_the_deadlines_another_holds(engine: Engine, db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite write transactions are serial: there is no second claimer")
    _open(engine, "PR-1", "PR-2")
    now = london("2024-06-06 08:00")
    with db.begin() as first:
        [held] = AlertStore(first).claim_due(now, 1)
        with db.begin() as second:
            others = AlertStore(second).claim_due(now, 10)
        assert held.ref == "PR-1" and [d.ref for d in others] == ["PR-2"]


def test_recording_the_same_rung_twice_records_it_once(engine: Engine, db: Database) -> None:
    _open(engine, "PR-1")
    with db.begin() as conn:
        [due] = AlertStore(conn).claim_due(NOTIFICATION_RUNG, 10)
        ids = AlertStore(conn).record_alerts([
            _raised(due.id, due.case_id),
            _raised(due.id, due.case_id, "due", london("2024-06-10 07:00"))])
    assert set(ids) == {(due.id, "2wd-before"), (due.id, "due")}
    assert len(set(ids.values())) == 2
    with pytest.raises(IntegrityError), db.begin() as conn:  # the whole transaction goes
        AlertStore(conn).record_alerts([_raised(due.id, due.case_id)])
    with db.begin_read() as conn:
        assert conn.scalar(select(func.count()).select_from(ALERTS)) == 2
        done = AlertStore(conn).done_rungs([due.id, due.id + 1000])
    assert done == {due.id: {"2wd-before", "due"}, due.id + 1000: set()}
    with db.begin() as conn:
        assert AlertStore(conn).record_alerts([]) == {}


def test_moving_next_alert_at_takes_a_deadline_off_the_work_list(engine: Engine,
                                                                 db: Database) -> None:
    _open(engine, "PR-1", "PR-2")
    now = london("2024-06-06 08:00")
    with db.begin() as conn:
        store = AlertStore(conn)
        first, second = store.claim_due(now, 10)
        store.move_next_alerts([(first.id, None), (second.id, london("2024-06-10 07:00"))])
        store.move_next_alerts([])
    with db.begin() as conn:
        assert AlertStore(conn).claim_due(now, 10) == []
        [again] = AlertStore(conn).claim_due(london("2024-06-10 07:00"), 10)
    assert again.id == second.id


def test_the_listings_and_the_digest_read(engine: Engine, db: Database) -> None:
    _open(engine, "PR-1")
    now = london("2024-06-06 08:00")
    with db.begin() as conn:
        store = AlertStore(conn)
        [due] = store.claim_due(now, 10)
        [rung] = store.due_rungs(now)
        assert (rung.case, rung.deadline, rung.next_alert_at, rung.due_day) == (
            "PR-1", "notification", NOTIFICATION_RUNG, dt.date(2024, 6, 10))
        assert store.due_rungs(now, areas=["elsewhere"]) == []
        store.record_alerts([_raised(due.id, due.case_id),
                             NewAlert(due.id, due.case_id, "5wd-before", "reminder",
                                      "skipped", now, due.due_at, now, [])])
    with db.begin_read() as conn:
        store = AlertStore(conn)
        [alert] = store.raised_alerts(now)  # the skipped rung is not listed
        assert (alert.case, alert.deadline, alert.rung, alert.kind) == (
            "PR-1", "notification", "2wd-before", "reminder")
        assert alert.recipients == [{"role": "business_support",
                                     "address": "support@example.org"}]
        assert store.raised_alerts(now, areas=[AREA]) == [alert]
        assert store.raised_alerts(now, areas=["elsewhere"]) == []
        assert store.raised_alerts(now, overdue=True) == []  # due on 10 June, still open
        assert store.raised_alerts(london("2024-06-11 08:00"), overdue=True) == [alert]
        assert store.open_deadlines_due_by(end_of_day(dt.date(2024, 6, 7))) == []
        assert [d.name for d in store.open_deadlines_due_by(end_of_day(dt.date(2024, 6, 10)))] == [
            "notification"]
        soon = store.open_deadlines_due_by(end_of_day(dt.date(2024, 6, 30)))
        assert [d.name for d in soon] == ["notification", "rapid_review"]  # soonest first
        assert {d.ref for d in soon} == {"PR-1"}


def test_the_directory_lists_active_users_live_grants(engine: Engine, db: Database) -> None:
    now = london("2024-06-03 09:00")
    _open(engine, "PR-1")  # while there is one area
    with db.begin() as conn:
        access = AccessStore(conn)
        access.add_area("south", "South")
        for login in ("nina", "sam", "gone", "moved"):
            access.add_user(login, login, f"{login}@example.org", "LA", now)
        ids = {login: access.user_id(login) for login in ("nina", "sam", "gone", "moved")}
        for login, area in [("nina", AREA), ("sam", "south"), ("gone", AREA),
                            ("moved", AREA)]:
            user_id = ids[login]
            assert user_id is not None
            access.grant(user_id, "mace_member", area, "amy", now)
        access.revoke(ids["moved"] or 0, "mace_member", AREA, "amy", now)
        access.disable(ids["gone"] or 0, now)
    with db.begin_read() as conn:
        directory = Directory(conn)
        holders = [(h.area, h.email) for h in directory.role_holders()
                   if h.role == "mace_member"]
        assert (AREA, "nina@example.org") in holders and ("south", "sam@example.org") in holders
        assert (None, "amy@example.org") in holders  # seeded: every role, every area
        assert not any(email in ("gone@example.org", "moved@example.org")
                       for _, email in holders)
        assert directory.email_of("nina") == "nina@example.org"
        assert directory.email_of("nobody") is None
        assert directory.case_area("practice_review", "PR-1") == AREA
        assert directory.case_area("mace_meeting", "PR-1") is None
        case_id = conn.scalar(select(CASES.c.id).where(CASES.c.ref == "PR-1"))
        assert directory.area_of_case(case_id) == AREA
        assert directory.area_of_case(case_id + 1000) is None
        assert list(conn.scalars(Directory.cases_in([AREA]))) == [case_id]
        assert list(conn.scalars(Directory.cases_in(["south"]))) == []
