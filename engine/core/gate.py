"""The gate every command passes: who the actor is, whether they may, and the audit record.

The audit record of a command is written in the command's own transaction, so a change and
its record commit together. A refusal rolls the command back and is then recorded on its own.
After each commit the chain's head is mirrored to a file outside the database.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from engine.core.access import Principal
from engine.core.audit import keyring
from engine.core.clock import Clock
from engine.core.errors import HiddenCaseError, PermissionDeniedError, UnknownUserError
from engine.core.store.access_store import AccessStore
from engine.core.store.database import Database

PERSONAL_MARK = "[personal]"
RESTRICTED_MARK = "[restricted]"


log = logging.getLogger("safeguard.audit")


class HeadFileError(Exception):
    """The head file exists but cannot be read as a head: says what is wrong with it."""


def read_head_file(path: Path | None) -> tuple[int, str] | None:
    """The (seq, hash) the head file records; None if there is none. A file that is empty,
    garbled or unreadable raises :class:`HeadFileError` naming what it is."""
    if path is None or not path.exists():
        return None
    try:
        raw = path.read_bytes()[:4096]
    except OSError as exc:
        raise HeadFileError(f"the head file {path} cannot be read: {exc.strerror}") from None
    if not raw.strip():
        raise HeadFileError(f"the head file {path} is empty")
    try:
        data = json.loads(raw.decode("utf-8"))
        seq, digest = data["seq"], data["hash"]
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0 \
                or not isinstance(digest, str) or len(digest) != 64:
            raise ValueError(seq)
    except (ValueError, TypeError, KeyError):
        raise HeadFileError(f"the head file {path} is garbled (not a head record)") from None
    return seq, digest


def write_head_file(path: Path, head: tuple[int, str]) -> None:
    """Replace the head file atomically: a temporary file with a unique name beside it, made
    readable by its owner only, then renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                         dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(json.dumps({"seq": head[0], "hash": head[1]}))
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


class Gate:
    def __init__(self, clock: Clock, head_file: Path | None = None,
                 key: bytes | None = None) -> None:
        self.clock = clock
        self.head_file = head_file
        self.key = key  # SAFEGUARD_AUDIT_KEY: records become HMACs only its holders can make
        self.old_keys: tuple[bytes, ...] = ()  # SAFEGUARD_AUDIT_OLD_KEYS: still verify
        self._head: tuple[int, str] | None = None

    @property
    def keys(self) -> dict[str, bytes | None]:
        """Key id -> key, for every key records may have been made with."""
        return keyring(self.key, *self.old_keys)

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
        """Mirror the chain's head to the head file (after the commit that moved it).

        Never raises: the change and its record are committed already, so a head file that
        cannot be read or written is logged, and 'safeguard audit verify' reports it."""
        head, self._head = self._head, None
        if head is None or self.head_file is None:
            return
        try:
            current = read_head_file(self.head_file)
        except HeadFileError as exc:
            log.warning("audit head file not updated: %s", exc)  # verify reports it
            return
        if current is not None and current[0] >= head[0]:  # another process was later
            return
        try:
            write_head_file(self.head_file, head)
        except OSError as exc:
            log.warning("audit head file %s not written: %s", self.head_file, exc.strerror)

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
        except (PermissionDeniedError, UnknownUserError, HiddenCaseError) as exc:
            self.discard()
            self.record_refusal(db, actor, action, getattr(exc, "reason", str(exc)),
                                case_ref=case_ref, workflow=workflow, command=command)
            raise
        except BaseException:
            self.discard()
            raise
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
