"""Meetings notify their invitees; the scheduler generates meetings daily; users mail cannot
reach are reported (sweep summary, status), never sent to a placeholder; the digest shows each
deadline once, what is new since the last digest first (issue 14)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.app import App
from engine.apps.report.status import dashboard, dashboard_text
from engine.core.clock import FixedClock
from engine.core.errors import EngineError
from engine.core.settings import NotificationSettings
from engine.core.store.access_store import AccessStore
from engine.core.store.database import Database
from engine.core.store.models import OutboxMessage
from notifications.scheduler import build_scheduler
from notifications.transports import MemoryTransport
from tests.conftest import london, make_app, seed_access
from tests.notifications.conftest import OPEN_FIELDS


def _app(db: Database, clock: FixedClock, tmp_path: Path) -> App:
    seed_access(db)
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    with db.begin() as conn:  # a member with only the placeholder address 'init' gives
        store = AccessStore(conn)
        store.add_user("nomail", "No Mail", "nomail@localhost", "Police", now)
        user_id = store.user_id("nomail")
        assert user_id is not None
        store.grant(user_id, "mace_member", None, "tests", now)
        store.grant(user_id, "partnership_manager", None, "tests", now)
    return make_app(db, clock, tmp_path / "head.json",
                    notifications=NotificationSettings(
                        transport="memory", recipients_from="directory",
                        base_url="https://sg.example.org"),
                    transport=MemoryTransport)


def _mail(db: Database, template: str) -> list[OutboxMessage]:
    with db.read() as session:
        return list(session.scalars(select(OutboxMessage).where(
            OutboxMessage.template == template).order_by(OutboxMessage.id)))  # type: ignore[arg-type]


def test_publishing_the_agenda_and_circulating_minutes_email_the_invitees(
        db: Database, clock: FixedClock, tmp_path: Path) -> None:
    app = _app(db, clock, tmp_path)
    clock.set(london("2024-06-03 09:00"))
    view = app.mace.create_series("North", "2w", "wednesday", "10:00", "chair",
                                  ["amy", "nomail"], "coord", horizon_days=10)
    ref = view.meetings[0].ref
    app.mace.publish(ref, "coord")
    published = _mail(db, "case_event")
    assert {m.to_address for m in published} == {"chair@example.org", "amy@example.org"}
    for message in published:
        assert ref in message.subject and "agenda has been published" in message.subject
        assert f"https://sg.example.org/cases/{ref}" in message.body_text
        assert "read it in safeguard before the meeting" in message.body_text
    with pytest.raises(EngineError):  # a refused command enqueues nothing
        app.mace.publish(ref, "coord")
    assert len(_mail(db, "case_event")) == 2
    clock.set(london("2024-06-05 12:00"))
    app.mace.hold(ref, "coord", [("police", "amy")])
    app.mace.circulate(ref, "coord")
    minutes = _mail(db, "case_event")[2:]
    assert {m.to_address for m in minutes} == {"chair@example.org", "amy@example.org"}
    assert all("minutes circulated" in m.subject for m in minutes)


def test_the_scheduler_generates_meetings_daily_and_idempotently(
        db: Database, clock: FixedClock, tmp_path: Path) -> None:
    app = _app(db, clock, tmp_path)
    clock.set(london("2024-06-03 09:00"))
    app.mace.create_series("North", "1w", "wednesday", "10:00", "chair", ["amy"], "coord",
                           horizon_days=10)
    [(name, job)] = app.daily_jobs()
    assert name == "mace generate"
    clock.set(london("2024-06-10 09:00"))  # a week on: one more meeting inside the horizon
    assert job("coord").startswith("1 meeting(s) generated: MACE-North-2024-06-19")
    assert job("coord") == "0 meeting(s) generated"
    scheduler = build_scheduler(app.notifier, lambda _line: None, app.daily_jobs(), "coord")
    assert "daily:mace generate" in {j.id for j in scheduler.get_jobs()}


def test_users_mail_cannot_reach_are_reported_not_mailed(
        db: Database, clock: FixedClock, tmp_path: Path) -> None:
    app = _app(db, clock, tmp_path)
    clock.set(london("2024-06-03 09:00"))
    app.engine.open_case("practice_review", "PR-1", OPEN_FIELDS, actor="amy")
    clock.set(london("2024-06-13 08:00"))  # the notification's escalation day
    swept = app.notifier.sweep()
    assert swept.raised and swept.unaddressed_users == ("nomail",)
    assert "NO EMAIL ADDRESS for nomail" in str(swept)
    with db.read() as session:
        addresses = {m.to_address for m in session.scalars(select(OutboxMessage))}
    assert addresses and not any(a.endswith("@localhost") for a in addresses)
    board = dashboard(app.engine, "amy")
    [reported] = [u for u in board.to_json()["unaddressed_users"] if u["login"] == "nomail"]
    assert "partnership manager" in reported["as"]
    assert "nomail" in dashboard_text(board).split("PEOPLE EMAIL CANNOT REACH")[1]


def test_the_digest_shows_each_deadline_once_and_what_is_new_first(
        db: Database, clock: FixedClock, tmp_path: Path) -> None:
    app = _app(db, clock, tmp_path)
    clock.set(london("2024-06-03 09:00"))
    app.engine.open_case("practice_review", "PR-1", OPEN_FIELDS, actor="amy")
    clock.set(london("2024-06-05 07:30"))
    app.notifier.digest()
    first = [m for m in _mail(db, "digest") if m.to_address == "amy@example.org"]
    assert "NEW OR CHANGED (your first digest)" in first[0].body_text
    clock.set(london("2024-06-11 07:30"))  # the notification fell overdue since
    app.notifier.digest()
    clock.set(london("2024-06-12 07:30"))  # nothing changed since yesterday
    app.notifier.digest()
    second, third = [m for m in _mail(db, "digest") if m.to_address == "amy@example.org"][1:]
    assert "NEW OR CHANGED since your last digest (Wednesday 5 June 2024)" in second.body_text
    new = second.body_text.split("NEW OR CHANGED")[1].split("STILL")[0]
    assert "Serious incident notification for PR-1: due by Monday 10 June 2024, overdue by 1 " \
        "working day" in new
    assert "NEW OR CHANGED" not in third.body_text
    assert third.body_text.count("serious incident notification") == 1
    assert "STILL OVERDUE" in third.body_text and "overdue by 2 working days" in third.body_text
    assert "0 new or changed, 1 overdue" in third.subject
