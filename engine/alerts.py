"""Keeping each deadline's next-alert time right when the engine writes deadlines.

Why a column and not a schedule table: a deadline has at most one *next* rung, so
``deadline.next_alert_at`` (indexed, NULL when nothing more is due: met, cancelled, ladder
done) is the whole work list. The sweep reads ``WHERE next_alert_at <= now`` from that index,
so its cost grows with what is due, not with the number of deadlines; there is no second
table to keep in step with the deadline, and the row lock that serialises a sweep against a
fire is the deadline row itself. The record of what was raised is the ``alert`` table,
unique on (deadline, rung): that, not the column, is what makes a rung fire at most once.

:func:`schedule_alerts` runs inside the engine's transaction (from ``Engine._apply``): a new
deadline gets its first rung time, a met or cancelled one gets NULL, a rescheduled one is
recomputed from its new due point, skipping rungs already raised.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlmodel import Session, col

from engine.deadlines import OPEN
from engine.ladder import next_alert_at, plan_rungs
from engine.store.models import Alert, Case, Deadline

if TYPE_CHECKING:
    from engine.service import Engine


def done_rungs(session: Session, deadline_ids: Iterable[int]) -> dict[int, set[str]]:
    """The rungs already raised or skipped, per deadline."""
    ids = list(deadline_ids)
    out: dict[int, set[str]] = {i: set() for i in ids}
    if ids:
        for deadline_id, rung in session.execute(
                select(col(Alert.deadline_id), col(Alert.rung)).where(
                    col(Alert.deadline_id).in_(ids))):
            out[deadline_id].add(rung)
    return out


def schedule_alerts(engine: Engine, session: Session, case_id: int,
                    rows: Iterable[Deadline]) -> None:
    """Set ``next_alert_at`` on the case's deadlines written in this transaction."""
    touched = [obj for obj in session.new if isinstance(obj, Deadline)
               and obj.case_id == case_id]
    touched += [row for row in rows if row in session.dirty]
    if not touched:
        return
    case = session.get(Case, case_id)
    assert case is not None
    definition = engine.definition(session, case.workflow, case.workflow_version)
    done = done_rungs(session, [d.id for d in touched if d.id is not None and
                                d.status == OPEN])
    for row in touched:
        clock = definition.clocks.get(row.name)
        if row.status != OPEN or clock is None:
            row.next_alert_at = None
            continue
        planned = plan_rungs(clock.alerts, row.due_at, row.due_day, engine.calendar)
        row.next_alert_at = next_alert_at(planned, done.get(row.id or 0, set()))
