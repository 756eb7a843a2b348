"""Alert ladder arithmetic: when each rung of a deadline's ladder falls due. Pure.

A rung ``N working days before`` falls due at :data:`ALERT_HOUR` (London) on the Nth working
day before the deadline's due day; ``due`` on the due day (or the working day before it, when it
is due on a weekend, bank holiday or closure day); ``N working days after`` on the Nth working
day after it. So every rung falls on a working day. For hour-counted deadlines the due day is
the London date of the due instant.

When a sweep finds several rungs of one deadline due at once (the scheduler was down, or a
deadline started or was moved late), it sends only the latest and records the earlier ones as
skipped: one email that says where things stand, not a burst of stale reminders.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from engine.core.calendar import WorkingCalendar
from engine.core.clock import LONDON, as_utc, london_date
from engine.core.definition import OWNER, AlertRungDef

ALERT_HOUR = dt.time(7, 0)  # London wall time at which a rung's day begins for alerts


@dataclass(frozen=True)
class PlannedRung:
    rung: AlertRungDef
    day: dt.date
    at: dt.datetime  # UTC

    @property
    def key(self) -> str:
        return self.rung.key


def due_day_of(due_at: dt.datetime, due_day: dt.date | None) -> dt.date:
    """The London day a deadline is due (day rules store it; hour rules: the instant's date)."""
    return due_day if due_day is not None else london_date(due_at - dt.timedelta(microseconds=1))


def rung_at(day: dt.date) -> dt.datetime:
    return as_utc(dt.datetime.combine(day, ALERT_HOUR, tzinfo=LONDON))


def plan_rungs(ladder: Sequence[AlertRungDef], due_at: dt.datetime, due_day: dt.date | None,
               cal: WorkingCalendar) -> list[PlannedRung]:
    """Every rung of ``ladder`` with the day and instant it falls due, earliest first."""
    day0 = due_day_of(due_at, due_day)
    out = []
    # the 'due' rung of a deadline due on a non-working day goes out the working day before
    due_rung_day = day0 if cal.is_working_day(day0) else cal.add_working_days(day0, -1)
    for rung in ladder:
        day = cal.add_working_days(day0, rung.offset) if rung.offset else due_rung_day
        out.append(PlannedRung(rung, day, rung_at(day)))
    return sorted(out, key=lambda p: (p.at, p.rung.offset))


def due_now(planned: Sequence[PlannedRung], done: Collection[str], now: dt.datetime,
            ) -> tuple[PlannedRung | None, list[PlannedRung]]:
    """(the rung to send now, the earlier ones to record as skipped) among rungs not done."""
    ready = [p for p in planned if p.key not in done and p.at <= as_utc(now)]
    if not ready:
        return None, []
    return ready[-1], ready[:-1]


def next_alert_at(planned: Sequence[PlannedRung], done: Collection[str]) -> dt.datetime | None:
    """When the next rung not yet raised or skipped falls due (None: the ladder is done)."""
    return min((p.at for p in planned if p.key not in done), default=None)


def roles_for(rung: AlertRungDef, owner: str | None) -> tuple[str, ...]:
    """The roles a rung goes to, with ``owner`` replaced by the clock's owner role."""
    roles = [owner if r == OWNER else r for r in rung.to]
    return tuple(dict.fromkeys(r for r in roles if r))


__all__ = ["ALERT_HOUR", "PlannedRung", "due_day_of", "due_now", "next_alert_at",
           "plan_rungs", "roles_for", "rung_at"]
