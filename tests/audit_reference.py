"""The audit chain's verification as it was before it read stored text (``git show
e26f2b2:engine/core/audit.py``, kept verbatim apart from its name and the reading): every record
read through SQLAlchemy into an :class:`AuditEntry` and hashed by its ``entry_hash``. The
tests hold today's verification to the same verdicts."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, select

from engine.core.audit import GENESIS, PROGRESS_EVERY, AuditEntry, Verdict, keyring
from engine.core.store.access_store import AUDIT


def reference_entries(conn: Connection) -> list[AuditEntry]:
    """Every record as the verification read it then (no copy of ``detail``)."""
    c = AUDIT.c
    rows = conn.execute(select(c.seq, c.at, c.actor, c.action, c.outcome, c.case_ref,
                               c.workflow, c.command, c.detail, c.prev_hash, c.hash,
                               c.key_id).order_by(c.seq))
    return [AuditEntry(*row) for row in rows]


def reference_hash(seq: int, at: dt.datetime, actor: str, action: str, outcome: str,
                   case_ref: str | None, workflow: str | None, command: str | None,
                   detail: Mapping[str, Any], prev_hash: str, key: bytes | None = None) -> str:
    """SHA-256 of the record and its link; HMAC-SHA-256 with ``key`` when the partnership
    sets SAFEGUARD_AUDIT_KEY, so that without the key no one can forge a valid record."""
    body = json.dumps({
        "seq": seq, "at": at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor": actor, "action": action, "outcome": outcome, "case_ref": case_ref,
        "workflow": workflow, "command": command, "detail": detail,
    }, sort_keys=True, separators=(",", ":"), default=str)
    message = f"{prev_hash}\n{body}".encode()
    if key:
        return hmac.new(key, message, hashlib.sha256).hexdigest()
    return hashlib.sha256(message).hexdigest()


def reference_verify(entries: Iterable[AuditEntry], head: tuple[int, str] | None,
                     file_head: tuple[int, str] | None, key: bytes | None = None,
                     keys: Mapping[str, bytes | None] | None = None,
                     progress: Callable[[int], object] | None = None) -> Verdict:
    """Walk the chain in sequence order; report the first record changed, removed or added.

    Each record is checked with the key its ``key_id`` names (from ``keys``, the current and
    earlier keys); a record from before key ids were kept is checked against every key.
    ``entries`` may be a stream: nothing is kept but the previous hash and the hash at the
    head file's sequence number, so memory stays flat however long the chain. ``progress``
    is told the number of records checked every :data:`PROGRESS_EVERY`."""
    ring = dict(keys) if keys is not None else keyring(key)
    expected_seq, prev, count, keyed = 1, GENESIS, 0, False
    file_seq = file_head[0] if file_head is not None else None
    at_file_seq: str | None = GENESIS if file_seq == 0 else None
    for entry in entries:
        count += 1
        if progress is not None and count % PROGRESS_EVERY == 0:
            progress(count)
        if entry.seq != expected_seq:
            what = "removed" if entry.seq > expected_seq else "inserted or duplicated"
            return Verdict(False, count, f"record {expected_seq} was {what} (found {entry.seq} "
                           f"where {expected_seq} should be)", expected_seq)
        if entry.prev_hash != prev:
            return Verdict(False, count, f"record {entry.seq} does not follow record "
                           f"{entry.seq - 1}: a record before it was changed, removed or "
                           "inserted", entry.seq)
        if entry.key_id is not None and entry.key_id not in ring:
            return Verdict(False, count, f"record {entry.seq} was made with audit key "
                           f"'{entry.key_id}', which is not configured: give earlier keys in "
                           "SAFEGUARD_AUDIT_OLD_KEYS", entry.seq)
        candidates = [ring[entry.key_id]] if entry.key_id is not None else list(ring.values())
        if keyed:  # once the chain is kept with a key, a record without one is a forgery
            candidates = [c for c in candidates if c]
        made_with = next((c for c in candidates if reference_hash(
            entry.seq, entry.at, entry.actor, entry.action, entry.outcome, entry.case_ref,
            entry.workflow, entry.command, entry.detail, entry.prev_hash, c) == entry.hash),
            False)
        if made_with is False:
            return Verdict(False, count, f"record {entry.seq} was changed after it was written",
                           entry.seq)
        keyed = keyed or bool(made_with)
        prev, expected_seq = entry.hash, expected_seq + 1
        if entry.seq == file_seq:
            at_file_seq = entry.hash
    last = expected_seq - 1
    if head is not None and head != (last, prev):
        return Verdict(False, count, f"the chain ends at record {last} but its head in the "
                       f"database says {head[0]}: records at the end were removed or added",
                       min(last, head[0]) + 1)
    if head is None and last:
        return Verdict(False, count, "the chain's head record in the database is missing",
                       last)
    note = ""
    if file_head is None and last:
        return Verdict(False, count, "the head file outside the database is missing, so "
                       "records removed from the end could not be noticed: restore it from "
                       "backup, or investigate", last)
    if file_head is not None and file_head != (last, prev):
        seq, digest = file_head
        if not (seq < last and at_file_seq == digest):
            return Verdict(False, count, f"the head file outside the database says record "
                           f"{seq} ends the chain, which the database does not match: records "
                           "were removed or rewritten", min(seq, last) + 1)
        # Commands that committed while this ran, or another machine's head file.
        note = (f"; records {seq + 1} to {last} are newer than the head file (written since, "
                "or elsewhere)")
    return Verdict(True, count, f"audit trail intact: {count} records, head {prev[:12]}{note}")
