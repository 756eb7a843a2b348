"""The audit trail for auditors: read it (``audit log``) and prove it whole (``audit verify``).

Reading the trail is itself audited. Verification needs the auditor or administrator role.
"""

from __future__ import annotations

import datetime as dt

from engine.core.access import ADMINISTRATOR, AUDITOR, require
from engine.core.audit import AuditEntry, Verdict, verify_chain
from engine.core.gate import Gate, read_head_file
from engine.core.store.access_store import AccessStore
from engine.core.store.database import Database


class AuditTrail:
    def __init__(self, db: Database, gate: Gate) -> None:
        self.db, self.gate = db, gate

    def _checked(self, actor: str, roles: list[str], action: str) -> None:
        with self.gate.guarded(self.db, actor, action), self.db.begin() as conn:
            require(self.gate.principal(conn, actor), roles, None, False,
                    action.replace(".", " "))

    def log(self, actor: str, case_ref: str | None = None, user: str | None = None,
            since: dt.datetime | None = None) -> list[AuditEntry]:
        self._checked(actor, [AUDITOR], "audit.log")
        with self.db.begin() as conn:
            entries = AccessStore(conn).audit_entries(case_ref, user, since)
            self.gate.record(conn, actor, "audit.log", case_ref=case_ref,
                             detail={"user": user, "since": since.isoformat() if since
                                     else None, "records": len(entries)})
        self.gate.flush()
        return entries

    def verify(self, actor: str) -> Verdict:
        self._checked(actor, [AUDITOR, ADMINISTRATOR], "audit.verify")
        # The file first, then the database in one snapshot: a command committing meanwhile
        # can only make the database newer than the file, which verification allows.
        file_head = read_head_file(self.gate.head_file)
        with self.db.begin_read() as conn:
            if self.db.dialect == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            store = AccessStore(conn)
            verdict = verify_chain(store.audit_entries(), store.head(), file_head,
                                   self.gate.key)
        if verdict.ok:  # record the check itself only on an intact chain
            with self.db.begin() as conn:
                self.gate.record(conn, actor, "audit.verify",
                                 detail={"records": verdict.records})
            self.gate.flush()
        return verdict
