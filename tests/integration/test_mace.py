"""The MACE service on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from engine.core.clock import LONDON, FixedClock
from engine.core.errors import TransitionNotAllowedError, UsageError
from engine.core.store.database import Database
from engine.core.store.models import CaseEvent, MaceDecision
from engine.domains.cerar.service import CerarService
from engine.domains.mace.service import MaceService, OpenActionsError, SeriesNotFoundError
from tests.conftest import london, make_app

D = dt.date.fromisoformat


@pytest.fixture
def mace(db: Database, clock: FixedClock, tmp_path: Path) -> MaceService:
    return make_app(db, clock, tmp_path / "audit-head.json",
                    raw={"mace": {"email_domain": "cumbria.example"}}).mace


def _child(mace: MaceService, clock: FixedClock, child: str, level: str) -> str:
    cerar: CerarService = mace.cerar
    ref = cerar.open(child, clock.now().date().isoformat(), "police", "cumberland", "amy",
                     extra={"child_name": "Jo Bloggs"}).case.ref
    cerar.fire(ref, "screen", {"screened_on": clock.now().date().isoformat()}, "amy")
    cerar.fire(ref, "assess", {"assessed_on": clock.now().date().isoformat(),
                               "risk_level": level}, "mgr")
    return ref


def test_monthly_series_moves_or_skips_bank_holidays(mace: MaceService,
                                                      clock: FixedClock) -> None:
    clock.set(london("2024-04-29 09:00"))
    moved = mace.create_series("Mondays", "1m", "monday", "10:00", "chair", ["amy", "bob"],
                               "coord", starts_on=D("2024-05-01"), horizon_days=130)
    assert [(m.slot_on.isoformat(), m.meeting_on.isoformat()) for m in moved.meetings] == [
        ("2024-05-06", "2024-05-07"),  # Early May bank holiday -> Tuesday
        ("2024-06-03", "2024-06-03"), ("2024-07-01", "2024-07-01"),
        ("2024-08-05", "2024-08-05"), ("2024-09-02", "2024-09-02")]
    first = moved.meetings[0]
    assert first.moved and first.starts_at == dt.datetime(2024, 5, 7, 9, 0, tzinfo=dt.UTC)
    # 2 working days before Tuesday 7 May: Friday 3 (the Monday is a bank holiday), Thursday 2
    assert [d["due"] for d in first.deadlines] == ["2024-05-02"]
    history = mace.engine.history(first.ref, "amy")
    assert (history[0].note or "").startswith("moved from 2024-05-06 (")  # the holiday name

    skipped = mace.create_series("Skip", "1m", "monday", "10:00", "chair", ["amy"], "coord",
                                 starts_on=D("2024-05-01"), horizon_days=60, on_holiday="skip")
    assert [m.meeting_on.isoformat() for m in skipped.meetings] == ["2024-06-03"]
    assert skipped.skipped == (D("2024-05-06"),)
    # The series file to import: each meeting to come as its own event, with its own UID.
    cal = Calendar.from_ical(mace.series_invitation("Skip", "amy"))
    assert str(cal["METHOD"]) == "PUBLISH"
    [event] = cal.walk("VEVENT")
    assert str(event["UID"]) == skipped.meetings[0].uid
    assert "RRULE" not in event and "RECURRENCE-ID" not in event
    assert event["DTSTART"].dt == dt.datetime(2024, 6, 3, 10, 0, tzinfo=LONDON)

    cal = Calendar.from_ical(mace.series_invitation("Mondays", "amy"))
    events = cal.walk("VEVENT")
    assert [str(e["UID"]) for e in events] == [m.uid for m in moved.meetings]
    assert events[0]["DTSTART"].dt == dt.datetime(2024, 5, 7, 10, 0, tzinfo=LONDON)

    assert mace.generate("coord") == []  # idempotent
    clock.set(london("2024-08-01 09:00"))
    made = mace.generate("coord", "Skip")  # up to the horizon from today; never in the past
    assert [m.meeting_on.isoformat() for m in made] == ["2024-08-05", "2024-09-02"]


def test_frequency_change_affects_future_meetings_only(mace: MaceService,
                                                       clock: FixedClock) -> None:
    clock.set(london("2024-04-29 09:00"))
    mace.create_series("North", "2w", "wednesday", "10:00", "chair", ["amy"], "coord",
                       horizon_days=70)
    clock.set(london("2024-05-16 09:00"))
    view = mace.change_series("North", "coord", every="1m", from_date=D("2024-05-20"))
    states = {m.slot_on.isoformat(): (m.state, m.sequence) for m in view.meetings}
    assert states == {
        # before the change: untouched
        "2024-05-01": ("scheduled", 0), "2024-05-15": ("scheduled", 0),
        # from the change: monthly on the fourth Wednesday (the first one on or after 20 May)
        "2024-05-22": ("scheduled", 0), "2024-06-26": ("scheduled", 0),  # kept: on the rule
        "2024-07-24": ("scheduled", 0),
        "2024-05-29": ("cancelled", 1), "2024-06-12": ("cancelled", 1)}
    # Every meeting keeps the UID it was born with: the kept one is not sent again.
    before = {m.ref: m.uid for m in mace.series("North", "amy").meetings}
    assert before["MACE-North-2024-06-26"] == "mace-north-2024-06-26@cumbria.example"
    assert len(set(before.values())) == len(before)
    method, payload = mace.invitation("MACE-North-2024-05-29", "amy")
    assert method == "CANCEL"
    event = Calendar.from_ical(payload).walk("VEVENT")[0]
    assert (str(event["UID"]), int(event["SEQUENCE"])) == (
        "mace-north-2024-05-29@cumbria.example", 1)


def test_a_new_time_moves_each_meeting_to_come(mace: MaceService,
                                                clock: FixedClock) -> None:
    """Only the time changes: the same days, each meeting moved (its UID kept), none
    cancelled; a meeting moved on its own stays where it was put."""
    clock.set(london("2024-06-03 09:00"))
    made = mace.create_series("North", "1m", "wednesday", "10:00", "chair", ["amy"], "coord",
                              horizon_days=70)
    mace.reschedule("MACE-North-2024-07-03", D("2024-07-04"), "coord", "room", "14:00")
    view = mace.change_series("North", "coord", time="11:30")
    assert [(m.ref, m.state, show(m.starts_at), m.sequence, m.uid) for m in view.meetings] == [
        ("MACE-North-2024-06-05", "rescheduled", "2024-06-05T11:30", 1, made.meetings[0].uid),
        ("MACE-North-2024-07-03", "rescheduled", "2024-07-04T14:00", 1, made.meetings[1].uid),
        ("MACE-North-2024-08-07", "rescheduled", "2024-08-07T11:30", 1, made.meetings[2].uid)]
    assert view.anchor_on == D("2024-06-05")  # still the first Wednesday of the month


def show(at: dt.datetime) -> str:
    return at.astimezone(LONDON).strftime("%Y-%m-%dT%H:%M")


def test_recording_a_meeting(mace: MaceService, clock: FixedClock, db: Database) -> None:
    clock.set(london("2024-06-03 09:00"))
    high = _child(mace, clock, "C-1", "high")
    medium = _child(mace, clock, "C-2", "medium")
    series = mace.create_series("North", "2w", "wednesday", "10:00", "chair", ["amy", "bob"],
                                "coord", horizon_days=30)
    meeting = series.meetings[0].ref
    assert meeting == "MACE-North-2024-06-05"
    with pytest.raises(UsageError, match="names a child"):
        mace.add_item(meeting, "person", "Known associate of Jo Bloggs", "coord")
    mace.add_item(meeting, "place", "Bus station, evenings", "coord")
    agenda = mace.publish(meeting, "coord")
    assert [c["child_ref"] for c in agenda["children"]] == ["C-1", "C-2"]
    assert agenda["places"] == ["Bus station, evenings"]
    assert "Jo Bloggs" not in str(agenda)

    clock.set(london("2024-06-05 12:00"))
    with pytest.raises(UsageError, match="once it is held"):
        mace.decide(meeting, high, "review_done", "chair")
    mace.hold(meeting, "coord", [("police", "bob"), ("social care", "amy")], ["health"])
    out = mace.decide(meeting, high, "review_done", "chair")
    reviews = [(d["due"], d["status"]) for d in out["child"]["deadlines"]
               if d["name"] == "review"]
    assert reviews == [("2024-07-01", "met"), ("2024-07-03", "open")]  # 4 weeks from today

    # A decision that fails changes neither the child's case nor the meeting.
    def counts() -> tuple[int, int]:
        with db.read() as s:
            return (int(s.scalar(select(func.count()).select_from(CaseEvent)) or 0),
                    int(s.scalar(select(func.count()).select_from(MaceDecision)) or 0))

    before = counts()
    with pytest.raises(UsageError, match="already at level 'medium'"):
        mace.decide(meeting, medium, "level_changed", "chair", level="medium", reason="x")
    with pytest.raises(UsageError, match="needs the service the child steps down to"):
        mace.decide(meeting, medium, "step_down", "chair")
    assert counts() == before

    out = mace.decide(meeting, medium, "level_changed", "chair", level="high",
                      reason="linked to county lines")
    assert [d["due"] for d in out["child"]["deadlines"]
            if d["name"] == "review" and d["status"] == "open"] == ["2024-07-03"]
    assert mace.cerar.show(medium, "amy").case.data["risk_level"] == "high"

    action = mace.add_action(meeting, "Share school attendance", "amy", "education",
                             D("2024-06-12"), "coord", child_case=high)
    assert (action.ref, action.child_ref) == ("A1", "C-1")
    view = mace.meeting(meeting, "amy")
    assert {(d["name"], d["key"]) for d in view.deadlines if d["status"] == "open"} == {
        ("minutes", None), ("action", "A1")}
    mace.circulate(meeting, "coord")
    with pytest.raises(OpenActionsError, match="A1"):
        mace.close(meeting, "coord")
    clock.set(london("2024-06-11 09:00"))
    done = mace.complete_action(meeting, "A1", "amy")
    assert done.status == "done"
    view = mace.close(meeting, "coord")
    assert view.state == "closed"
    record = mace.meeting(meeting, "amy")
    assert [(a["agency"], a["person"], a["status"]) for a in record.attendance] == [
        ("police", "bob", "present"), ("social care", "amy", "present"),
        ("health", None, "apologies")]
    assert [(d["child_ref"], d["decision"], d["risk_level"]) for d in record.decisions] == [
        ("C-1", "review_done", None), ("C-2", "level_changed", "high")]
    assert [(a["ref"], a["status"], a["done_on"]) for a in record.actions] == [
        ("A1", "done", "2024-06-11")]
    statuses = {(d["name"], d["key"]): d["status"] for d in view.deadlines}
    assert statuses == {("agenda", None): "met", ("minutes", None): "met",
                        ("action", "A1"): "met"}


def test_cancel_and_reschedule_one_meeting(mace: MaceService, clock: FixedClock) -> None:
    clock.set(london("2024-06-03 09:00"))
    series = mace.create_series("North", "2w", "wednesday", "10:00", "chair", ["amy"],
                                "coord", horizon_days=30)
    first, second = (m.ref for m in series.meetings[:2])
    moved = mace.reschedule(second, D("2024-06-20"), "coord", "chair on leave", "14:00")
    assert (moved.state, moved.meeting_on, moved.sequence) == ("rescheduled", D("2024-06-20"), 1)
    assert [d["due"] for d in moved.deadlines] == ["2024-06-18"]  # agenda recomputed
    event = Calendar.from_ical(mace.invitation(second, "amy")[1]).walk("VEVENT")[0]
    assert event["DTSTART"].dt == dt.datetime(2024, 6, 20, 14, 0, tzinfo=LONDON)
    assert (str(event["UID"]), int(event["SEQUENCE"])) == (series.meetings[1].uid, 1)
    with pytest.raises(UsageError, match="not a working day"):
        mace.reschedule(second, D("2024-06-22"), "coord", "x")

    cancelled = mace.cancel(first, "coord", "no quorum")
    assert (cancelled.state, cancelled.sequence) == ("cancelled", 1)
    method, payload = mace.invitation(first, "amy")
    event = Calendar.from_ical(payload).walk("VEVENT")[0]
    assert (method, str(event["STATUS"])) == ("CANCEL", "CANCELLED")
    with pytest.raises(TransitionNotAllowedError):
        mace.publish(first, "coord")
    with pytest.raises(SeriesNotFoundError, match="North"):
        mace.series("South", "amy")


def test_published_agenda_is_a_snapshot(mace: MaceService, clock: FixedClock) -> None:
    clock.set(london("2024-06-03 09:00"))
    _child(mace, clock, "C-1", "high")
    series = mace.create_series("North", "2w", "wednesday", "10:00", "chair", ["amy"],
                                "coord", horizon_days=30)
    first, second = series.meetings[0].ref, series.meetings[1].ref
    assert mace.agenda(first, "amy")["draft"] is True
    published = mace.publish(first, "coord")
    late = _child(mace, clock, "C-2", "medium")  # arrives after publication
    stored = mace.agenda(first, "amy")
    assert stored == published and stored["draft"] is False
    assert [c["child_ref"] for c in stored["children"]] == ["C-1"]
    draft = mace.agenda(second, "amy")  # the next meeting's draft sees the new child
    assert draft["draft"] is True and late in [c["case_ref"] for c in draft["children"]]


def test_member_change_updates_future_invitations(mace: MaceService,
                                                  clock: FixedClock) -> None:
    clock.set(london("2024-06-03 09:00"))
    mace.create_series("North", "2w", "wednesday", "10:00", "chair", ["amy"], "coord",
                       horizon_days=30)
    view = mace.change_series("North", "coord", members=["amy", "bob"])
    assert [m.sequence for m in view.meetings] == [1, 1, 1]
    event = Calendar.from_ical(mace.invitation(view.meetings[0].ref, "amy")[1]).walk("VEVENT")[0]
    assert sorted(str(a) for a in event["ATTENDEE"]) == [
        "mailto:amy@example.org", "mailto:bob@example.org", "mailto:chair@example.org"]
    assert int(event["SEQUENCE"]) == 1


def test_a_decision_is_all_or_nothing(mace: MaceService, clock: FixedClock,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """If the meeting's side fails after the child's case was updated, neither is kept."""
    from engine.core.errors import ConcurrencyError

    clock.set(london("2024-06-03 09:00"))
    child = _child(mace, clock, "C-1", "high")
    meeting = mace.create_series("North", "2w", "wednesday", "10:00", "chair", ["amy"],
                                 "coord", horizon_days=20).meetings[0].ref
    mace.publish(meeting, "coord")
    clock.set(london("2024-06-05 12:00"))
    mace.hold(meeting, "coord", [("police", "bob")])
    before = mace.cerar.show(child, "amy").case
    real = mace.engine.fire

    def failing(ref: str, trigger: str, *args: object, **kw: object) -> object:
        if trigger == "record_decision":
            raise ConcurrencyError(ref, 1)
        return real(ref, trigger, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(mace.engine, "fire", failing)
    with pytest.raises(ConcurrencyError):
        mace.decide(meeting, child, "review_done", "chair")
    monkeypatch.undo()
    after = mace.cerar.show(child, "amy").case
    assert (after.version, after.data, after.deadlines) == (
        before.version, before.data, before.deadlines)
    assert mace.meeting(meeting, "amy").decisions == ()
