"""The gate every command passes: who the actor is, whether they may, and the audit record.

The audit record of a command is written in the command's own transaction, so a change and
its record commit together. A refusal rolls the command back and is then recorded on its own.
After each commit the chain's head is mirrored to a file outside the database.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from engine.core.access import Principal
from engine.core.clock import Clock
from engine.core.errors import PermissionDeniedError, UnknownUserError
from engine.core.store.access_store import AccessStore
from engine.core.store.database import Database

PERSONAL_MARK = "[personal]"
RESTRICTED_MARK = "[restricted]"


def read_head_file(path: Path | None) -> tuple[int, str] | None:
    if path is None or not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return int(data["seq"]), str(data["hash"])


class Gate:
    def __init__(self, clock: Clock, head_file: Path | None = None,
                 key: bytes | None = None) -> None:
        self.clock = clock
        self.head_file = head_file
        self.key = key  # SAFEGUARD_AUDIT_KEY: records become HMACs only its holders can make
        self._head: tuple[int, str] | None = None

    def principal(self, conn: Connection, login: str) -> Principal:
        principal = AccessStore(conn).principal(login)
        if principal is None:
            raise UnknownUserError(f"'{login}' is not a registered user: an administrator adds "
                                   "them with 'safeguard user add'")
        if principal.disabled:
            raise UnknownUserError(f"user '{login}' is disabled: an administrator can tell you "
                                   "why")
        return principal

    def record(self, conn: Connection, actor: str, action: str, *, case_ref: str | None = None,
               workflow: str | None = None, command: str | None = None,
               detail: Mapping[str, Any] | None = None, outcome: str = "ok") -> None:
        self._head = AccessStore(conn).append_audit(actor, action, outcome, case_ref, workflow,
                                                    command, detail or {}, self.clock.now(),
                                                    self.key)

    def record_refusal(self, db: Database, actor: str, action: str, reason: str, *,
                       case_ref: str | None = None, workflow: str | None = None,
                       command: str | None = None) -> None:
        with db.begin() as conn:
            self.record(conn, actor, action, case_ref=case_ref, workflow=workflow,
                        command=command, detail={"reason": reason}, outcome="refused")
        self.flush()

    def flush(self) -> None:
        """Mirror the chain's head to the head file (after the commit that moved it)."""
        if self._head is None or self.head_file is None:
            return
        current = read_head_file(self.head_file)
        if current is not None and current[0] >= self._head[0]:  # another process was later
            self._head = None
            return
        self.head_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.head_file.with_suffix(".tmp")
        temporary.write_text(json.dumps({"seq": self._head[0], "hash": self._head[1]}),
                             encoding="utf-8")
        os.replace(temporary, self.head_file)
        self._head = None

    def discard(self) -> None:
        self._head = None

    @contextmanager
    def guarded(self, db: Database, actor: str, action: str, command: str | None = None,
                case_ref: str | None = None, workflow: str | None = None) -> Iterator[None]:
        """Around one transaction (opened inside it): a refusal is audited once the
        transaction has rolled back; after a commit the head is mirrored (a file that cannot
        be written never turns a committed change into an error: 'audit verify' will say)."""
        self.discard()
        try:
            yield
        except (PermissionDeniedError, UnknownUserError) as exc:
            self.discard()
            self.record_refusal(db, actor, action, str(exc), case_ref=case_ref,
                                workflow=workflow, command=command)
            raise
        except BaseException:
            self.discard()
            raise
        with contextlib.suppress(OSError):
            self.flush()

    def sync(self, db: Database) -> None:
        """Mirror the database's head to the file: after services that commit audit records
        in transactions of their own (a MACE meeting's record, say)."""
        if self.head_file is None:
            return
        with db.begin_read() as conn:
            self._head = AccessStore(conn).head()
        if self._head is not None and self._head[0] == 0:
            self._head = None
        self.flush()
