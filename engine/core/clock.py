"""The engine's notion of now. Injected everywhere; the engine never reads the wall clock.

Instants are timezone-aware UTC datetimes. Days are counted in Europe/London.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol
from zoneinfo import ZoneInfo

from engine.core.errors import BadDateError

LONDON = ZoneInfo("Europe/London")
UTC = dt.UTC


class Clock(Protocol):
    def now(self) -> dt.datetime: ...


class SystemClock:
    """The wall clock; only the edges (CLI, scheduler) construct one."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(UTC)


class FixedClock:
    """A clock that says what it is told: simulated time for demos and tests."""

    def __init__(self, at: dt.datetime) -> None:
        self._at = as_utc(at)

    def now(self) -> dt.datetime:
        return self._at

    def set(self, at: dt.datetime) -> None:
        self._at = as_utc(at)

    def advance(self, delta: dt.timedelta) -> None:
        self._at += delta


def as_utc(at: dt.datetime) -> dt.datetime:
    """An aware UTC instant; a naive datetime is read as Europe/London wall time."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=LONDON)
    return at.astimezone(UTC)


def london_date(at: dt.datetime) -> dt.date:
    return as_utc(at).astimezone(LONDON).date()


def start_of_day(day: dt.date) -> dt.datetime:
    """The UTC instant at which the London calendar day begins (DST-safe)."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=LONDON).astimezone(UTC)


def end_of_day(day: dt.date) -> dt.datetime:
    """The UTC instant at which the London day ends: the start of the next day."""
    return start_of_day(day + dt.timedelta(days=1))


def parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise BadDateError(f"'{text}' is not a date; use YYYY-MM-DD, e.g. 2024-06-03") from None


def parse_instant(text: str) -> dt.datetime:
    """An ISO date or datetime; naive values are Europe/London, a bare date is its start."""
    raw = text.strip()
    try:
        if len(raw) == 10:
            return start_of_day(dt.date.fromisoformat(raw))
        return as_utc(dt.datetime.fromisoformat(raw.replace("Z", "+00:00")))
    except ValueError:
        raise BadDateError(
            f"'{text}' is not a date-time; use YYYY-MM-DDTHH:MM (Europe/London) "
            "or with an offset, e.g. 2024-06-03T21:30+01:00"
        ) from None


def show_instant(at: dt.datetime) -> str:
    """ISO datetime with the Europe/London offset, to the minute."""
    return as_utc(at).astimezone(LONDON).isoformat(timespec="minutes")
