"""The audit trail for auditors: read it (``audit log``) and prove it whole (``audit verify``).

Reading the trail is itself audited. Verification, and the administrators' page of recent
records, need the auditor or administrator role.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass

from engine.core.audit import AuditEntry, Verdict, key_id, verify_chain
from engine.core.errors import UsageError
from engine.core.gate import Gate, HeadFileError, read_head_file
from engine.core.store.access_store import AccessStore
from engine.core.store.audit_chain import chain_links
from engine.core.store.database import Database
from engine.core.unit import Units

MAX_PAGE = 500


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]  # newest first
    total: int
    offset: int
    limit: int


class AuditTrail:
    def __init__(self, db: Database, gate: Gate) -> None:
        self.db, self.gate = db, gate
        self.units = Units(db, gate)

    def log(self, actor: str, case_ref: str | None = None, user: str | None = None,
            since: dt.datetime | None = None) -> list[AuditEntry]:
        with self.units.begin(actor, "audit.log") as unit:
            unit.require()
            entries = unit.access.audit_entries(case_ref, user, since)
            unit.touch(case_ref, None, user=user,
                       since=since.isoformat() if since else None, records=len(entries))
            return entries

    def recent(self, actor: str, limit: int = 50, offset: int = 0,
               case_ref: str | None = None, user: str | None = None) -> AuditPage:
        """One page of the most recent records (optionally of one case or one actor)."""
        if not 1 <= limit <= MAX_PAGE or offset < 0:
            raise UsageError(f"a page holds 1 to {MAX_PAGE} records and starts at 0 or later")
        with self.units.begin(actor, "audit.recent") as unit:
            unit.require()
            entries, total = unit.access.recent_audit_entries(limit, offset, case_ref, user)
            unit.touch(case_ref, None, user=user, offset=offset, records=len(entries))
            return AuditPage(entries, total, offset, limit)

    def rotate_key(self, actor: str) -> tuple[str, str]:
        """Keep the chain with the configured key (SAFEGUARD_AUDIT_KEY) from now on. The key it
        was kept with must be given too (in SAFEGUARD_AUDIT_OLD_KEYS), so only its holders can
        rotate it; records made with it still verify while it stays there. Returns the ids
        (old, new)."""
        from engine.core.errors import DeploymentError

        if not self.gate.key:
            raise DeploymentError("set SAFEGUARD_AUDIT_KEY to the new key (a chain kept with "
                                  "a key is never kept without one again)")
        new = key_id(self.gate.key)
        with self.db.begin_read() as conn:
            old = AccessStore(conn).head_key_id()
        if old == new:
            raise DeploymentError(f"the audit trail is already kept with key '{new or 'none'}'"
                                  ": set SAFEGUARD_AUDIT_KEY to the new key and "
                                  "SAFEGUARD_AUDIT_OLD_KEYS to the current one")
        if old and old not in self.gate.keys:
            raise DeploymentError(f"the audit trail is kept with key '{old}': give it in "
                                  "SAFEGUARD_AUDIT_OLD_KEYS to rotate it")
        with self.units.begin(actor, "audit.rotate_key") as unit:
            unit.require()
            unit.access.set_head_key_id(new)
            unit.note(old_key=old or "none", new_key=new or "none")
        return old or "none", new or "none"

    def verify(self, actor: str,
               progress: Callable[[int, int], object] | None = None) -> Verdict:
        self.units.check(actor, "audit.verify")
        # The file first, then the database in one snapshot: a command committing meanwhile
        # can only make the database newer than the file, which verification allows.
        try:
            file_head = read_head_file(self.gate.head_file)
        except HeadFileError as exc:
            return Verdict(False, 0, f"{exc}: restore it from backup, or investigate")
        with self.db.begin_read() as conn:
            if self.db.dialect == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            head = AccessStore(conn).head()
            total = head[0] if head else 0
            with closing(chain_links(conn)) as links:  # constant memory
                verdict = verify_chain(
                    links, head, file_head, keys=self.gate.keys,
                    progress=None if progress is None else lambda n: progress(n, total))
        if verdict.ok:  # record the verification itself only on an intact chain
            with self.db.begin() as conn:
                self.gate.record(conn, actor, "audit.verify",
                                 detail={"records": verdict.records})
            self.gate.flush()
        return verdict
