"""What the MACE service returns: plain, frozen read models with a JSON form."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from engine.core.clock import show_instant


@dataclass(frozen=True)
class MeetingView:
    ref: str
    series: str
    state: str
    slot_on: dt.date
    meeting_on: dt.date
    starts_at: dt.datetime
    uid: str
    sequence: int
    deadlines: tuple[dict[str, Any], ...]
    agenda_published_at: dt.datetime | None
    # The record of the meeting (filled in by the detail query, empty in lists).
    attendance: tuple[dict[str, Any], ...] = ()
    decisions: tuple[dict[str, Any], ...] = ()
    actions: tuple[dict[str, Any], ...] = ()
    # The invitation (REQUEST) or cancellation (CANCEL) a change sent, as .ics bytes.
    ics: bytes | None = None

    @property
    def moved(self) -> bool:
        return self.meeting_on != self.slot_on

    def to_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "series": self.series, "state": self.state,
                "slot_on": self.slot_on.isoformat(), "meeting_on": self.meeting_on.isoformat(),
                "starts_at": show_instant(self.starts_at), "moved": self.moved,
                "uid": self.uid, "sequence": self.sequence,
                "agenda_published_at": show_instant(self.agenda_published_at)
                if self.agenda_published_at else None,
                "deadlines": list(self.deadlines), "attendance": list(self.attendance),
                "decisions": list(self.decisions), "actions": list(self.actions)}


@dataclass(frozen=True)
class SeriesView:
    name: str
    every: str
    weekday: int
    start_time: str
    duration_minutes: int
    chair: str
    members: tuple[str, ...]
    location: str | None
    anchor_on: dt.date
    horizon_days: int
    on_holiday: str
    uid: str
    meetings: tuple[MeetingView, ...]
    skipped: tuple[dt.date, ...]
    use: str = "mace"  # what its meetings are for: MACE or the CDOP

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "use": self.use, "every": self.every,
                "weekday": self.weekday,
                "time": self.start_time, "duration_minutes": self.duration_minutes,
                "chair": self.chair, "members": list(self.members), "location": self.location,
                "anchor_on": self.anchor_on.isoformat(), "horizon_days": self.horizon_days,
                "on_holiday": self.on_holiday, "uid": self.uid,
                "skipped": [d.isoformat() for d in self.skipped],
                "meetings": [m.to_json() for m in self.meetings]}


@dataclass(frozen=True)
class ActionView:
    meeting: str
    ref: str
    child_ref: str | None
    summary: str
    owner: str
    agency: str
    due_on: dt.date
    status: str  # open, done or dropped
    done_on: dt.date | None
    dropped_on: dt.date | None = None
    drop_reason: str | None = None  # why it was dropped (no names)

    def to_json(self) -> dict[str, Any]:
        return {"meeting": self.meeting, "ref": self.ref, "child_ref": self.child_ref,
                "summary": self.summary, "owner": self.owner, "agency": self.agency,
                "due_on": self.due_on.isoformat(), "status": self.status,
                "done_on": self.done_on.isoformat() if self.done_on else None,
                "dropped_on": self.dropped_on.isoformat() if self.dropped_on else None,
                "drop_reason": self.drop_reason}


__all__ = ["ActionView", "MeetingView", "SeriesView"]
