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
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from engine.core.access import Principal
from engine.core.audit import key_id, keyring
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
    readable by its owner only, its contents on the disk, then renamed over it (without the
    sync, a power cut on a filesystem that does not flush on rename can leave an empty head
    file, which the mirror then refuses to overwrite)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                         dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(json.dumps({"seq": head[0], "hash": head[1]}))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def mirror_head(path: Path, head: tuple[int, str],
                sync: Callable[[], None] | None = None) -> None:
    """Write ``head`` to the head file unless it already records a later one (another process
    was later); ``sync`` first makes the records up to it durable, so the file never claims
    more than the database holds after a power cut. Never raises: the change and its record
    are committed already, so a head file that cannot be read or written is logged, and
    'safeguard audit verify' reports it."""
    if sync is not None:
        try:
            sync()
        except OSError as exc:  # not mirrored: the file lags, which verify allows
            log.warning("audit head file not updated: the database could not be synced: %s",
                        exc.strerror)
            return
    try:
        current = read_head_file(path)
    except HeadFileError as exc:
        log.warning("audit head file not updated: %s", exc)  # verify reports it
        return
    if current is not None and current[0] >= head[0]:
        return
    try:
        write_head_file(path, head)
    except OSError as exc:
        log.warning("audit head file %s not written: %s", path, exc.strerror)


# A server writes the head file at most this often (seconds): a busy server's commands share
# one write and one sync, and the file is never more than this (and a write) behind.
MIRROR_EVERY = 0.1


class HeadMirror:
    """Mirrors heads to the head file from a thread of its own, for a long-running server:
    a request's response need not wait for the file's rename (on ext4 a rename over a file
    flushes its data first, a millisecond or more). Only the latest head waiting is written,
    at most every :data:`MIRROR_EVERY` seconds, so a burst of commands costs one write;
    :meth:`drain` writes what waits and stops."""

    def __init__(self, path: Path, sync: Callable[[], None]) -> None:
        self.path = path
        self._sync = sync  # makes every commit so far durable
        self._pending: tuple[int, str] | None = None
        self._unsynced = False  # a head waiting was committed without waiting for the disk
        self._ready = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="audit-head-mirror",
                                        daemon=True)
        self._thread.start()

    def put(self, head: tuple[int, str], unsynced: bool = False) -> None:
        with self._ready:
            stopped = self._stopping
            if not stopped:
                if self._pending is None or head[0] > self._pending[0]:
                    self._pending = head
                self._unsynced = self._unsynced or unsynced
                self._ready.notify()
        if stopped:  # a commit racing the drain: the thread may be gone, so write it here
            mirror_head(self.path, head, self._sync if unsynced else None)

    def _run(self) -> None:
        while True:
            with self._ready:
                while self._pending is None and not self._stopping:
                    self._ready.wait()
                head, self._pending = self._pending, None
                unsynced, self._unsynced = self._unsynced, False
                stopping = self._stopping
            if head is not None:
                try:
                    mirror_head(self.path, head, self._sync if unsynced else None)
                except Exception:  # a dead thread would silently stop every later mirror
                    log.exception("audit head file not updated")
                if not stopping:  # what commits meanwhile waits, to be written as one
                    with self._ready:
                        self._ready.wait_for(lambda: self._stopping, MIRROR_EVERY)
            if stopping and head is None:
                return

    def drain(self) -> None:
        with self._ready:
            self._stopping = True
            self._ready.notify()
        self._thread.join()


class Gate:
    def __init__(self, clock: Clock, head_file: Path | None = None,
                 key: bytes | None = None) -> None:
        self.clock = clock
        self.head_file = head_file
        self.key = key  # SAFEGUARD_AUDIT_KEY: records become HMACs only its holders can make
        self.old_keys: tuple[bytes, ...] = ()  # SAFEGUARD_AUDIT_OLD_KEYS: still verify
        # The head a command moved, until its commit is mirrored: per thread, since a server
        # runs commands in several threads through one gate.
        self._local = threading.local()
        self._mirror: HeadMirror | None = None
        self._sync: Callable[[], None] | None = None
        self._last: tuple[int, str, str] | None = None  # the head after our last record

    @property
    def _head(self) -> tuple[int, str] | None:
        return getattr(self._local, "head", None)

    @_head.setter
    def _head(self, head: tuple[int, str] | None) -> None:
        self._local.head = head

    @property
    def _unsynced(self) -> bool:
        return getattr(self._local, "unsynced", False)

    @_unsynced.setter
    def _unsynced(self, value: bool) -> None:
        self._local.unsynced = value

    @property
    def background(self) -> bool:
        """Heads are mirrored from a thread of their own (:meth:`mirror_in_background`)."""
        return self._mirror is not None

    def mirror_in_background(self, sync: Callable[[], None]) -> None:
        """Mirror heads from a thread of their own from now on (a server: see
        :class:`HeadMirror`); ``sync`` makes the database's commits durable (for a head
        committed with :meth:`committing_unsynced`). :meth:`drain` before the process ends."""
        if self._mirror is None and self.head_file is not None:
            self._sync = sync
            self._mirror = HeadMirror(self.head_file, sync)

    def committing_unsynced(self) -> None:
        """The transaction this thread is in commits without waiting for the disk: its head
        is mirrored only once the database is synced (by the background mirror)."""
        self._unsynced = True

    def drain(self) -> None:
        """Write any head still waiting for the background mirror, and mirror in the
        foreground again."""
        mirror, self._mirror = self._mirror, None
        if mirror is not None:
            mirror.drain()

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
        seq, digest = AccessStore(conn).append_audit(actor, action, outcome, case_ref,
                                                     workflow, command, detail or {},
                                                     self.clock.now(), self.key, self._last)
        self._head = seq, digest
        # The head as this command leaves it: the next record is made on it without reading
        # the head row, if that row is still this (checked in the write; else it is read).
        self._last = seq, digest, key_id(self.key)

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
        unsynced, self._unsynced = self._unsynced, False
        if head is None or self.head_file is None:
            return
        mirror = self._mirror
        if mirror is not None:
            mirror.put(head, unsynced)
        else:
            mirror_head(self.head_file, head, self._sync if unsynced else None)

    def discard(self) -> None:
        self._head = None
        self._unsynced = False

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
