"""The unit of work: one command's transaction, with who is acting, the stores and the audit.

Every service method runs in exactly one :class:`Unit`. It carries the acting
:class:`~engine.core.access.Principal` (read once, at the start), the Core connection and an
ORM session on that same connection (for the domains' own tables), and the command's audit
record: whatever the command touches is noted on the unit, and exactly one record, named for
the command (``area.verb``), is written in the same transaction when the command succeeds. A
refusal rolls the unit back and is then recorded on its own (see :meth:`Gate.guarded`).

Nothing here decides who may do what (that is :mod:`engine.core.policy` and the workflow's
``access:``), and nothing here commits: :meth:`Engine.unit` opens and closes units.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection
from sqlmodel import Session

from engine.core.access import Principal
from engine.core.gate import Gate
from engine.core.policy import require_command
from engine.core.store.access_store import AccessStore
from engine.core.store.cases import CaseStore
from engine.core.store.database import Database


class Unit:
    def __init__(self, conn: Connection, principal: Principal, action: str,
                 command: str | None, gate: Gate) -> None:
        self.conn = conn
        self._gate = gate
        self.recorded = False
        self.principal = principal
        self.action = action
        self.command = command or action.replace(".", " ")
        self.cases = CaseStore(conn)
        self.access = AccessStore(conn)
        self._session: Session | None = None
        self._case_ref: str | None = None
        self._workflow: str | None = None
        self._touched: list[str] = []
        self._detail: dict[str, Any] = {}

    @property
    def actor(self) -> str:
        return self.principal.login

    @property
    def session(self) -> Session:
        """An ORM session joined to this unit's transaction (made on first use)."""
        if self._session is None:
            self._session = Session(bind=self.conn, expire_on_commit=False,
                                    autoflush=True)
        return self._session

    def flush(self) -> None:
        """Write what the ORM session holds, so Core reads in this unit see it."""
        if self._session is not None:
            self._session.flush()

    # -- the command's one audit record ------------------------------------------------
    def require(self, action: str | None = None) -> None:
        """The actor may run this command (or ``action``), by the policy table."""
        require_command(self.principal, action or self.action)

    def touch(self, case_ref: str | None, workflow: str | None = None,
              **detail: Any) -> None:
        """Note that the command read or changed ``case_ref``; the first case noted is the
        record's case, any further ones are listed in its detail."""
        if case_ref is not None:
            if self._case_ref is None:
                self._case_ref, self._workflow = case_ref, workflow
            elif case_ref != self._case_ref and case_ref not in self._touched:
                self._touched.append(case_ref)
        elif workflow is not None and self._workflow is None:
            self._workflow = workflow
        self.note(**detail)

    def note(self, **detail: Any) -> None:
        """Add to the record's detail (values are references and counts, never personal)."""
        for key, value in detail.items():
            if key in self._detail and isinstance(self._detail[key], list):
                extra = value if isinstance(value, list) else [value]
                self._detail[key] = [*self._detail[key], *extra]
            else:
                self._detail[key] = value

    def audit_fields(self) -> tuple[str | None, str | None, Mapping[str, Any]]:
        detail = dict(self._detail)
        if self._touched:
            detail["cases"] = list(self._touched)
        return self._case_ref, self._workflow, detail

    def record_now(self) -> None:
        """Write the command's record at once rather than at the end (a subject-access
        export lists the records of its case, its own included); later notes are dropped."""
        if not self.recorded:
            ref, flow, detail = self.audit_fields()
            self._gate.record(self.conn, self.actor, self.action, case_ref=ref, workflow=flow,
                              command=self.command, detail=detail)
            self.recorded = True

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None


class Units:
    """Opens units of work on one database, audited through one gate."""

    def __init__(self, db: Database, gate: Gate) -> None:
        self.db, self.gate = db, gate

    @contextmanager
    def begin(self, actor: str, action: str, *, case_ref: str | None = None,
              workflow: str | None = None, command: str | None = None,
              reads: bool = False) -> Iterator[Unit]:
        """One command's transaction as ``actor``: committed with its one audit record when
        the block ends; a refusal inside it rolls everything back and is then audited on its
        own; the audit head is mirrored after the commit.

        ``reads``: the command only reads (its audit record is all it writes). In a server
        whose head mirror runs in the background, its commit then does not wait for the disk
        (SQLite): the mirror syncs the database before the head file names the record, and
        any change's commit syncs it too (see README, "Audit")."""
        unsynced = reads and self.gate.background and self.db.is_sqlite
        with self.gate.guarded(self.db, actor, action, command, case_ref, workflow), \
                self.db.begin(durable=not unsynced) as conn:
            if unsynced:
                self.gate.committing_unsynced()
            if self.db.dialect == "postgresql":  # the chain first: no lock-order deadlock
                AccessStore(conn).lock_head()
            unit = Unit(conn, self.gate.principal(conn, actor), action, command, self.gate)
            try:
                yield unit
                unit.flush()
                unit.record_now()
            finally:
                unit.close()

    def check(self, actor: str, action: str) -> None:
        """Only the permission check of ``action`` (a refusal is audited): for a command
        that records itself once it knows its outcome (``audit verify``)."""
        with self.gate.guarded(self.db, actor, action), self.db.begin_read() as conn:
            require_command(self.gate.principal(conn, actor), action)
