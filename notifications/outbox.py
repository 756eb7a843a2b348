"""The outbox: rendered emails stored in the transaction that caused them, delivered later.

* :func:`enqueue` inserts within the caller's transaction, once per ``dedup_key`` (what the
  message is about and to whom): a second insert of the same key does nothing.
* :func:`claim` takes due messages in a short transaction (``FOR UPDATE SKIP LOCKED`` on
  PostgreSQL, so several schedulers take disjoint rows; SQLite has one writer), marks them
  ``sending`` with a lease, and counts the attempt. Sending happens outside any transaction.
* :func:`finish` marks each message ``sent``, back to ``pending`` with exponential backoff, or
  ``failed`` (the dead letter) after the last attempt or a permanent refusal. A process
  killed between sending and marking leaves the row ``sending``; when its lease ends it is
  claimed and sent again, once, with the same Message-ID (receivers can de-duplicate on it).
* :func:`listing`, :func:`get`, :func:`counts` and :func:`requeue_failed` back the
  ``notifications`` commands.

The outbox is the notifier's own table and this is the only module with SQL on it. It must not
query the engine's tables: a message's case area comes from
:class:`~engine.core.store.directory.Directory`.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import hashlib
from collections.abc import Collection, Mapping, Sequence
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from sqlalchemy import Connection, Table, and_, func, or_, select, update
from sqlmodel import Session, col

from engine.core.errors import NotificationNotFoundError, UsageError
from engine.core.store.database import Database
from engine.core.store.directory import Directory
from engine.core.store.models import OutboxMessage
from notifications.render import Rendered

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
HEADERS_UNFOLDED = email.policy.default.clone(max_line_length=998)
STATUSES = (PENDING, SENDING, SENT, FAILED)
OUTBOX: Table = OutboxMessage.__table__  # type: ignore[attr-defined]


def message_id(dedup_key: str, sender: str) -> str:
    """A stable Message-ID: the same notification always carries the same one."""
    domain = sender.rsplit("@", 1)[-1] or "safeguard"
    return f"<sg.{hashlib.sha256(dedup_key.encode()).hexdigest()[:32]}@{domain}>"


def row_values(dedup_key: str, template: str, to: str, rendered: Rendered, now: dt.datetime,
               sender: str, alert_id: int | None = None, case_id: int | None = None,
               ics: str | None = None) -> dict[str, Any]:
    return {
        "dedup_key": dedup_key, "message_id": message_id(dedup_key, sender),
        "template": template, "alert_id": alert_id, "case_id": case_id, "to_address": to,
        "subject": rendered.subject, "body_text": rendered.text, "body_html": rendered.html,
        "ics": ics, "status": PENDING, "attempts": 0, "next_attempt_at": now,
        "created_at": now,
    }


def enqueue(session: Session | Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert outbox rows in the caller's transaction; keys already there are left alone."""
    if not rows:
        return 0
    dialect = (session.dialect if isinstance(session, Connection)
               else session.get_bind().dialect).name
    # The dialect's own INSERT (for ON CONFLICT), imported when used: importing the
    # PostgreSQL dialect costs a SQLite command a tenth of a second at start-up.
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql as chosen
    else:
        from sqlalchemy.dialects import sqlite as chosen  # type: ignore[no-redef]
    # Core on the table, not the ORM's bulk insert, and no RETURNING: one statement prepared
    # once for every row (executemany; psycopg pipelines them), and the driver's summed row
    # count is the number written (a key already there counts 0).
    # (``preserve_rowcount``: else SQLAlchemy reports -1 for a psycopg executemany.)
    statement = (chosen.insert(OUTBOX).on_conflict_do_nothing(index_elements=["dedup_key"])
                 .execution_options(preserve_rowcount=True))
    conn = session if isinstance(session, Connection) else session.connection()
    return int(conn.execute(statement, list(rows)).rowcount)


def claim(db: Database, now: dt.datetime, limit: int, lease: dt.timedelta,
          ids: Sequence[int] | None = None) -> list[OutboxMessage]:
    """Take up to ``limit`` messages due now (or whose lease ran out) for sending."""
    with db.write() as session:
        query = (select(OutboxMessage).where(or_(
            and_(OutboxMessage.status == PENDING,  # type: ignore[arg-type]
                 OutboxMessage.next_attempt_at <= now),  # type: ignore[arg-type]
            and_(OutboxMessage.status == SENDING,  # type: ignore[arg-type]
                 OutboxMessage.lease_until <= now)))  # type: ignore[arg-type,operator]
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)  # type: ignore[arg-type]
            .limit(limit))
        if ids is not None:
            query = query.where(OutboxMessage.id.in_(list(ids)))  # type: ignore[union-attr]
        if not db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        rows = list(session.scalars(query))
        for row in rows:
            row.status, row.lease_until, row.attempts = SENDING, now + lease, row.attempts + 1
            session.add(row)
        return rows


def renew(db: Database, row: OutboxMessage, until: dt.datetime) -> bool:
    """Extend this sender's lease on ``row``; False if the lease was taken over (another
    sender claimed it since, which counted another attempt) or the row is no longer sending.
    The claim's attempt count is the lease's token."""
    with db.write() as session:
        result = session.execute(update(OutboxMessage).where(
            OutboxMessage.id == row.id,  # type: ignore[arg-type]
            OutboxMessage.status == SENDING,  # type: ignore[arg-type]
            OutboxMessage.attempts == row.attempts)  # type: ignore[arg-type]
            .values(lease_until=until).execution_options(synchronize_session=False))
        return bool(getattr(result, "rowcount", 0))


def finish(db: Database, row: OutboxMessage, now: dt.datetime, error: str | None,
           permanent: bool, max_attempts: int, backoff: dt.timedelta) -> str:
    """Record the outcome of one attempt; returns the new status."""
    if error is None:
        status, values = SENT, {"status": SENT, "sent_at": now, "lease_until": None,
                                "last_error": None}
    elif permanent or row.attempts >= max_attempts:
        status, values = FAILED, {"status": FAILED, "lease_until": None, "last_error": error}
    else:
        delay = backoff * (2 ** max(row.attempts - 1, 0))
        status, values = PENDING, {"status": PENDING, "lease_until": None,
                                   "last_error": error, "next_attempt_at": now + delay}
    with db.write() as session:
        session.execute(update(OutboxMessage).where(
            OutboxMessage.id == row.id,  # type: ignore[arg-type]
            OutboxMessage.status == SENDING,  # type: ignore[arg-type]
            OutboxMessage.attempts == row.attempts)  # type: ignore[arg-type]
            .values(**values).execution_options(synchronize_session=False))
    return status


def release(db: Database, rows: Sequence[OutboxMessage]) -> None:
    """Give back messages claimed but not attempted (the server went away mid-pass)."""
    with db.write() as session:
        for row in rows:
            session.execute(update(OutboxMessage).where(
                OutboxMessage.id == row.id,  # type: ignore[arg-type]
                OutboxMessage.status == SENDING,  # type: ignore[arg-type]
                OutboxMessage.attempts == row.attempts)  # type: ignore[arg-type]
                .values(status=PENDING, lease_until=None, attempts=row.attempts - 1)
                .execution_options(synchronize_session=False))


def listing(session: Session, statuses: Sequence[str], limit: int,
            areas: Collection[str] | None = None) -> list[OutboxMessage]:
    """Newest first; ``areas``: only messages about cases in those areas (none about no case)."""
    query = select(OutboxMessage).order_by(
        OutboxMessage.id.desc()).limit(limit)  # type: ignore[union-attr]
    if statuses:
        query = query.where(OutboxMessage.status.in_(  # type: ignore[attr-defined]
            list(statuses)))
    if areas is not None:
        query = query.where(col(OutboxMessage.case_id).in_(Directory.cases_in(areas)))
    return list(session.scalars(query))


def get(session: Session, ident: int, areas: Collection[str] | None = None,
        ) -> OutboxMessage | None:
    """Message ``ident``; with ``areas``, None unless it is about a case in one of them."""
    row = session.get(OutboxMessage, ident)
    if row is not None and areas is not None:
        area = Directory(session.connection()).area_of_case(row.case_id) \
            if row.case_id else None
        if area is None or area not in areas:
            return None  # not theirs to see: as if it did not exist
    return row


def last_digests(session: Session | Connection, before: dt.datetime) -> dict[str, dt.datetime]:
    """When each address was last sent a digest (its row created) before ``before``."""
    rows = session.execute(
        select(col(OutboxMessage.to_address), func.max(col(OutboxMessage.created_at)))
        .where(col(OutboxMessage.template) == "digest",
               col(OutboxMessage.created_at) < before)
        .group_by(col(OutboxMessage.to_address)))
    out: dict[str, dt.datetime] = {}
    for address, at in rows:
        if at is not None:
            at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
            out[str(address).strip().lower()] = at
    return out


def counts(session: Session) -> dict[str, int]:
    return {status: int(n) for status, n in session.execute(
        select(col(OutboxMessage.status), func.count()).group_by(
            col(OutboxMessage.status)))}


def requeue_failed(session: Session, now: dt.datetime, ident: int | None = None,
                   areas: Collection[str] | None = None) -> int:
    """Put failed messages (or failed message ``ident``) back as pending, attempts reset;
    with ``areas``, only messages about cases in them (another's is answered as none)."""
    query = select(OutboxMessage).where(
        OutboxMessage.status == FAILED)  # type: ignore[arg-type]
    if ident is not None:
        row = get(session, ident, areas)
        if row is None:
            raise NotificationNotFoundError(ident)
        if row.status != FAILED:
            raise UsageError(f"notification {ident} is {row.status}, not failed: "
                             "only failed ones are retried")
        query = query.where(OutboxMessage.id == ident)  # type: ignore[arg-type]
    count = 0
    for row in session.scalars(query):
        if areas is not None and get(session, row.id or 0, areas) is None:
            continue
        row.status, row.attempts, row.next_attempt_at = PENDING, 0, now
        row.lease_until = None
        session.add(row)
        count += 1
    return count


def build_message(row: OutboxMessage, sender: str, now: dt.datetime) -> EmailMessage:
    """The email of an outbox row: text and HTML alternatives, and an invitation if any."""
    # Headers up to RFC 5322's 998 characters: folding a subject at 78 made some readers
    # show it with a leading space.
    message = EmailMessage(policy=HEADERS_UNFOLDED)
    message["From"] = sender
    message["To"] = row.to_address
    message["Subject"] = row.subject
    message["Message-ID"] = row.message_id
    message["Date"] = format_datetime(row.created_at or now)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(row.body_text)
    message.add_alternative(row.body_html, subtype="html")
    if row.ics:  # a meeting invitation (MACE issue): inline REQUEST part and an attachment
        method = "CANCEL" if "METHOD:CANCEL" in row.ics else "REQUEST"
        message.add_alternative(row.ics, subtype="calendar", params={"method": method})
        message.add_attachment(row.ics.encode(), maintype="text", subtype="calendar",
                               filename="invite.ics")
    return message


__all__ = ["FAILED", "PENDING", "SENDING", "SENT", "STATUSES", "build_message", "claim",
           "counts", "enqueue", "finish", "get", "last_digests", "listing", "message_id",
           "release", "renew", "requeue_failed", "row_values"]
