"""The notifier: the deadline sweep, outbox delivery, the morning digest, and their queries.

Shaped like viewflow's timer sweep: the work list is an indexed column
(``deadline.next_alert_at``); each pass claims a batch of due rows under a lock (``FOR UPDATE
SKIP LOCKED`` on PostgreSQL, the single writer on SQLite), re-checks each under that lock,
writes the alert rows (unique per deadline and rung) and their rendered outbox rows in the
same transaction, moves each deadline's ``next_alert_at`` on, and returns counts. Running it
twice, or in several processes at once, raises nothing twice.

A batch costs a fixed number of statements whatever its size: the claim, the rungs already
done, then one executemany each for the alerts, the outbox rows and the moves (plus one
read of the new alert ids; a keyed deadline's item fields and an assignee's address are
still read per deadline). The Python per deadline is the ladder and the email, rendered
once per recipient role from templates compiled once per process. Rendering stays here,
not at delivery, so the outbox holds exactly what is sent, as of the moment it was raised.

Time comes from the injected clock; this module never reads the wall clock. It runs no SQL of
its own: the engine's tables are reached through :class:`~engine.core.store.alert_store.
AlertStore` (claiming, recording, the listings) and the directory, the outbox through
:mod:`notifications.outbox`; it must not import a domain.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from engine.core.clock import end_of_day, london_date, start_of_day
from engine.core.deadlines import OPEN
from engine.core.definition import ASSIGNEE, assignee_kind
from engine.core.errors import DeliveryError, NotificationNotFoundError, UsageError
from engine.core.ladder import (
    PlannedRung,
    due_day_of,
    due_now,
    next_alert_at,
    plan_rungs,
    roles_for,
)
from engine.core.policy import MAIL_READERS, OPERATIONS, areas_for
from engine.core.service import Engine
from engine.core.settings import NotificationSettings
from engine.core.store.alert_store import AlertStore, CaseDeadline, NewAlert
from engine.core.store.cases import CaseStore
from engine.core.store.directory import Directory
from engine.core.store.models import OutboxMessage
from notifications import outbox
from notifications.recipients import (
    DirectoryRecipients,
    RecipientResolver,
    SettingsRecipients,
    resolve,
)
from notifications.render import Rendered, alert_context, render, show_day

if TYPE_CHECKING:  # SMTP and TLS are loaded by make_transport, when mail is delivered
    from notifications.transports import Transport

log = logging.getLogger("safeguard.notifications")


@dataclass(frozen=True)
class SweepResult:
    deadlines: int = 0  # deadlines examined
    raised: int = 0  # alerts raised
    skipped: int = 0  # rungs superseded by a later one
    messages: int = 0  # outbox rows written
    unaddressed: int = 0  # alerts raised with no configured recipient
    # Users an alert was meant for who have no usable address (logins only): reported by
    # the scheduler's log line and summary, and by 'safeguard status'.
    unaddressed_users: tuple[str, ...] = ()

    def __add__(self, other: SweepResult) -> SweepResult:
        d, r, s, m, u = (a + b for a, b in zip(self.astuple(), other.astuple(), strict=True))
        users = tuple(sorted({*self.unaddressed_users, *other.unaddressed_users}))
        return SweepResult(d, r, s, m, u, users)

    def astuple(self) -> tuple[int, ...]:
        return (self.deadlines, self.raised, self.skipped, self.messages, self.unaddressed)

    def __str__(self) -> str:
        text = (f"{self.deadlines} deadlines, {self.raised} alerts raised, {self.skipped} "
                f"skipped, {self.messages} emails, {self.unaddressed} alerts with no one to "
                "send to")
        if self.unaddressed_users:
            text += ("; NO EMAIL ADDRESS for " + ", ".join(self.unaddressed_users)
                     + " (safeguard user update LOGIN --email ADDRESS)")
        return text


@dataclass(frozen=True)
class DispatchResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    released: int = 0
    taken_over: int = 0  # claimed, then left to another sender whose lease it now was


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
        self._missed: set[str] = set()  # assignees with no address, in the current sweep
        self._warned: set[str] = set()  # logged already by this process (the summary repeats)

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
        self._missed = set()
        for _ in range(max_batches):
            result = self._sweep_batch(batch)
            total += result
            if result.deadlines < batch:
                break
        missed = self._missed | set(getattr(self.resolver, "missed", {}))
        if missed - self._warned:
            log.warning("alerts could not reach users with no registered email address: %s "
                        "('safeguard status' lists them; 'safeguard user update LOGIN "
                        "--email ADDRESS' gives one an address)",
                        ", ".join(sorted(missed - self._warned)))
            self._warned |= missed
        return total + SweepResult(unaddressed_users=tuple(sorted(missed)))

    def _sweep_batch(self, batch: int) -> SweepResult:
        now = self.now()
        today = london_date(now)
        cal = self.engine.calendar
        with self.db.write() as session:
            conn = session.connection()
            store = AlertStore(conn)
            claimed = store.claim_due(now, batch)  # locked until the commit (PostgreSQL)
            if not claimed:
                return SweepResult()
            done = store.done_rungs([row.id for row in claimed])
            alerts: list[NewAlert] = []
            sends: list[tuple[CaseDeadline, PlannedRung, list[dict[str, str]]]] = []
            moves: list[tuple[int, dt.datetime | None]] = []
            skipped = 0
            cases = CaseStore(conn)
            definitions: dict[tuple[str, int], Any] = {}  # per workflow version, this batch
            for row in claimed:
                version = (row.workflow, row.workflow_version)
                if version not in definitions:
                    definitions[version] = self.engine.definition(cases, *version)
                definition = definitions[version]
                clock = definition.clocks.get(row.name)
                if row.status != OPEN or clock is None:  # re-checked under the lock
                    moves.append((row.id, None))
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
                    recipients = self._recipients(conn, roles, row)
                    alerts.append(_alert_row(row, send, "raised", now, recipients))
                    sends.append((row, send, recipients))
                    seen.add(send.key)
                moves.append((row.id, next_alert_at(planned, seen)))
            ids = store.record_alerts(alerts)  # a rung recorded twice rolls all this back
            messages: list[dict[str, Any]] = []
            for row, send, recipients in sends:
                alert_id = ids[(row.id, send.key)]
                definition = definitions[(row.workflow, row.workflow_version)]
                items = _item_values(conn, definition, row)
                # The email depends on the recipient's role, not their address: rendered
                # once per role (a role is often held by several people).
                by_role: dict[str, Rendered] = {}
                for recipient in recipients:
                    role = recipient["role"]
                    if role not in by_role:
                        by_role[role] = render(send.rung.kind, alert_context(
                            definition, row.ref, row.state, row.name,
                            due_day_of(row.due_at, row.due_day), today, send.rung.kind,
                            role, self.settings.base_url, cal, row.rule,
                            due_at=row.due_at, now=now, key=row.key, item_values=items))
                    messages.append(outbox.row_values(
                        f"alert:{alert_id}:{recipient['address']}", send.rung.kind,
                        recipient["address"], by_role[role], now,
                        self.settings.sender, alert_id, row.case_id))
            store.move_next_alerts(moves)
            written = outbox.enqueue(session, messages)  # same transaction as the alerts
            return SweepResult(len(claimed), len(sends), skipped, written,
                               sum(1 for _, _, r in sends if not r))

    def _recipients(self, conn: Connection, roles: Sequence[str],
                    row: CaseDeadline) -> list[dict[str, str]]:
        """[{role, address}] for a rung: the deadline's assignee (a MACE action's owner) at
        their registered address, then the role holders. An assignee with no address is
        reported by the sweep (its login), never silently dropped."""
        found: list[dict[str, str]] = []
        if ASSIGNEE in roles:
            for login, email in Directory(conn).involved_emails(row.case_id,
                                                                assignee_kind(row.key)):
                if email is None:  # logged and summed up by the sweep, never guessed
                    self._missed.add(login)
                    continue
                found.append({"role": ASSIGNEE, "address": email})
        others = resolve(self.resolver, [r for r in roles if r != ASSIGNEE], row.workflow,
                         row.ref, row.area)
        seen = {f["address"].lower() for f in found}
        return found + [o for o in others if o["address"].lower() not in seen]

    # -- delivery ----------------------------------------------------------------------------
    def dispatch(self, batch: int = 100, max_batches: int = 1_000,
                 ids: Sequence[int] | None = None) -> DispatchResult:
        """Deliver what is due in the outbox; a failing server loses nothing."""
        sent = retrying = failed = released = taken_over = 0
        settings = self.settings
        lease = dt.timedelta(seconds=settings.lease_seconds)
        backoff = dt.timedelta(seconds=settings.backoff_seconds)
        transport = self.transport_factory()
        remote = bool(getattr(transport, "remote", False))
        try:
            for _ in range(max_batches):
                rows = outbox.claim(self.db, self.now(), batch, lease, ids)
                for i, row in enumerate(rows):
                    # Each message carries its own lease: renewed now, and while it is being
                    # sent; one taken over by another sender (its lease ran out while this
                    # one waited on a slow server) is left to that sender.
                    if remote and not outbox.renew(self.db, row, self.now() + lease):
                        taken_over += 1
                        continue
                    message = outbox.build_message(row, settings.sender, self.now())
                    try:
                        with _Heartbeat(self.db, row, lease, self.now, remote):
                            transport.send(message)
                    except DeliveryError as exc:
                        status = outbox.finish(self.db, row, self.now(), str(exc),
                                               exc.permanent, settings.max_attempts, backoff)
                        failed += status == outbox.FAILED
                        retrying += status == outbox.PENDING
                        if exc.unreachable:
                            outbox.release(self.db, rows[i + 1:])  # server down: stop here
                            released += len(rows) - i - 1
                            return DispatchResult(sent, retrying, failed, released, taken_over)
                        continue
                    outbox.finish(self.db, row, self.now(), None, False,
                                  settings.max_attempts, backoff)
                    sent += 1
                if len(rows) < batch:
                    break
        finally:
            transport.close()
        return DispatchResult(sent, retrying, failed, released, taken_over)

    def retry(self, actor: str, ident: int | None = None, all_failed: bool = False) -> int:
        """Put dead-lettered messages back in the queue with a fresh set of attempts."""
        if ident is None and not all_failed:
            raise UsageError("say which: a notification ID, or --all-failed")
        with self.engine.unit(actor, "notifications.retry") as unit:
            unit.require()
            count = outbox.requeue_failed(unit.session, self.now(), ident,
                                          areas_for(unit.principal, OPERATIONS))
            unit.note(message=ident, requeued=count)
            return count

    # -- the scheduler's passes, run by a user ---------------------------------------------
    def run_once(self, actor: str, batch: int = 500) -> tuple[SweepResult, DispatchResult]:
        """One sweep and one delivery pass (``scheduler run --once``), as ``actor``."""
        self.engine.authorize(actor, "scheduler.run")
        return self.sweep(batch), self.dispatch(min(batch, 100))

    def deliver(self, actor: str, batch: int = 100) -> DispatchResult:
        """Deliver what is due in the outbox now (``notifications dispatch``)."""
        self.engine.authorize(actor, "notifications.dispatch")
        return self.dispatch(batch)

    # -- the morning digest --------------------------------------------------------------------
    def digest(self, horizon: int = 5) -> int:
        """One email per address on a working day: its deadlines due within ``horizon``
        working days or overdue. Once per address and day, however often it runs.

        Each deadline appears once. What is new or changed since the address's last digest
        (started since, or fallen overdue since) comes first, in full; the rest are one line
        each: still overdue (with how long), then due soon."""
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
            conn = session.connection()
            last = outbox.last_digests(conn, start_of_day(today))
            for d in AlertStore(conn).open_deadlines_due_by(until):
                definition = self.engine.definition(CaseStore(conn), d.workflow,
                                                    d.workflow_version)
                roles = (d.owner_role,) if d.owner_role else ()
                values = _item_values(conn, definition, d)
                for recipient in resolve(self.resolver, roles, d.workflow, d.ref, d.area):
                    context = alert_context(definition, d.ref, d.state, d.name,
                                            due_day_of(d.due_at, d.due_day), today, "digest",
                                            recipient["role"], self.settings.base_url, cal,
                                            d.rule, due_at=d.due_at, now=now, key=d.key,
                                            item_values=values)
                    since = last.get(recipient["address"].strip().lower())
                    context["kind"] = _digest_kind(d, context["overdue"], since, now)
                    items[recipient["address"]].append(context)
            messages = []
            for address, entries in sorted(items.items()):
                since = last.get(address.strip().lower())
                rendered = render("digest", {
                    "items": entries, "today": show_day(today),
                    "base_url": self.settings.base_url,
                    "new_items": [e for e in entries if e["kind"] == "new"],
                    "overdue_items": [e for e in entries if e["kind"] == "overdue"],
                    "soon_items": [e for e in entries if e["kind"] == "soon"],
                    "last_digest": show_day(london_date(since)) if since else ""})
                messages.append(outbox.row_values(f"digest:{today}:{address}", "digest",
                                                  address, rendered, now,
                                                  self.settings.sender))
            return outbox.enqueue(session, messages)

    # -- queries: each takes the acting user, checks and audits ------------------------------
    def messages(self, actor: str, statuses: Sequence[str] = (),
                 limit: int = 200) -> list[OutboxMessage]:
        """Newest first; only messages about cases in the areas where the actor reads mail
        (and none about no case unless that is every area)."""
        if limit < 1:
            raise UsageError("--limit must be at least 1")
        for status in statuses:
            if status not in outbox.STATUSES:
                raise UsageError(f"unknown status '{status}'; one of "
                                 f"{', '.join(outbox.STATUSES)}")
        with self.engine.unit(actor, "notifications.list") as unit:
            unit.require()
            rows = outbox.listing(unit.session, statuses, limit,
                                  areas_for(unit.principal, MAIL_READERS))
            unit.note(listed=len(rows))
            return rows

    def message(self, ident: int, actor: str) -> OutboxMessage:
        with self.engine.unit(actor, "notifications.show") as unit:
            unit.require()
            row = outbox.get(unit.session, ident, areas_for(unit.principal, MAIL_READERS))
            if row is None:
                raise NotificationNotFoundError(ident)
            unit.note(message=ident)
            return row

    def counts(self) -> dict[str, int]:
        """Messages by status (no case data: for the scheduler's log)."""
        with self.db.read() as session:
            return outbox.counts(session)

    def alerts(self, actor: str, due: bool = False,
               overdue: bool = False) -> list[dict[str, Any]]:
        """Raised alerts (newest first); ``due``: rungs due now not yet raised (what the next
        sweep will do); ``overdue``: raised alerts of deadlines past due and still open; only
        cases in the areas where the actor reads mail."""
        now = self.now()
        with self.engine.unit(actor, "alerts.list") as unit:
            unit.require()
            areas = areas_for(unit.principal, MAIL_READERS)
            store = AlertStore(unit.conn)
            if due:
                return [{"case": d.case, "deadline": d.deadline,
                         "next_alert_at": d.next_alert_at, "due_at": d.due_at,
                         "due": d.due_day.isoformat() if d.due_day else None, "status": "due"}
                        for d in store.due_rungs(now, areas)]
            return [{"id": a.id, "case": a.case, "deadline": a.deadline, "rung": a.rung,
                     "kind": a.kind, "raised_at": a.raised_at, "due_at": a.due_at,
                     "recipients": [r["address"] for r in a.recipients]}
                    for a in store.raised_alerts(now, overdue, areas)]

    def preview(self, template: str, ref: str, actor: str, deadline: str | None = None) -> Any:
        """Render ``template`` for case ``ref`` (with its first open deadline, or ``deadline``)
        without storing anything. The actor must be allowed to read the case (audited)."""
        now = self.now()
        with self.engine.unit(actor, "notifications.preview") as unit:
            store = unit.cases
            case = self.engine.find(unit, ref)  # the actor may read it; the read is noted
            definition = self.engine.definition(store, case.workflow, case.workflow_version)
            rows = sorted(store.deadlines(case.id), key=lambda d: d.due_at)
            chosen = [d for d in rows if d.name == deadline] if deadline else \
                [d for d in rows if d.status == OPEN] or rows
            if not chosen:
                raise UsageError(f"case '{ref}' has no deadline"
                                 + (f" '{deadline}'" if deadline else "") + " to preview")
            d = chosen[0]
            clock = definition.clocks.get(d.name)
            items = store.item_values(case.id, clock.keyed_by, d.key, clock.item_fields,
                                      clock.starts.fire) \
                if clock is not None and clock.keyed_by and d.key else {}
            context = alert_context(definition, case.ref, case.state, d.name,
                                    due_day_of(d.due_at, d.due_day),
                                    london_date(now), template, d.owner_role or "owner",
                                    self.settings.base_url, self.engine.calendar, d.rule,
                                    due_at=d.due_at, now=now, key=d.key, item_values=items)
            if template == "digest":
                context = {"items": [context], "today": context["today"],
                           "base_url": self.settings.base_url, "new_items": [context],
                           "overdue_items": [], "soon_items": [], "last_digest": ""}
            return render(template, context)


def _digest_kind(d: CaseDeadline, overdue: bool, since: dt.datetime | None,
                 now: dt.datetime) -> str:
    """'new' (started, or fallen overdue, since the last digest; everything the first
    time), else 'overdue' or 'soon'."""
    if since is None or (d.started_at is not None and d.started_at > since) \
            or (overdue and d.due_at > since):
        return "new"
    return "overdue" if overdue else "soon"


def _item_values(conn: Connection, definition: Any, row: CaseDeadline) -> dict[str, str]:
    """A keyed deadline's item fields (an action's summary, an episode's return time)."""
    clock = definition.clocks.get(row.name)
    if clock is None or not clock.keyed_by or not row.key or not clock.item_fields:
        return {}
    return CaseStore(conn).item_values(row.case_id, clock.keyed_by, row.key,
                                       clock.item_fields, clock.starts.fire)


def _alert_row(row: CaseDeadline, rung: PlannedRung, status: str, now: dt.datetime,
               recipients: list[dict[str, str]]) -> NewAlert:
    return NewAlert(deadline_id=row.id, case_id=row.case_id, rung=rung.key,
                    kind=rung.rung.kind, status=status, fire_at=rung.at, due_at=row.due_at,
                    raised_at=now, recipients=recipients)


class _Heartbeat:
    """Renews one message's lease every third of its length while it is being sent, so a
    slow server never lets the lease run out under a live sender (a killed sender stops
    renewing, and the message is claimed again when its lease ends)."""

    def __init__(self, db: Any, row: Any, lease: dt.timedelta,
                 now: Callable[[], dt.datetime], active: bool = True) -> None:
        import threading

        self.db, self.row, self.lease, self.now, self.active = db, row, lease, now, active
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"lease-{getattr(row, 'id', '?')}")

    def _run(self) -> None:
        interval = max(self.lease.total_seconds() / 3, 0.05)
        while not self._stop.wait(interval):
            try:
                if not outbox.renew(self.db, self.row, self.now() + self.lease):
                    log.warning("outbox message %s: lease taken over while sending",
                                getattr(self.row, "id", "?"))
                    return
            except Exception as exc:  # a busy database: try again at the next beat
                log.warning("outbox message %s: lease not renewed (%s)",
                            getattr(self.row, "id", "?"), type(exc).__name__)

    def __enter__(self) -> _Heartbeat:
        if self.active:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.active:
            self._stop.set()
            self._thread.join()


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
