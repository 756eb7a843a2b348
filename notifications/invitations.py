"""Meeting invitations (the hook for the MACE issue): an iCalendar REQUEST in the outbox.

The MACE code is not on this branch. When it lands, scheduling a meeting calls
:func:`invitation_rows` inside its own transaction and passes the result to
:func:`notifications.outbox.enqueue`; delivery then sends each as a ``text/calendar;
method=REQUEST`` alternative plus an ``invite.ics`` attachment (see
:func:`notifications.outbox.build_message`). Like every email, an invitation carries a
meeting reference, a time and a link, never a child's details: the caller passes only those.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from notifications.outbox import row_values
from notifications.render import Rendered


def _stamp(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _escape(text: str) -> str:
    """RFC 5545 TEXT escaping: backslash, semicolon, comma, newline."""
    for raw, escaped in (("\\", "\\\\"), (";", "\\;"), (",", "\\,"), ("\n", "\\n")):
        text = text.replace(raw, escaped)
    return text


def invitation_ics(uid: str, start: dt.datetime, end: dt.datetime, summary: str,
                   organizer: str, attendees: Sequence[str], now: dt.datetime,
                   sequence: int = 0, location: str = "") -> str:
    """A minimal RFC 5545 VCALENDAR with one VEVENT, METHOD:REQUEST."""
    lines = [
        "BEGIN:VCALENDAR", "PRODID:-//safeguard//notifications//EN", "VERSION:2.0",
        "METHOD:REQUEST", "BEGIN:VEVENT", f"UID:{uid}", f"SEQUENCE:{sequence}",
        f"DTSTAMP:{_stamp(now)}", f"DTSTART:{_stamp(start)}", f"DTEND:{_stamp(end)}",
        f"SUMMARY:{_escape(summary)}", f"ORGANIZER:mailto:{organizer}",
    ]
    if location:
        lines.append(f"LOCATION:{_escape(location)}")
    lines += [f"ATTENDEE;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:{a}" for a in attendees]
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(lines) + "\r\n"


def invitation_rows(uid: str, start: dt.datetime, end: dt.datetime, summary: str,
                    rendered: Rendered, attendees: Sequence[str], sender: str,
                    now: dt.datetime, sequence: int = 0) -> list[dict[str, Any]]:
    """Outbox rows (one per attendee) for a meeting invitation; enqueue them in the
    transaction that schedules the meeting."""
    ics = invitation_ics(uid, start, end, summary, sender, attendees, now, sequence)
    return [row_values(f"invite:{uid}:{sequence}:{address}", "invitation", address,
                       rendered, now, sender, ics=ics) for address in attendees]
