"""SQL for the alert side of the engine tables, on one Core connection (one transaction).

What the notifier needs from ``deadline``, ``alert`` and ``case``, as named operations:

* :meth:`AlertStore.claim_due` takes a batch of deadlines whose ``next_alert_at`` has come,
  with their case's reference, workflow, state and area; on PostgreSQL the deadline rows are
  locked ``FOR UPDATE SKIP LOCKED``, so concurrent sweeps take disjoint batches (SQLite write
  transactions are already serial). The lock lasts until the caller's transaction ends.
* :meth:`AlertStore.record_alerts` inserts alert rows. ``alert`` is unique on (deadline,
  rung): a rung already recorded is refused (``IntegrityError``) and the caller's transaction
  rolls back whole, so an alert, its outbox rows and the deadline's move commit together or
  not at all. That key, not ``next_alert_at``, is what makes a rung fire at most once.
* :meth:`AlertStore.move_next_alerts` sets each swept deadline's next alert time.
* The reads behind ``alerts list`` (:meth:`due_rungs`, :meth:`raised_alerts`) and the morning
  digest (:meth:`open_deadlines_due_by`).

Knows no ladder, template or recipient logic (``engine.core.ladder`` and the notifier decide
which rung is due and who hears of it); never touches the outbox, which is the notifier's own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Table, bindparam, insert, select, update

from engine.core.deadlines import OPEN
from engine.core.store.cases import CASES, DEADLINES
from engine.core.store.models import Alert

ALERTS: Table = Alert.__table__  # type: ignore[attr-defined]
RAISED = "raised"


@dataclass(frozen=True)
class CaseDeadline:
    """A deadline with what an alert about it names of its case (references only)."""

    id: int
    case_id: int
    name: str
    status: str
    due_at: dt.datetime
    due_day: dt.date | None
    owner_role: str | None
    rule: str
    ref: str
    workflow: str
    workflow_version: int
    state: str
    area: str | None
    key: str | None = None  # a keyed clock's value (an action reference, an episode)
    started_at: dt.datetime | None = None  # when the deadline started (the digest's "new")


@dataclass(frozen=True)
class NewAlert:
    """One rung of one deadline's ladder, raised or skipped, to record."""

    deadline_id: int
    case_id: int
    rung: str
    kind: str
    status: str  # raised, or skipped
    fire_at: dt.datetime
    due_at: dt.datetime
    raised_at: dt.datetime
    recipients: list[dict[str, str]]


@dataclass(frozen=True)
class DueRung:
    """A deadline whose next rung is due and not yet raised (what the next sweep will do)."""

    case: str
    deadline: str
    next_alert_at: dt.datetime
    due_at: dt.datetime
    due_day: dt.date | None


@dataclass(frozen=True)
class RaisedAlert:
    id: int
    case: str
    deadline: str
    rung: str
    kind: str
    raised_at: dt.datetime
    due_at: dt.datetime
    recipients: list[dict[str, str]]


_FROM_CASE = ("ref", "workflow", "workflow_version", "state", "area")
_CASE_DEADLINE_COLUMNS = [CASES.c[name] if name in _FROM_CASE else DEADLINES.c[name]
                          for name in CaseDeadline.__dataclass_fields__]
_DUE = (select(*_CASE_DEADLINE_COLUMNS)
        .join(CASES, CASES.c.id == DEADLINES.c.case_id)
        .where(DEADLINES.c.next_alert_at <= bindparam("now"))
        .order_by(DEADLINES.c.next_alert_at))
_DUE_LOCKED = _DUE.with_for_update(of=DEADLINES, skip_locked=True)
_OPEN_DUE_BY = (select(*_CASE_DEADLINE_COLUMNS)
                .join(CASES, CASES.c.id == DEADLINES.c.case_id)
                .where(DEADLINES.c.status == OPEN, DEADLINES.c.due_at <= bindparam("until"))
                .order_by(DEADLINES.c.due_at))
# One executemany, no RETURNING: the driver prepares the statement once (psycopg pipelines
# the rows). A multi-row INSERT ... RETURNING costs psycopg more to parse than to run (each
# batch is a new statement text of thousands of placeholders), and keeping the rows' order
# made SQLite send one statement per row. The ids are read back in one query.
_INSERT_ALERTS = insert(ALERTS)
_IDS = select(ALERTS.c.id, ALERTS.c.deadline_id, ALERTS.c.rung).where(
    ALERTS.c.deadline_id.in_(bindparam("ids", expanding=True)))
_ALERT_COLUMNS = tuple(NewAlert.__dataclass_fields__)
_MOVE_NEXT = (update(DEADLINES).where(DEADLINES.c.id == bindparam("b_id"))
              .values(next_alert_at=bindparam("b_next")))
_DONE = select(ALERTS.c.deadline_id, ALERTS.c.rung)


class AlertStore:
    """Row access for one transaction."""

    def __init__(self, connection: Connection) -> None:
        self.conn = connection

    # -- the sweep ---------------------------------------------------------------------
    def claim_due(self, now: dt.datetime, limit: int) -> list[CaseDeadline]:
        """Up to ``limit`` deadlines whose next alert is due at ``now``, earliest first;
        locked for this transaction on PostgreSQL, skipping those another one holds."""
        locking = self.conn.dialect.name == "postgresql"
        query = (_DUE_LOCKED if locking else _DUE).limit(limit)
        return [CaseDeadline(*row) for row in self.conn.execute(query, {"now": now})]

    def done_rungs(self, deadline_ids: Iterable[int]) -> dict[int, set[str]]:
        """The rungs already raised or skipped, per deadline (every id given has an entry)."""
        ids = list(deadline_ids)
        out: dict[int, set[str]] = {i: set() for i in ids}
        if ids:
            for deadline_id, rung in self.conn.execute(
                    _DONE.where(ALERTS.c.deadline_id.in_(ids))):
                out[deadline_id].add(rung)
        return out

    def record_alerts(self, alerts: Sequence[NewAlert]) -> dict[tuple[int, str], int]:
        """Insert the alerts; their ids by (deadline, rung). A rung recorded already raises
        ``IntegrityError`` (the unique key): the caller's transaction must roll back."""
        if not alerts:
            return {}
        # A shallow dict per row (``asdict`` deep-copied every recipient list).
        self.conn.execute(_INSERT_ALERTS, [{name: getattr(a, name) for name in _ALERT_COLUMNS}
                                           for a in alerts])
        wanted = {(a.deadline_id, a.rung) for a in alerts}
        rows = self.conn.execute(_IDS, {"ids": sorted({a.deadline_id for a in alerts})})
        return {(int(deadline_id), str(rung)): int(ident) for ident, deadline_id, rung in rows
                if (deadline_id, rung) in wanted}

    def move_next_alerts(self, moves: Sequence[tuple[int, dt.datetime | None]]) -> None:
        """Set each deadline's next alert time (None: nothing more to raise)."""
        if moves:
            self.conn.execute(_MOVE_NEXT, [{"b_id": ident, "b_next": at}
                                           for ident, at in moves])

    # -- what the digest and the listings read ------------------------------------------
    def open_deadlines_due_by(self, until: dt.datetime) -> list[CaseDeadline]:
        """Open deadlines due by ``until`` (overdue ones too), soonest first."""
        return [CaseDeadline(*row) for row in self.conn.execute(_OPEN_DUE_BY,
                                                                {"until": until})]

    def due_rungs(self, now: dt.datetime, areas: Collection[str] | None = None,
                  ) -> list[DueRung]:
        """Deadlines with a rung due at ``now`` not yet raised; ``areas``: cases there only."""
        query = (select(CASES.c.ref, DEADLINES.c.name, DEADLINES.c.next_alert_at,
                        DEADLINES.c.due_at, DEADLINES.c.due_day)
                 .join(CASES, CASES.c.id == DEADLINES.c.case_id)
                 .where(DEADLINES.c.next_alert_at <= now)
                 .order_by(DEADLINES.c.next_alert_at))
        if areas is not None:
            query = query.where(CASES.c.area.in_(list(areas)))
        return [DueRung(*row) for row in self.conn.execute(query)]

    def raised_alerts(self, now: dt.datetime, overdue: bool = False,
                      areas: Collection[str] | None = None, limit: int = 500,
                      ) -> list[RaisedAlert]:
        """Raised alerts, newest first; ``overdue``: of open deadlines past due at ``now``;
        ``areas``: of cases there only."""
        query = (select(ALERTS.c.id, CASES.c.ref, DEADLINES.c.name, ALERTS.c.rung,
                        ALERTS.c.kind, ALERTS.c.raised_at, ALERTS.c.due_at,
                        ALERTS.c.recipients)
                 .join(CASES, CASES.c.id == ALERTS.c.case_id)
                 .join(DEADLINES, DEADLINES.c.id == ALERTS.c.deadline_id)
                 .where(ALERTS.c.status == RAISED)
                 .order_by(ALERTS.c.raised_at.desc(), ALERTS.c.id.desc()).limit(limit))
        if overdue:
            query = query.where(DEADLINES.c.status == OPEN, DEADLINES.c.due_at <= now)
        if areas is not None:
            query = query.where(CASES.c.area.in_(list(areas)))
        return [RaisedAlert(*row) for row in self.conn.execute(query)]


__all__ = ["ALERTS", "AlertStore", "CaseDeadline", "DueRung", "NewAlert", "RaisedAlert"]
