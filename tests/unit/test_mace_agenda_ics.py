"""Agenda building and invitations, without a database."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from icalendar import Calendar

from engine.core.clock import LONDON
from engine.domains.mace import ics
from engine.domains.mace.agenda import (
    ActionFacts,
    ChildFacts,
    Item,
    LevelChange,
    RhiDue,
    agenda_text,
    build_agenda,
    judged,
)

D = dt.date.fromisoformat
SINCE, MEETING, UNTIL = D("2024-06-12"), D("2024-06-26"), D("2024-07-10")


def child(ref: str, **kw: object) -> ChildFacts:
    base: dict[str, object] = {"case_ref": f"CE-{ref}", "child_ref": ref, "state": "assessed",
                               "concern_received_on": D("2024-01-10")}
    return ChildFacts(**(base | kw))  # type: ignore[arg-type]


CHILDREN = [
    child("C-LOW-1"),  # low, not flagged, nothing new: not on the agenda
    child("C-LOWFLAG", risk_level="low", mace_flag="yes"),
    child("C-MED-1", risk_level="medium", next_review_due=D("2024-08-01")),
    child("C-MEDDUE", risk_level="medium", next_review_due=D("2024-07-09")),
    child("C-HIGH-1", risk_level="high", next_review_due=D("2024-07-10"),
          level_changes=(LevelChange(D("2024-03-01"), None, "medium"),
                         LevelChange(D("2024-06-20"), "medium", "high"))),
    child("C-NEW", state="awaiting_assessment", concern_received_on=D("2024-06-13")),
    child("C-MISSING", risk_level="low", returns=(D("2024-06-01"), D("2024-06-20")),
          rhi_outstanding=(RhiDue("M2", "2024-06-23T10:00+01:00"),)),
    child("C-OOA", risk_level="medium", placement="placed_out_of_area",
          host_authority="Lancashire", next_review_due=D("2024-09-01")),
    child("C-LOWOOA", risk_level="low", placement="placed_in_area",
          placing_authority="Leeds"),
]


def _agenda() -> dict[str, object]:
    return build_agenda(
        "MACE-N-2024-06-26", "N", MEETING, "2024-06-26T10:00+01:00", "2024-06-24T09:00+01:00",
        SINCE, UNTIL, CHILDREN,
        [ActionFacts("A1", "MACE-N-2024-06-12", "C-MED-1", "Share school attendance", "amy",
                     "education", D("2024-06-20"))],
        [Item("place", "Bus station"), Item("theme", "County lines")]).to_json()


def test_who_is_on_the_agenda_and_why() -> None:
    agenda = _agenda()
    children = agenda["children"]
    assert isinstance(children, list)
    why = {c["child_ref"]: c["reasons"] for c in children}
    assert why == {
        "C-HIGH-1": ["listed", "level_changed"],  # due on the next meeting day: not before it
        "C-MEDDUE": ["listed", "review_due"],
        "C-MED-1": ["listed"],
        "C-OOA": ["listed", "placed_out_of_area"],
        "C-LOWFLAG": ["listed"],
        "C-MISSING": ["missing", "rhi_outstanding"],
        "C-NEW": ["new_referral"],
    }


def test_children_are_ordered_by_risk_then_review_date() -> None:
    agenda = _agenda()
    order = [c["child_ref"] for c in agenda["children"]]  # type: ignore[union-attr]
    assert order == ["C-HIGH-1", "C-MEDDUE", "C-MED-1", "C-OOA", "C-LOWFLAG", "C-MISSING",
                     "C-NEW"]
    high = agenda["children"][0]  # type: ignore[index]
    assert high["level_changes"] == [{"on": "2024-06-20", "from": "medium", "to": "high"}]
    assert agenda["actions"][0]["overdue"] is True  # type: ignore[index]
    assert (agenda["places"], agenda["themes"]) == (["Bus station"], ["County lines"])


def test_an_action_is_overdue_against_today_not_the_meeting_day() -> None:
    # Due 21 April, the meeting on 23 April: built (or read) on 16 April it is not overdue.
    action = ActionFacts("A1", "MACE-N-2024-04-09", None, "Share attendance", "amy",
                         "education", D("2024-04-21"))
    built = build_agenda("MACE-N-2024-04-23", "N", D("2024-04-23"), "2024-04-23T10:00+01:00",
                         "2024-04-16T09:00+01:00", D("2024-04-09"), None, [], [action])
    data = built.to_json()
    assert data["actions"][0]["overdue"] is False
    assert "OVERDUE" not in agenda_text(data)
    # The agenda as published, read again later: judged against that day.
    assert judged(data, D("2024-04-21"))["actions"][0]["overdue"] is False
    assert judged(data, D("2024-04-22"))["actions"][0]["overdue"] is True
    assert "2024-04-21 OVERDUE" in agenda_text(judged(data, D("2024-04-23")))
    assert data["actions"][0]["overdue"] is False  # the stored form is not changed


def test_agenda_text_has_references_and_sections() -> None:
    text = agenda_text(_agenda())
    assert "1. Children (7), by level of concern" in text
    assert "medium -> high on 2024-06-20" in text
    assert "RHI M2 due 2024-06-23 10:00" in text
    assert "2024-06-20 OVERDUE" in text
    assert "- County lines" in text
    json.dumps(_agenda())  # the stored form is plain JSON


def _invitation(**kw: object) -> ics.Invitation:
    base: dict[str, object] = dict(
        uid="mace-n-2024-05-06@x.example", summary="MACE meeting (N)", description="Meeting X",
        starts_at=dt.datetime(2024, 5, 7, 10, 0, tzinfo=LONDON),
        duration=dt.timedelta(hours=2), organizer=ics.Person("chair", "chair@x.example"),
        chair=ics.Person("chair", "chair@x.example"),
        attendees=(ics.Person("amy", "amy@x.example"), ics.Person("bob", "bob@police.example")),
        stamp=dt.datetime(2024, 4, 29, 8, 0, tzinfo=dt.UTC), sequence=1)
    return ics.Invitation(**(base | kw))  # type: ignore[arg-type]


def test_meeting_invitation_parses_back() -> None:
    cal = Calendar.from_ical(ics.calendar([_invitation()]))
    assert str(cal["METHOD"]) == "REQUEST"
    [event] = cal.walk("VEVENT")
    assert str(event["UID"]) == "mace-n-2024-05-06@x.example"
    assert event["DTSTART"].dt == dt.datetime(2024, 5, 7, 10, 0, tzinfo=LONDON)
    assert event["DTEND"].dt - event["DTSTART"].dt == dt.timedelta(hours=2)
    assert "RECURRENCE-ID" not in event and "RRULE" not in event  # a standalone meeting
    assert int(event["SEQUENCE"]) == 1
    assert str(event["ORGANIZER"]) == "mailto:chair@x.example"
    assert [(str(a), a.params["ROLE"], a.params["RSVP"]) for a in event["ATTENDEE"]] == [
        ("mailto:chair@x.example", "CHAIR", "FALSE"),
        ("mailto:amy@x.example", "REQ-PARTICIPANT", "TRUE"),
        ("mailto:bob@police.example", "REQ-PARTICIPANT", "TRUE")]
    assert cal.walk("VTIMEZONE")[0]["TZID"] == "Europe/London"


def test_cancellation_keeps_the_uid() -> None:
    cal = Calendar.from_ical(ics.calendar([_invitation(sequence=2)], "CANCEL"))
    assert str(cal["METHOD"]) == "CANCEL"
    [event] = cal.walk("VEVENT")
    assert (str(event["UID"]), str(event["STATUS"]), int(event["SEQUENCE"])) == (
        "mace-n-2024-05-06@x.example", "CANCELLED", 2)


def test_one_meeting_per_message_several_in_a_file() -> None:
    other = _invitation(uid="mace-n-2024-05-20@x.example")
    with pytest.raises(ValueError, match="exactly one meeting"):
        ics.calendar([_invitation(), other])
    cal = Calendar.from_ical(ics.calendar([_invitation(), other], "PUBLISH"))
    assert [str(e["UID"]) for e in cal.walk("VEVENT")] == [
        "mace-n-2024-05-06@x.example", "mace-n-2024-05-20@x.example"]
