"""The notifier: the deadline sweep, outbox delivery, the morning digest, and their queries.

Shaped like viewflow's timer sweep: the work list is an indexed column
(``deadline.next_alert_at``); each pass claims a batch of due rows under a lock (``FOR UPDATE
SKIP LOCKED`` on PostgreSQL, the single writer on SQLite), re-checks each under that lock,
writes the alert rows (unique per deadline and rung) and their rendered outbox rows in the
same transaction, moves each deadline's ``next_alert_at`` on, and returns counts. Running it
twice, or in several processes at once, raises nothing twice.

Time comes from the injected clock; this module never reads the wall clock.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlmodel import col

from engine.core.alerts import done_rungs
from engine.core.clock import end_of_day, london_date
from engine.core.deadlines import OPEN
from engine.core.errors import DeliveryError, NotificationNotFoundError, UsageError
from engine.core.ladder import (
    PlannedRung,
    due_day_of,
    due_now,
    next_alert_at,
    plan_rungs,
    roles_for,
)
from engine.core.service import Engine
from engine.core.settings import NotificationSettings
from engine.core.store.cases import CaseStore
from engine.core.store.models import Alert, Case, Deadline, OutboxMessage
from notifications import outbox
from notifications.recipients import (
    DirectoryRecipients,
    RecipientResolver,
    SettingsRecipients,
    resolve,
)
from notifications.render import alert_context, render, show_day
from notifications.transports import Transport


@dataclass(frozen=True)
class SweepResult:
    deadlines: int = 0  # deadlines examined
    raised: int = 0  # alerts raised
    skipped: int = 0  # rungs superseded by a later one
    messages: int = 0  # outbox rows written
    unaddressed: int = 0  # alerts raised with no configured recipient

    def __add__(self, other: SweepResult) -> SweepResult:
        return SweepResult(*(a + b for a, b in zip(self.astuple(), other.astuple(),
                                                     strict=True)))

    def astuple(self) -> tuple[int, ...]:
        return (self.deadlines, self.raised, self.skipped, self.messages, self.unaddressed)


@dataclass(frozen=True)
class DispatchResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    released: int = 0


class Notifier:
    def __init__(self, engine: Engine, settings: NotificationSettings,
                 transport_factory: Callable[[], Transport],
                 resolver: RecipientResolver | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.transport_factory = transport_factory
        if resolver is None:
            resolver = DirectoryRecipients(engine.db, settings.recipients) \
                if settings.recipients_from == "directory" \
                else SettingsRecipients(settings.recipients)
        self.resolver = resolver

    @property
    def db(self) -> Any:
        return self.engine.db

    def now(self) -> dt.datetime:
        return self.engine.clock.now()

    # -- the sweep -------------------------------------------------------------------------
    def sweep(self, batch: int = 500, max_batches: int = 10_000) -> SweepResult:
        """Raise every alert rung due at the engine's time; returns what it did."""
        total = SweepResult()
        refresh = getattr(self.resolver, "refresh", None)
        if refresh is not None:
            refresh()
        for _ in range(max_batches):
            result = self._sweep_batch(batch)
            total += result
            if result.deadlines < batch:
                break
        return total

    def _sweep_batch(self, batch: int) -> SweepResult:
        now = self.now()
        today = london_date(now)
        cal = self.engine.calendar
        with self.db.write() as session:
            query = (select(col(Deadline.id), col(Deadline.case_id), col(Deadline.name),
                            col(Deadline.status), col(Deadline.due_at),
                            col(Deadline.due_day), col(Deadline.owner_role),
                            col(Deadline.rule), col(Case.ref), col(Case.workflow),
                            col(Case.workflow_version), col(Case.state), col(Case.area))
                     .join(Case, col(Case.id) == col(Deadline.case_id))
                     .where(col(Deadline.next_alert_at) <= now)
                     .order_by(col(Deadline.next_alert_at)).limit(batch))
            if not self.db.is_sqlite:
                query = query.with_for_update(of=Deadline, skip_locked=True)
            claimed = list(session.execute(query))
            if not claimed:
                return SweepResult()
            done = done_rungs(session, [row.id for row in claimed])
            alerts: list[dict[str, Any]] = []
            sends: list[tuple[Any, Any, list[dict[str, str]]]] = []
            moves: list[dict[str, Any]] = []
            skipped = 0
            for row in claimed:
                definition = self.engine.definition(CaseStore(session.connection()), row.workflow,
                                                    row.workflow_version)
                clock = definition.clocks.get(row.name)
                if row.status != OPEN or clock is None:  # re-checked under the lock
                    moves.append({"b_id": row.id, "b_next": None})
                    continue
                planned = plan_rungs(clock.alerts, row.due_at, row.due_day, cal)
                seen = done[row.id]
                send, skip = due_now(planned, seen, now)
                for rung in skip:
                    alerts.append(_alert_row(row, rung, "skipped", now, []))
                    seen.add(rung.key)
                    skipped += 1
                if send is not None:
                    roles = roles_for(send.rung, row.owner_role)
                    recipients = resolve(self.resolver, roles, row.workflow, row.ref,
                                         row.area)
                    alerts.append(_alert_row(row, send, "raised", now, recipients))
                    sends.append((row, send, recipients))
                    seen.add(send.key)
                moves.append({"b_id": row.id, "b_next": next_alert_at(planned, seen)})
            ids: dict[tuple[int, str], int] = {}
            if alerts:
                inserted = session.execute(
                    insert(Alert).returning(col(Alert.id), col(Alert.deadline_id),
                                            col(Alert.rung), sort_by_parameter_order=True),
                    alerts)
                ids = {(deadline_id, rung): ident for ident, deadline_id, rung in inserted}
            messages: list[dict[str, Any]] = []
            for row, send, recipients in sends:
                alert_id = ids[(row.id, send.key)]
                definition = self.engine.definition(CaseStore(session.connection()), row.workflow,
                                                    row.workflow_version)
                for recipient in recipients:
                    context = alert_context(
                        definition, row.ref, row.state, row.name,
                        due_day_of(row.due_at, row.due_day), today, send.rung.kind,
                        recipient["role"], self.settings.base_url, cal, row.rule)
                    messages.append(outbox.row_values(
                        f"alert:{alert_id}:{recipient['address']}", send.rung.kind,
                        recipient["address"], render(send.rung.kind, context), now,
                        self.settings.sender, alert_id, row.case_id))
            table = Deadline.__table__  # type: ignore[attr-defined]  # core UPDATE, one executemany
            session.execute(
                update(table).where(table.c.id == bindparam("b_id"))
                .values(next_alert_at=bindparam("b_next")), moves)
            written = outbox.enqueue(session, messages)
            return SweepResult(len(claimed), len(sends), skipped, written,
                               sum(1 for _, _, r in sends if not r))

    # -- delivery ----------------------------------------------------------------------------
    def dispatch(self, batch: int = 100, max_batches: int = 1_000,
                 ids: Sequence[int] | None = None) -> DispatchResult:
        """Deliver what is due in the outbox; a failing server loses nothing."""
        sent = retrying = failed = released = 0
        settings = self.settings
        lease = dt.timedelta(seconds=settings.lease_seconds)
        backoff = dt.timedelta(seconds=settings.backoff_seconds)
        transport = self.transport_factory()
        try:
            for _ in range(max_batches):
                rows = outbox.claim(self.db, self.now(), batch, lease, ids)
                for i, row in enumerate(rows):
                    message = outbox.build_message(row, settings.sender, self.now())
                    try:
                        transport.send(message)
                    except DeliveryError as exc:
                        status = outbox.finish(self.db, row, self.now(), str(exc),
                                               exc.permanent, settings.max_attempts, backoff)
                        failed += status == outbox.FAILED
                        retrying += status == outbox.PENDING
                        if exc.unreachable:
                            outbox.release(self.db, rows[i + 1:])  # server down: stop here
                            released += len(rows) - i - 1
                            return DispatchResult(sent, retrying, failed, released)
                        continue
                    outbox.finish(self.db, row, self.now(), None, False,
                                  settings.max_attempts, backoff)
                    sent += 1
                if len(rows) < batch:
                    break
        finally:
            transport.close()
        return DispatchResult(sent, retrying, failed, released)

    def retry(self, ident: int | None = None, all_failed: bool = False) -> int:
        """Put dead-lettered messages back in the queue with a fresh set of attempts."""
        if ident is None and not all_failed:
            raise UsageError("say which: a notification ID, or --all-failed")
        with self.db.write() as session:
            query = select(OutboxMessage).where(
                OutboxMessage.status == outbox.FAILED)  # type: ignore[arg-type]
            if ident is not None:
                row = session.get(OutboxMessage, ident)
                if row is None:
                    raise NotificationNotFoundError(ident)
                if row.status != outbox.FAILED:
                    raise UsageError(f"notification {ident} is {row.status}, not failed: "
                                     "only failed ones are retried")
                query = query.where(OutboxMessage.id == ident)  # type: ignore[arg-type]
            count = 0
            for row in session.scalars(query):
                row.status, row.attempts, row.next_attempt_at = outbox.PENDING, 0, self.now()
                row.lease_until = None
                session.add(row)
                count += 1
            return count

    # -- the morning digest --------------------------------------------------------------------
    def digest(self, horizon: int = 5) -> int:
        """One email per address on a working day: its deadlines due within ``horizon``
        working days or overdue. Once per address and day, however often it runs."""
        now = self.now()
        today = london_date(now)
        cal = self.engine.calendar
        if not cal.is_working_day(today):
            return 0
        until = end_of_day(cal.add_working_days(today, horizon))
        items: dict[str, list[dict[str, Any]]] = defaultdict(list)
        refresh = getattr(self.resolver, "refresh", None)
        if refresh is not None:
            refresh()
        with self.db.write() as session:
            rows = session.execute(
                select(Deadline, Case.ref, Case.workflow,  # type: ignore[call-overload]
                       Case.workflow_version, Case.state, Case.area)
                .join(Case, Case.id == Deadline.case_id)
                .where(Deadline.status == OPEN, Deadline.due_at <= until)
                .order_by(Deadline.due_at))
            for deadline, ref, workflow, version, state, area in rows:
                store = CaseStore(session.connection())
                definition = self.engine.definition(store, workflow, version)
                roles = (deadline.owner_role,) if deadline.owner_role else ()
                for recipient in resolve(self.resolver, roles, workflow, ref, area):
                    context = alert_context(definition, ref, state, deadline.name,
                                            _due_day(deadline), today, "digest",
                                            recipient["role"], self.settings.base_url, cal,
                                            deadline.rule)
                    items[recipient["address"]].append(context)
            messages = []
            for address, entries in sorted(items.items()):
                rendered = render("digest", {"items": entries, "today": show_day(today),
                                             "base_url": self.settings.base_url})
                messages.append(outbox.row_values(f"digest:{today}:{address}", "digest",
                                                  address, rendered, now,
                                                  self.settings.sender))
            return outbox.enqueue(session, messages)

    # -- queries -------------------------------------------------------------------------------
    def messages(self, statuses: Sequence[str] = (), limit: int = 200,
                 areas: Collection[str] | None = None) -> list[OutboxMessage]:
        """Newest first; ``areas``: only messages about cases in those areas (and none about
        no case), for someone whose role is granted for some areas only."""
        if limit < 1:
            raise UsageError("--limit must be at least 1")
        for status in statuses:
            if status not in outbox.STATUSES:
                raise UsageError(f"unknown status '{status}'; one of "
                                 f"{', '.join(outbox.STATUSES)}")
        with self.db.read() as session:
            query = select(OutboxMessage).order_by(
                OutboxMessage.id.desc()).limit(limit)  # type: ignore[union-attr]
            if statuses:
                query = query.where(OutboxMessage.status.in_(  # type: ignore[attr-defined]
                    list(statuses)))
            if areas is not None:
                query = query.join(Case, Case.id == OutboxMessage.case_id).where(  # type: ignore[arg-type]
                    col(Case.area).in_(list(areas)))
            return list(session.scalars(query))

    def message(self, ident: int, areas: Collection[str] | None = None) -> OutboxMessage:
        with self.db.read() as session:
            row = session.get(OutboxMessage, ident)
            if row is not None and areas is not None:
                case = session.get(Case, row.case_id) if row.case_id else None
                if case is None or case.area not in areas:
                    row = None  # not theirs to see: as if it did not exist
            if row is None:
                raise NotificationNotFoundError(ident)
            return row  # type: ignore[no-any-return]

    def counts(self) -> dict[str, int]:
        with self.db.read() as session:
            return {status: int(n) for status, n in session.execute(
                select(col(OutboxMessage.status), func.count()).group_by(
                    col(OutboxMessage.status)))}

    def alerts(self, due: bool = False, overdue: bool = False,
               areas: Collection[str] | None = None) -> list[dict[str, Any]]:
        """Raised alerts (newest first); ``due``: rungs due now not yet raised (what the next
        sweep will do); ``overdue``: raised alerts of deadlines past due and still open;
        ``areas``: only cases in those areas."""
        now = self.now()
        with self.db.read() as session:
            if due:
                due_query = (
                    select(Deadline, Case.ref).join(  # type: ignore[call-overload]
                        Case, Case.id == Deadline.case_id)
                    .where(col(Deadline.next_alert_at) <= now)
                    .order_by(Deadline.next_alert_at))
                if areas is not None:
                    due_query = due_query.where(col(Case.area).in_(list(areas)))
                rows = session.execute(due_query)
                return [{"case": ref, "deadline": d.name, "next_alert_at": d.next_alert_at,
                         "due_at": d.due_at, "due": d.due_day.isoformat() if d.due_day
                         else None, "status": "due"} for d, ref in rows]
            query = (select(Alert, Case.ref, Deadline.name)  # type: ignore[call-overload]
                     .join(Case, Case.id == Alert.case_id)
                     .join(Deadline, Deadline.id == Alert.deadline_id)
                     .where(Alert.status == "raised")
                     .order_by(col(Alert.raised_at).desc(), col(Alert.id).desc()).limit(500))
            if overdue:
                query = query.where(Deadline.status == OPEN, Deadline.due_at <= now)
            if areas is not None:
                query = query.where(col(Case.area).in_(list(areas)))
            return [{"id": a.id, "case": ref, "deadline": name, "rung": a.rung,
                     "kind": a.kind, "raised_at": a.raised_at, "due_at": a.due_at,
                     "recipients": [r["address"] for r in a.recipients]}
                    for a, ref, name in session.execute(query)]

    def preview(self, template: str, ref: str, actor: str, deadline: str | None = None) -> Any:
        """Render ``template`` for case ``ref`` (with its first open deadline, or ``deadline``)
        without storing anything. The actor must be allowed to read the case (audited)."""
        now = self.now()
        self.engine.case(ref, actor, command="notifications preview")
        with self.db.read() as session:
            [case] = CaseStore(session.connection()).find(ref)
            definition = self.engine.definition(CaseStore(session.connection()), case.workflow,
                                                case.workflow_version)
            rows = list(session.scalars(select(Deadline).where(
                Deadline.case_id == case.id).order_by(Deadline.due_at)))  # type: ignore[arg-type]
            chosen = [d for d in rows if d.name == deadline] if deadline else \
                [d for d in rows if d.status == OPEN] or rows
            if not chosen:
                raise UsageError(f"case '{ref}' has no deadline"
                                 + (f" '{deadline}'" if deadline else "") + " to preview")
            d = chosen[0]
            context = alert_context(definition, case.ref, case.state, d.name, _due_day(d),
                                    london_date(now), template, d.owner_role or "owner",
                                    self.settings.base_url, self.engine.calendar, d.rule)
            if template == "digest":
                context = {"items": [context], "today": context["today"],
                           "base_url": self.settings.base_url}
            return render(template, context)


def _alert_row(row: Any, rung: PlannedRung, status: str, now: dt.datetime,
               recipients: list[dict[str, str]]) -> dict[str, Any]:
    return {"deadline_id": row.id, "case_id": row.case_id, "rung": rung.key,
            "kind": rung.rung.kind, "status": status, "fire_at": rung.at,
            "due_at": row.due_at, "raised_at": now, "recipients": recipients}


def _due_day(deadline: Deadline) -> dt.date:
    from engine.core.ladder import due_day_of

    return due_day_of(deadline.due_at, deadline.due_day)


def make_transport(settings: NotificationSettings, default_folder: Any = None) -> Transport:
    from pathlib import Path

    from notifications.transports import EmlFolderTransport, MemoryTransport, SmtpTransport

    if settings.transport == "smtp":
        return SmtpTransport(settings.smtp_host, settings.smtp_port, settings.smtp_starttls,
                             settings.smtp_user, settings.smtp_password, settings.smtp_timeout)
    if settings.transport == "memory":
        return MemoryTransport()
    folder = settings.eml_dir or default_folder
    if folder is None:
        from platformdirs import user_data_path

        folder = user_data_path("safeguard") / "outbox"
    return EmlFolderTransport(Path(folder))
