"""MACE invitations as iCalendar (RFC 5545 / 5546) with the ``icalendar`` package. Pure.

* A series is one event with the series UID and its RRULE (and EXDATEs for skipped slots).
* A meeting is that series' occurrence: the same UID with a RECURRENCE-ID (the slot the rule
  gives), its own DTSTART (moved for a bank holiday or rescheduled) and a SEQUENCE bumped by
  every change. So a client that has the series updates the one occurrence in place.
* ``METHOD:REQUEST`` invites or updates; ``METHOD:CANCEL`` (same UID and RECURRENCE-ID,
  ``STATUS:CANCELLED``) withdraws an occurrence.
* Organizer is the chair, attendees the members. Summary and description carry the meeting's
  reference and the series name only: never a child's name or any case detail.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.core.clock import LONDON

if TYPE_CHECKING:  # imported when an invitation is made, not by every command
    from icalendar import Event, vCalAddress

PRODID = "-//safeguard//MACE//EN"


@dataclass(frozen=True)
class Person:
    name: str
    email: str


@dataclass(frozen=True)
class Invitation:
    uid: str
    summary: str
    description: str
    starts_at: dt.datetime  # aware
    duration: dt.timedelta
    organizer: Person
    attendees: tuple[Person, ...]
    stamp: dt.datetime  # DTSTAMP: when this message was made (the engine's clock)
    sequence: int = 0
    location: str | None = None
    recurrence_id: dt.datetime | None = None  # an occurrence of a series
    rrule: dict[str, object] | None = None  # a series
    exdates: tuple[dt.datetime, ...] = ()


def _address(person: Person, role: str | None = None) -> vCalAddress:
    from icalendar import vCalAddress

    address = vCalAddress(f"mailto:{person.email}")
    address.params["CN"] = person.name
    if role:
        address.params["ROLE"] = role
        address.params["PARTSTAT"] = "NEEDS-ACTION"
        address.params["RSVP"] = "TRUE"
    return address


def _local(at: dt.datetime) -> dt.datetime:
    return at.astimezone(LONDON)


def calendar(invitations: Sequence[Invitation], method: str = "REQUEST") -> bytes:
    """The .ics bytes of one iTIP message: METHOD REQUEST (invite, update) or CANCEL. Several
    invitations share a UID: a series' master event and the occurrences that differ."""
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"unsupported iTIP method {method}")
    from icalendar import Calendar

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    for invitation in invitations:
        cal.add_component(_event(invitation, method))
    cal.add_missing_timezones()
    return bytes(cal.to_ical())


def _event(invitation: Invitation, method: str) -> Event:
    from icalendar import Event

    event = Event()
    event.add("uid", invitation.uid)
    event.add("dtstamp", invitation.stamp.astimezone(dt.UTC))
    event.add("sequence", invitation.sequence)
    event.add("summary", invitation.summary)
    event.add("description", invitation.description)
    event.add("dtstart", _local(invitation.starts_at))
    event.add("dtend", _local(invitation.starts_at + invitation.duration))
    if invitation.location:
        event.add("location", invitation.location)
    if invitation.recurrence_id is not None:
        event.add("recurrence-id", _local(invitation.recurrence_id))
    if invitation.rrule is not None:
        event.add("rrule", invitation.rrule)
    if invitation.exdates:
        event.add("exdate", [_local(d) for d in invitation.exdates])
    event.add("organizer", _address(invitation.organizer))
    for person in invitation.attendees:
        event.add("attendee", _address(person, "REQ-PARTICIPANT"))
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    event.add("transp", "OPAQUE")
    return event


__all__ = ["Invitation", "Person", "calendar"]
