"""Keeping each deadline's next-alert time right when the engine writes deadlines.

Why a column and not a schedule table: a deadline has at most one *next* rung, so
``deadline.next_alert_at`` (indexed, NULL when nothing more is due: met, cancelled, ladder
done) is the whole work list. The sweep reads ``WHERE next_alert_at <= now`` from that index,
so its cost grows with what is due, not with the number of deadlines; there is no second
table to keep in step with the deadline, and the row lock that serialises a sweep against a
fire is the deadline row itself. The record of what was raised is the ``alert`` table,
unique on (deadline, rung): that, not the column, is what makes a rung fire at most once.

The engine calls :func:`next_alert_for` for every deadline it writes (``Engine._apply``): a new
deadline gets its first rung time, a met or cancelled one gets NULL, a rescheduled one is
recomputed from its new due point, skipping rungs already raised (:func:`done_rungs`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from engine.core.calendar import WorkingCalendar
from engine.core.deadlines import OPEN
from engine.core.definition import ClockDef
from engine.core.ladder import next_alert_at, plan_rungs
from engine.core.store.alert_store import AlertStore


def done_rungs(conn: Connection | Session, deadline_ids: Iterable[int]) -> dict[int, set[str]]:
    """The rungs already raised or skipped, per deadline."""
    connection = conn.connection() if isinstance(conn, Session) else conn
    return AlertStore(connection).done_rungs(deadline_ids)


def next_alert_for(clock: ClockDef | None, status: str, due_at: dt.datetime,
                   due_day: dt.date | None, done: Collection[str],
                   cal: WorkingCalendar) -> dt.datetime | None:
    """When the deadline's next rung not yet raised falls due; None if nothing more will."""
    if clock is None or status != OPEN:
        return None
    return next_alert_at(plan_rungs(clock.alerts, due_at, due_day, cal), done)
