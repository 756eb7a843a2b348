"""MACE invitations as iCalendar (RFC 5545 / 5546) with the ``icalendar`` package. Pure.

* Every meeting is a standalone event with its own UID, kept for life (a reschedule, a new
  series rule or a change of members never gives it another), and a SEQUENCE bumped by every
  change. No series (RRULE) event is ever sent, so nothing refers to one either.
* ``METHOD:REQUEST`` invites or updates; ``METHOD:CANCEL`` (same UID, ``STATUS:CANCELLED``)
  withdraws the meeting, from everyone or (listing only them) from people no longer invited.
  ``METHOD:PUBLISH`` is a file of upcoming meetings to import (the same UIDs).
* The organizer is the chair at their registered address; the chair is also an attendee
  (``ROLE=CHAIR``), so their calendar holds the meeting too; the members attend with RSVP.
  Summary and description carry the meeting's reference and the series name only: never a
  child's name or any case detail.
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
METHODS = ("REQUEST", "CANCEL", "PUBLISH")


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
    attendees: tuple[Person, ...]  # the members (RSVP)
    stamp: dt.datetime  # DTSTAMP: when this message was made (the engine's clock)
    sequence: int = 0
    location: str | None = None
    chair: Person | None = None  # the organizer as an attendee (ROLE=CHAIR)


def _address(person: Person, role: str | None = None) -> vCalAddress:
    from icalendar import vCalAddress

    address = vCalAddress(f"mailto:{person.email}")
    address.params["CN"] = person.name
    if role == "CHAIR":  # the organizer's own place: nothing to answer
        address.params.update({"ROLE": role, "PARTSTAT": "ACCEPTED", "RSVP": "FALSE"})
    elif role:
        address.params.update({"ROLE": role, "PARTSTAT": "NEEDS-ACTION", "RSVP": "TRUE"})
    return address


def _local(at: dt.datetime) -> dt.datetime:
    return at.astimezone(LONDON)


def calendar(invitations: Sequence[Invitation], method: str = "REQUEST") -> bytes:
    """The .ics bytes of one iTIP message: METHOD REQUEST (invite, update) or CANCEL, one
    meeting each; or PUBLISH, any number of meetings to import."""
    if method not in METHODS:
        raise ValueError(f"unsupported iTIP method {method}")
    if method != "PUBLISH" and len({i.uid for i in invitations}) != 1:
        raise ValueError(f"a {method} carries exactly one meeting")
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
    event.add("organizer", _address(invitation.organizer))
    if invitation.chair is not None:
        event.add("attendee", _address(invitation.chair, "CHAIR"))
    for person in invitation.attendees:
        event.add("attendee", _address(person, "REQ-PARTICIPANT"))
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    event.add("transp", "OPAQUE")
    return event


__all__ = ["METHODS", "Invitation", "Person", "calendar"]
