"""The MACE hook: an invitation goes out as text/calendar; method=REQUEST and invite.ics."""

from __future__ import annotations

import datetime as dt

from engine.clock import LONDON
from engine.store.models import OutboxMessage
from notifications.invitations import invitation_ics, invitation_rows
from notifications.outbox import build_message
from notifications.render import Rendered


def test_invitation_is_a_calendar_request_with_an_attachment() -> None:
    start = dt.datetime(2024, 6, 12, 10, tzinfo=LONDON)
    now = dt.datetime(2024, 6, 3, 9, tzinfo=LONDON)
    rendered = Rendered("MACE meeting M-7, Wednesday 12 June 2024", "text", "<p>html</p>")
    [values] = invitation_rows("mace-M-7@sg", start, start + dt.timedelta(hours=2),
                               "MACE meeting M-7", rendered, ["a@example.org"],
                               "safeguard@example.org", now)
    message = build_message(OutboxMessage(id=1, **values), "safeguard@example.org", now)
    types = [part.get_content_type() for part in message.walk()]
    assert "text/calendar" in types and "text/plain" in types and "text/html" in types
    calendar = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    assert calendar.get_param("method") == "REQUEST"
    names = [part.get_filename() for part in message.walk() if part.get_filename()]
    assert names == ["invite.ics"]
    ics = invitation_ics("u", start, start, "a, b; c", "o@x", [], now)
    assert "DTSTART:20240612T090000Z" in ics and "SUMMARY:a\\, b\\; c" in ics
