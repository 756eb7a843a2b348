"""MACE series dates. Pure: no database, no clock.

A series meets every 2 or 4 weeks on a weekday (``2w``, ``4w``), or monthly on the same
weekday of the month as its first meeting (``1m``: the first Wednesday, say; a meeting on the
fifth such weekday means the last one). Its slots are the days the rule gives; a slot on a
bank holiday or closure day is skipped, or moved to the next or previous working day,
as the series says. The slot day stays the meeting's identity (its reference) even when it
moves.
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
import re
from dataclasses import dataclass

from engine.core.calendar import WorkingCalendar
from engine.core.clock import LONDON, UTC
from engine.core.errors import UsageError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
HOLIDAY_POLICIES = ("skip", "next", "previous")
_EVERY = re.compile(r"^(\d+)([wm])$")
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class Every:
    """How often a series meets: ``count`` weeks or months."""

    count: int
    unit: str  # "w" or "m"

    @property
    def text(self) -> str:
        return f"{self.count}{self.unit}"


def parse_every(text: str) -> Every:
    match = _EVERY.match(text.strip().lower())
    if not match or int(match.group(1)) < 1 or (match.group(2) == "m" and
                                                int(match.group(1)) > 12):
        raise UsageError(f"'{text}' is not a meeting frequency: use 2w (fortnightly), "
                         "4w (every four weeks) or 1m (monthly, same weekday of the month)")
    return Every(int(match.group(1)), match.group(2))


def parse_weekday(text: str) -> int:
    name = text.strip().lower()
    for index, day in enumerate(WEEKDAYS):
        if name in (day, day[:3]):
            if index > 4:
                raise UsageError("MACE meets on a working day: choose Monday to Friday")
            return index
    raise UsageError(f"'{text}' is not a weekday: use monday ... friday")


def parse_time(text: str) -> str:
    if not _TIME.match(text.strip()):
        raise UsageError(f"'{text}' is not a time: use HH:MM (24-hour, Europe/London)")
    return text.strip()


def parse_policy(text: str) -> str:
    if text not in HOLIDAY_POLICIES:
        raise UsageError(f"'{text}' is not a bank-holiday rule: use one of "
                         f"{', '.join(HOLIDAY_POLICIES)}")
    return text


def first_on_or_after(day: dt.date, weekday: int) -> dt.date:
    return day + dt.timedelta(days=(weekday - day.weekday()) % 7)


def _week_of_month(day: dt.date) -> int:
    """1..4 for the first to fourth such weekday of the month; -1 for a fifth (the last)."""
    position = (day.day - 1) // 7 + 1
    return -1 if position == 5 else position


def _nth_weekday(year: int, month: int, weekday: int, position: int) -> dt.date:
    days = [d for d in range(1, _calendar.monthrange(year, month)[1] + 1)
            if dt.date(year, month, d).weekday() == weekday]
    return dt.date(year, month, days[position - 1 if position > 0 else -1])


def slots(anchor_on: dt.date, every: Every, start: dt.date, end: dt.date) -> list[dt.date]:
    """The days the rule gives from ``anchor_on`` that fall in [start, end]."""
    out: list[dt.date] = []
    if every.unit == "w":
        step = dt.timedelta(weeks=every.count)
        day = anchor_on
        if start > day:
            skip = (start - day).days // step.days
            day += step * skip
        while day <= end:
            if day >= start:
                out.append(day)
            day += step
        return out
    position = _week_of_month(anchor_on)
    index = 0
    while True:
        month0 = anchor_on.month - 1 + index * every.count
        year, month = anchor_on.year + month0 // 12, month0 % 12 + 1
        day = _nth_weekday(year, month, anchor_on.weekday(), position)
        if day > end:
            return out
        if day >= start:
            out.append(day)
        index += 1


def place(slot: dt.date, cal: WorkingCalendar, policy: str) -> dt.date | None:
    """The day a slot's meeting is held: the slot itself on a working day; otherwise None
    (skip) or the next or previous working day."""
    if cal.is_working_day(slot):
        return slot
    if policy == "skip":
        return None
    step = dt.timedelta(days=1 if policy == "next" else -1)
    day = slot + step
    while not cal.is_working_day(day):
        day += step
    return day


def start_instant(day: dt.date, start_time: str) -> dt.datetime:
    """The UTC instant of HH:MM Europe/London on ``day`` (DST-safe)."""
    hour, minute = (int(p) for p in start_time.split(":"))
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LONDON).astimezone(UTC)


__all__ = [
    "HOLIDAY_POLICIES", "Every", "first_on_or_after", "parse_every", "parse_policy",
    "parse_time", "parse_weekday", "place", "slots", "start_instant",
]
