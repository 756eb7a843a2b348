"""The audit trail's hash chain. Pure: hashing and verification, no database.

Each record carries the hash of the one before it; its own hash covers its content and that
link, so changing, removing or inserting a record breaks the chain at that point. The head
(last sequence number and hash) is kept twice: in the database and in a file outside it, so
removing the newest records is caught too. Records hold no personal data (field names, never
values), so erasing a child's personal fields under the retention policy leaves the chain
verifiable.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: dt.datetime
    actor: str
    action: str
    outcome: str  # ok | refused
    case_ref: str | None
    workflow: str | None
    command: str | None
    detail: Mapping[str, Any]
    prev_hash: str
    hash: str
    key_id: str | None = None  # the key the record was made with ('' none; None: unrecorded)

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at.isoformat(), "actor": self.actor,
                "action": self.action, "outcome": self.outcome, "case_ref": self.case_ref,
                "workflow": self.workflow, "command": self.command, "detail": dict(self.detail),
                "hash": self.hash}


def entry_hash(seq: int, at: dt.datetime, actor: str, action: str, outcome: str,
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


def key_id(key: bytes | None) -> str:
    """A short public name for an audit key ('' for no key): an HMAC of a constant, so it
    says which key made a record without saying anything about the key."""
    if not key:
        return ""
    return hmac.new(key, b"safeguard audit key id", hashlib.sha256).hexdigest()[:12]


def keyring(*keys: bytes | None) -> dict[str, bytes | None]:
    """Key id -> key, for verifying records made with any of ``keys`` (and with none)."""
    ring: dict[str, bytes | None] = {"": None}
    for key in keys:
        if key:
            ring[key_id(key)] = key
    return ring


@dataclass(frozen=True)
class Verdict:
    ok: bool
    records: int
    message: str
    first_bad_seq: int | None = None


PROGRESS_EVERY = 10_000  # records between progress reports


def verify_chain(entries: Iterable[AuditEntry], head: tuple[int, str] | None,
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
        made_with = next((c for c in candidates if entry_hash(
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
