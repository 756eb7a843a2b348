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


# Every date a user or a file gives must fall in this range: far enough either side of any
# real case, and far enough from datetime's own limits that adding working days, months or
# years to it can never overflow.
MIN_DATE = dt.date(1900, 1, 1)
MAX_DATE = dt.date(2199, 12, 31)
_LONGEST_DATE_TEXT = 64


def check_date_range(day: dt.date, text: str) -> dt.date:
    if not MIN_DATE <= day <= MAX_DATE:
        raise BadDateError(f"'{text}' is out of range; dates must fall between "
                           f"{MIN_DATE.isoformat()} and {MAX_DATE.isoformat()}")
    return day


def parse_date(text: str) -> dt.date:
    raw = text.strip()
    try:
        if len(raw) > _LONGEST_DATE_TEXT:
            raise ValueError(raw)
        day = dt.date.fromisoformat(raw)
    except ValueError:
        raise BadDateError(f"'{text}' is not a date; use YYYY-MM-DD, e.g. 2024-06-03") from None
    return check_date_range(day, text)


def london_wall_time(local: dt.datetime, text: str) -> dt.datetime:
    """A naive Europe/London wall time as a UTC instant; a time the clocks skip (spring) or
    pass twice (autumn) is refused with the instants it could mean."""
    first = local.replace(tzinfo=LONDON, fold=0)
    second = local.replace(tzinfo=LONDON, fold=1)
    a, b = first.astimezone(UTC), second.astimezone(UTC)
    if a == b:
        return a
    wall = local.isoformat(timespec="minutes")
    offsets = sorted({first.isoformat(timespec="minutes")[-6:],
                      second.isoformat(timespec="minutes")[-6:]})
    shown = " or ".join(f"{wall}{offset}" for offset in offsets)
    if first.astimezone(UTC).astimezone(LONDON).replace(tzinfo=None) != local:
        raise BadDateError(f"'{text}' does not exist in Europe/London (the clocks go forward); "
                           f"give an offset: {shown}")
    raise BadDateError(f"'{text}' happens twice in Europe/London (the clocks go back); "
                       f"give an offset: {shown}")


def parse_instant(text: str) -> dt.datetime:
    """An ISO date or datetime; naive values are Europe/London, a bare date is its start.
    A naive time that does not exist in London, or exists twice, is refused."""
    raw = text.strip()
    try:
        if len(raw) > _LONGEST_DATE_TEXT:
            raise ValueError(raw)
        if len(raw) == 10:
            return start_of_day(check_date_range(dt.date.fromisoformat(raw), text))
        parsed = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadDateError(
            f"'{text}' is not a date-time; use YYYY-MM-DDTHH:MM (Europe/London) "
            "or with an offset, e.g. 2024-06-03T21:30+01:00"
        ) from None
    check_date_range(parsed.date(), text)
    if parsed.tzinfo is None:
        return london_wall_time(parsed, text)
    return parsed.astimezone(UTC)


def show_instant(at: dt.datetime) -> str:
    """ISO datetime with the Europe/London offset, to the minute."""
    return as_utc(at).astimezone(LONDON).isoformat(timespec="minutes")
