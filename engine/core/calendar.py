"""Working days and calendar months, as the statutory guidance counts them. Pure.

* A working day is Monday to Friday, not an England and Wales bank holiday (one-off ones
  included, from the ``holidays`` package) and not a local closure day from configuration.
* "N working days after X": X is day 0 whatever it is; the result is the Nth working day after.
* "N working days before Y" counts back the same way.
* Calendar months add month by month and clamp to the month's end (31 May + 6 months = 30 Nov).
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
from collections.abc import Iterable
from functools import cached_property
from typing import Any

ONE_DAY = dt.timedelta(days=1)


class WorkingCalendar:
    """England and Wales working days, plus a partnership's own closure days."""

    def __init__(self, closure_days: Iterable[dt.date] = (), subdivision: str = "ENG") -> None:
        self._closures = frozenset(closure_days)
        self._subdivision = subdivision
        self._working: dict[dt.date, bool] = {}
        self._between: dict[tuple[dt.date, dt.date], int] = {}

    @cached_property
    def _holidays(self) -> Any:
        # Imported on first use: a command that computes no date (``case show``) does not
        # pay the tenth of a second it takes. The one country's module, not
        # ``holidays.country_holidays``, which imports every country.
        from holidays.countries.united_kingdom import UnitedKingdom
        return UnitedKingdom(subdiv=self._subdivision)  # type: ignore[no-untyped-call]

    def is_working_day(self, day: dt.date) -> bool:
        known = self._working.get(day)
        if known is None:  # remembered: pages count working days to every due date
            known = self._working[day] = day.weekday() < 5 and day not in self._closures \
                and day not in self._holidays
        return known

    def holiday_name(self, day: dt.date) -> str | None:
        if day in self._closures:
            return "local closure day"
        name = self._holidays.get(day)
        return str(name) if name else None

    def add_working_days(self, start: dt.date, n: int) -> dt.date:
        """The nth working day after ``start`` (n < 0 counts back); n == 0 is ``start``."""
        step = ONE_DAY if n >= 0 else -ONE_DAY
        day, remaining = start, abs(n)
        while remaining:
            day += step
            if self.is_working_day(day):
                remaining -= 1
        return day

    def subtract_working_days(self, start: dt.date, n: int) -> dt.date:
        return self.add_working_days(start, -n)

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days after ``start`` up to and including ``end`` (negative if end < start)."""
        if end < start:
            return -self.working_days_between(end, start)
        known = self._between.get((start, end))
        if known is not None:
            return known
        count, day = 0, start
        while day < end:
            day += ONE_DAY
            count += self.is_working_day(day)
        if len(self._between) > 10_000:  # a long-running server: bounded
            self._between.clear()
        self._between[start, end] = count
        return count

    def next_working_day(self, day: dt.date) -> dt.date:
        """``day`` itself if it is a working day, else the first one after it."""
        while not self.is_working_day(day):
            day += ONE_DAY
        return day


def add_months(start: dt.date, months: int) -> dt.date:
    """Calendar months, clamped to the end of the target month."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    last = _calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(start.day, last))
