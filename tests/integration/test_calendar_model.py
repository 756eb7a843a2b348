"""Members' calendars stay consistent (issue 14), proved on a model of their calendars.

Every invitation email the outbox holds is delivered, parsed back from its bytes (the
``text/calendar`` part, with ``icalendar``) and applied, in order, to a model calendar per
recipient that follows RFC 5545 / 5546 minimally: a REQUEST adds or updates an event by
(UID, RECURRENCE-ID) unless its SEQUENCE is older; a master with an RRULE expands into its
occurrences; a CANCEL removes the instance or the whole event; a message whose ATTENDEEs do not
list the recipient changes nothing for them. After every change to a series each person ends
with exactly the series' meetings, at their times in Europe/London, once each.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from dateutil.rrule import rrulestr
from icalendar import Calendar, Event

from engine.app import App
from engine.core.clock import LONDON, FixedClock
from engine.core.store.database import Database
from engine.core.store.directory import Directory
from notifications.transports import MemoryTransport
from tests.conftest import DemoYear, london, make_app

D = dt.date.fromisoformat
Slot = tuple[dt.datetime, dt.datetime]  # (start, end) in Europe/London


def _address(value: object) -> str:
    return str(value).removeprefix("mailto:").removeprefix("MAILTO:").lower()


def _list(event: Event, name: str) -> list[object]:
    value = event.get(name, [])
    return value if isinstance(value, list) else [value]


def _key(event: Event) -> tuple[str, dt.datetime | None]:
    rid = event.get("RECURRENCE-ID")
    return str(event["UID"]), rid.dt.astimezone(dt.UTC) if rid is not None else None


@dataclass
class ModelCalendar:
    """One person's calendar as an iTIP client keeps it (minimal RFC 5545 / 5546)."""

    address: str
    events: dict[tuple[str, dt.datetime | None], Event] = field(default_factory=dict)
    cancelled: set[tuple[str, dt.datetime]] = field(default_factory=set)  # instances

    def _stale(self, event: Event) -> bool:
        held = self.events.get(_key(event))
        return held is not None and int(event["SEQUENCE"]) < int(held["SEQUENCE"])

    def apply(self, method: str, events: list[Event]) -> None:
        for event in events:
            if self.address not in {_address(a) for a in _list(event, "ATTENDEE")}:
                continue  # not invited by this message: nothing changes for them
            uid, rid = _key(event)
            if self._stale(event):
                continue
            if method == "REQUEST":
                assert rid is None or (uid, None) in self.events, \
                    f"{uid}: an occurrence of a series {self.address} was never sent"
                if rid is None:  # a new master replaces the whole set it had
                    for key in [k for k in self.events if k[0] == uid and k[1] is not None
                                and k[1] not in {_key(e)[1] for e in events}]:
                        del self.events[key]
                self.events[(uid, rid)] = event
            elif rid is None:  # CANCEL of the whole event (a series: every instance)
                for key in [k for k in self.events if k[0] == uid]:
                    del self.events[key]
            else:
                self.events.pop((uid, rid), None)
                self.cancelled.add((uid, rid))

    def slots(self, until: dt.datetime) -> list[Slot]:
        """Every occurrence up to ``until``, sorted (a duplicate appears twice)."""
        out: list[Slot] = []
        for (uid, rid), event in self.events.items():
            start, end = event["DTSTART"].dt, event["DTEND"].dt
            if rid is not None or "RRULE" not in event:
                out.append((start.astimezone(LONDON), end.astimezone(LONDON)))
                continue
            rule = rrulestr(event["RRULE"].to_ical().decode(), dtstart=start)
            skipped = {d.dt.astimezone(dt.UTC) for x in _list(event, "EXDATE")
                       for d in x.dts}  # type: ignore[attr-defined]
            for at in rule.between(start, until, inc=True):
                instant = at.astimezone(dt.UTC)
                if instant in skipped or (uid, instant) in self.cancelled \
                        or (uid, instant) in self.events:
                    continue  # excluded, cancelled, or overridden (listed on its own)
                out.append((at.astimezone(LONDON), (at + (end - start)).astimezone(LONDON)))
        return sorted(out)


@dataclass
class Mailboxes:
    """Delivers the outbox and applies each invitation to its recipient's model calendar,
    checking every message on the way."""

    app: App
    transport: MemoryTransport
    registered: dict[str, str]  # login -> registered address
    calendars: dict[str, ModelCalendar] = field(default_factory=dict)
    sequences: dict[tuple[str, str, dt.datetime | None], int] = field(default_factory=dict)
    messages: list[tuple[str, str, list[Event]]] = field(default_factory=list)

    def deliver(self, *chairs: str) -> None:
        """Deliver what the outbox holds; each message organised by one of ``chairs``."""
        self.app.notifier.dispatch()
        sent, self.transport.sent[:] = list(self.transport.sent), []
        for message in sent:
            parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
            parts = [p for p in parsed.walk() if p.get_content_type() == "text/calendar"
                     and p.get_content_disposition() != "attachment"]
            if not parts:
                continue  # not an invitation
            [part] = parts
            cal = Calendar.from_ical(part.get_content())
            method = str(cal["METHOD"])
            assert part.get_param("method") == method
            events = list(cal.walk("VEVENT"))
            to = _address(parsed["To"])
            self._check(method, events, to, chairs)
            self.messages.append((to, method, events))
            self.calendars.setdefault(to, ModelCalendar(to)).apply(method, events)

    def _check(self, method: str, events: list[Event], to: str, chairs: tuple[str, ...],
               ) -> None:
        addresses = set(self.registered.values())
        for event in events:
            organizer = _address(event["ORGANIZER"])
            assert organizer in {self.registered[c] for c in chairs}
            attendees = _list(event, "ATTENDEE")
            assert {_address(a) for a in attendees} <= addresses  # registered people only
            assert to in {_address(a) for a in attendees}, "sent to someone it does not list"
            for attendee in attendees:
                role = attendee.params["ROLE"]  # type: ignore[attr-defined]
                rsvp = attendee.params["RSVP"]  # type: ignore[attr-defined]
                assert (role, rsvp) == (("CHAIR", "FALSE") if _address(attendee) == organizer
                                        else ("REQ-PARTICIPANT", "TRUE"))
            if method == "REQUEST":  # never an invitation to a time already gone
                assert event["DTSTART"].dt >= event["DTSTAMP"].dt
            uid, rid = _key(event)
            sequence, before = int(event["SEQUENCE"]), self.sequences.get((to, uid, rid))
            assert before is None or sequence > before, f"{uid}: SEQUENCE did not rise"
            self.sequences[(to, uid, rid)] = sequence

    def slots(self, login: str, since: dt.datetime, until: dt.datetime) -> list[Slot]:
        found = self.calendars.get(self.registered[login])
        return [s for s in (found.slots(until) if found else []) if s[0] >= since]


@pytest.fixture
def mailboxes(db: Database, clock: FixedClock, tmp_path: Path) -> Mailboxes:
    transport = MemoryTransport()
    app = make_app(db, clock, tmp_path / "audit-head.json", transport=lambda: transport,
                   raw={"mace": {"email_domain": "cumbria.example"}})
    with db.begin_read() as conn:
        people = {login: str(p.email) for login, p in Directory(conn).people().items()
                  if p.email}
    return Mailboxes(app, transport, people)


def _expected(mail: Mailboxes, since: dt.datetime) -> list[Slot]:
    series = mail.app.mace.series("North", "coord")
    length = dt.timedelta(minutes=series.duration_minutes)
    return sorted((m.starts_at.astimezone(LONDON), (m.starts_at + length).astimezone(LONDON))
                  for m in series.meetings
                  if m.state != "cancelled" and m.starts_at >= since)


def _assert_consistent(mail: Mailboxes, clock: FixedClock, people: list[str],
                       removed: tuple[str, ...] = ()) -> list[Slot]:
    now, until = clock.now(), clock.now() + dt.timedelta(days=400)
    future = _expected(mail, now)
    assert future, "the scenario keeps meetings to come"
    for login in people:
        assert mail.slots(login, now, until) == future, login
    for login in removed:
        assert mail.slots(login, now, until) == [], f"{login} still has meetings to come"
    return future


def test_every_calendar_holds_exactly_the_series_meetings(mailboxes: Mailboxes,
                                                           clock: FixedClock) -> None:
    mail, mace = mailboxes, mailboxes.app.mace
    first = london("2024-06-03 09:00")
    clock.set(first)
    created = mace.create_series("North", "2w", "wednesday", "10:00", "chair",
                                 ["amy", "bob"], "coord", horizon_days=90)
    mail.deliver("chair")
    future = _assert_consistent(mail, clock, ["chair", "amy", "bob"])
    assert future[0] == (london("2024-06-05 10:00"), london("2024-06-05 12:00"))
    assert len(future) == 7  # fortnightly Wednesdays from 5 June to the end of August
    uids = {m.ref: m.uid for m in created.meetings}
    assert len(set(uids.values())) == len(uids)  # one UID per meeting
    # Standalone meetings only: no series event, no occurrence of one.
    assert all("RRULE" not in e and "RECURRENCE-ID" not in e
               for _to, _method, events in mail.messages for e in events)

    # A reschedule moves that meeting in every calendar (same UID, a higher SEQUENCE).
    mace.reschedule("MACE-North-2024-06-19", D("2024-06-20"), "coord", "chair on leave",
                    "14:00")
    mail.deliver("chair")
    future = _assert_consistent(mail, clock, ["chair", "amy", "bob"])
    assert (london("2024-06-20 14:00"), london("2024-06-20 16:00")) in future
    amy = mail.calendars[mail.registered["amy"]]
    assert int(amy.events[(uids["MACE-North-2024-06-19"], None)]["SEQUENCE"]) == 1

    # Fortnightly -> monthly (the first Wednesday) from 3 July: 3 July is on both rules and
    # keeps its UID, untouched; the dropped meetings are cancelled before new ones come.
    clock.set(london("2024-06-10 09:00"))
    count = len(mail.messages)
    mace.change_series("North", "coord", every="1m", from_date=D("2024-07-01"))
    mail.deliver("chair")
    future = _assert_consistent(mail, clock, ["chair", "amy", "bob"])
    assert [s[0].date() for s in future] == [
        D("2024-06-20"), D("2024-07-03"), D("2024-08-07"),
        D("2024-09-04")]
    change = mail.messages[count:]
    kept = uids["MACE-North-2024-07-03"]
    assert not [m for m in change if any(str(e["UID"]) == kept for e in m[2])]
    methods = [method for _to, method, _events in change]
    assert methods == sorted(methods)  # every CANCEL before any new invitation
    assert amy.events[(kept, None)]["DTSTART"].dt == london("2024-07-03 10:00")
    # Both calendars from before the change are intact too (5 June, still in the past).
    everything = _expected(mail, first)
    far = clock.now() + dt.timedelta(days=400)
    assert mail.slots("amy", first, far) == mail.slots("chair", first, far) == everything

    # The series moves to 11:00: each meeting to come moves, keeping its UID.
    mace.change_series("North", "coord", time="11:00")
    mail.deliver("chair")
    future = _assert_consistent(mail, clock, ["chair", "amy", "bob"])
    assert (london("2024-07-03 11:00"), london("2024-07-03 13:00")) in future
    assert (london("2024-06-20 14:00"), london("2024-06-20 16:00")) in future  # moved: kept
    assert amy.events[(kept, None)]["DTSTART"].dt == london("2024-07-03 11:00")

    # A member joins: they get every meeting to come; the others their update.
    mace.change_series("North", "coord", members=["amy", "bob", "coord"])
    mail.deliver("chair")
    _assert_consistent(mail, clock, ["chair", "amy", "bob", "coord"])

    # A member leaves: a CANCEL listing them empties their calendar of meetings to come.
    mace.change_series("North", "coord", members=["amy", "coord"])
    mail.deliver("chair")
    _assert_consistent(mail, clock, ["chair", "amy", "coord"], removed=("bob",))

    # One meeting cancelled: it leaves every calendar, for good.
    mace.cancel("MACE-North-2024-08-07", "coord", "no quorum")
    mail.deliver("chair")
    future = _assert_consistent(mail, clock, ["chair", "amy", "coord"], removed=("bob",))
    assert D("2024-08-07") not in [s[0].date() for s in future]

    # Meetings generated later (the scheduler's daily run) reach the same people.
    clock.set(london("2024-09-02 09:00"))
    assert mace.generate("coord")
    mail.deliver("chair")
    _assert_consistent(mail, clock, ["chair", "amy", "coord"], removed=("bob",))
    assert mail.slots("amy", first, far) == _expected(mail, first)

    # A new chair: the old one's calendar loses the meetings to come (a CANCEL they
    # organised), the new one organises and holds them.
    mace.change_series("North", "coord", chair="mgr")
    mail.deliver("mgr", "chair")
    _assert_consistent(mail, clock, ["mgr", "amy", "coord"], removed=("bob", "chair"))


def test_a_series_file_holds_the_same_meetings(mailboxes: Mailboxes,
                                               clock: FixedClock) -> None:
    """The series file (to import) carries the emailed meetings' UIDs, none already past."""
    clock.set(london("2024-06-03 09:00"))
    view = mailboxes.app.mace.create_series("North", "2w", "wednesday", "10:00", "chair",
                                            ["amy"], "coord", starts_on=D("2024-05-01"),
                                            horizon_days=30)
    # Fortnightly from 1 May: nothing before today is generated, 12 June comes first.
    assert [m.meeting_on for m in view.meetings] == [D("2024-06-12"), D("2024-06-26")]
    clock.set(london("2024-06-12 10:30"))  # the first meeting has begun
    cal = Calendar.from_ical(mailboxes.app.mace.series_invitation("North", "amy"))
    assert str(cal["METHOD"]) == "PUBLISH"
    events = cal.walk("VEVENT")
    assert Counter(str(e["UID"]) for e in events) == Counter(
        m.uid for m in view.meetings[1:])
    assert all(e["DTSTART"].dt > clock.now() for e in events)


def test_the_demonstration_years_calendars(demo_year: DemoYear) -> None:
    """The demo's invitation emails (.eml files, in the order they were made) leave every
    invitee with exactly the series' meetings: none twice, none cancelled."""
    from sqlalchemy import text

    messages = []
    for path in demo_year.emails.glob("*.eml"):
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for part in parsed.walk():
            if part.get_content_type() == "text/calendar" \
                    and part.get_content_disposition() != "attachment":
                cal = Calendar.from_ical(part.get_content())
                events = list(cal.walk("VEVENT"))
                order = (email.utils.parsedate_to_datetime(parsed["Date"]),
                         int(events[0]["SEQUENCE"]))
                messages.append((order, _address(parsed["To"]), str(cal["METHOD"]), events))
    assert messages, "the demo sends invitations"
    calendars: dict[str, ModelCalendar] = {}
    for _order, to, method, events in sorted(messages, key=lambda m: m[0]):
        calendars.setdefault(to, ModelCalendar(to)).apply(method, events)
    database = Database(demo_year.url)
    # Two series (MACE and the CDOP's panel): each person's calendar holds the meetings of
    # the series they chair or sit on.
    expected: dict[str, list[tuple[dt.datetime, dt.datetime]]] = {}
    with database.begin_read() as conn:
        rows = conn.execute(text(
            "SELECT c.data, c.state, s.duration_minutes, s.chair, s.members FROM mace_meeting m "
            "JOIN \"case\" c ON c.id = m.case_id JOIN mace_series s ON s.id = m.series_id"))
        for data, state, minutes, chair, members in rows:
            if state == "cancelled":
                continue
            start = dt.datetime.fromisoformat(
                (data if isinstance(data, dict) else json.loads(data))["starts_at"])
            people = [chair, *(members if isinstance(members, list) else json.loads(members))]
            for login in people:
                expected.setdefault(f"{login}@partnership.example", []).append(
                    (start.astimezone(LONDON),
                     (start + dt.timedelta(minutes=minutes)).astimezone(LONDON)))
    database.dispose()
    assert len(calendars) == 7  # MACE: the chair and three members; CDOP: the chair and two
    assert set(calendars) == set(expected)
    far = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    for address, found in calendars.items():
        assert found.slots(far) == sorted(expected[address]), address
