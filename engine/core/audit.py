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
    return chain_hash(prev_hash, entry_body(seq, at, actor, action, outcome, case_ref,
                                            workflow, command, detail), key)


def entry_body(seq: int, at: dt.datetime, actor: str, action: str, outcome: str,
               case_ref: str | None, workflow: str | None, command: str | None,
               detail: Mapping[str, Any]) -> str:
    """The JSON a record's hash covers (after the previous record's hash)."""
    return json.dumps({
        "seq": seq, "at": hashed_at(at), "actor": actor, "action": action, "outcome": outcome,
        "case_ref": case_ref, "workflow": workflow, "command": command, "detail": detail,
    }, sort_keys=True, separators=(",", ":"), default=str)


def hashed_at(at: dt.datetime) -> str:
    """A record's instant as its hash covers it."""
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


# json.dumps(detail, sort_keys=True, separators=(",", ":"), default=str), built once.
_DETAIL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)
_quote = json.encoder.encode_basestring_ascii  # how json.dumps writes a string


def hashed_detail(detail: Any) -> str:
    """A record's detail as its hash covers it (as :func:`entry_body` writes it)."""
    return _DETAIL_JSON.encode(detail)


def plain_body(seq: int, at: str, actor: str, action: str, outcome: str, case_ref: str | None,
               workflow: str | None, command: str | None, detail: str) -> str:
    """:func:`entry_body` written out for plain values, ``at`` and ``detail`` given in their
    hashed forms (:func:`hashed_at`, :func:`hashed_detail`): the same text, without building
    and sorting a dict (the keys are in sorted order here). ``seq`` must be an ``int`` and the
    rest ``str`` (a ``TypeError`` otherwise: use :func:`entry_body`)."""
    if type(seq) is not int:  # json writes an int as int.__repr__, a bool or float otherwise
        raise TypeError("seq is not an int")
    return (f'{{"action":{_quote(action)},"actor":{_quote(actor)},"at":{_quote(at)},'
            f'"case_ref":{"null" if case_ref is None else _quote(case_ref)},'
            f'"command":{"null" if command is None else _quote(command)},"detail":{detail},'
            f'"outcome":{_quote(outcome)},"seq":{seq},'
            f'"workflow":{"null" if workflow is None else _quote(workflow)}}}')


def chain_hash(prev_hash: str, body: str, key: bytes | None = None) -> str:
    """The hash of a record whose :func:`entry_body` is ``body``, after ``prev_hash``."""
    message = f"{prev_hash}\n{body}".encode()
    if key:
        return hmac.digest(key, message, "sha256").hex()
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

# One record as verification reads it: (seq, prev_hash, hash, key_id, body), ``body`` the text
# its hash covers (:func:`entry_body`), or None when its stored values are not a record's
# (they cannot be read as the instant, detail... the application writes): a changed record.
Link = tuple[int, str, str, str | None, str | None]


def verify_chain(links: Iterable[Link], head: tuple[int, str] | None,
                 file_head: tuple[int, str] | None, key: bytes | None = None,
                 keys: Mapping[str, bytes | None] | None = None,
                 progress: Callable[[int], object] | None = None) -> Verdict:
    """Walk the chain in sequence order; report the first record changed, removed or added.

    Each record is checked with the key its ``key_id`` names (from ``keys``, the current and
    earlier keys); a record from before key ids were kept is checked against every key.
    ``links`` may be a stream: nothing is kept but the previous hash and the hash at the
    head file's sequence number, so memory stays flat however long the chain. ``progress``
    is told the number of records checked every :data:`PROGRESS_EVERY`."""
    ring = dict(keys) if keys is not None else keyring(key)
    # The keys a record may have been made with, by its key id (None: any); once the chain is
    # kept with a key, a record without one is a forgery (``keyed``).
    Candidates = dict[str | None, tuple[bytes | None, ...]]
    unkeyed: Candidates = {k: (c,) for k, c in ring.items()}
    unkeyed[None] = tuple(ring.values())
    keyed: Candidates = {ident: tuple(c for c in found if c) for ident, found in unkeyed.items()}
    candidates, sha256, hmac_digest, every = unkeyed, hashlib.sha256, hmac.digest, PROGRESS_EVERY
    expected_seq, prev, count = 1, GENESIS, 0
    file_seq = file_head[0] if file_head is not None else None
    at_file_seq: str | None = GENESIS if file_seq == 0 else None
    for seq, prev_hash, digest, ident, body in links:
        count += 1
        if progress is not None and count % every == 0:
            progress(count)
        if seq != expected_seq:
            what = "removed" if seq > expected_seq else "inserted or duplicated"
            return Verdict(False, count, f"record {expected_seq} was {what} (found {seq} "
                           f"where {expected_seq} should be)", expected_seq)
        if prev_hash != prev:
            return Verdict(False, count, f"record {seq} does not follow record "
                           f"{seq - 1}: a record before it was changed, removed or "
                           "inserted", seq)
        found = candidates.get(ident)
        if found is None:
            return Verdict(False, count, f"record {seq} was made with audit key "
                           f"'{ident}', which is not configured: give earlier keys in "
                           "SAFEGUARD_AUDIT_OLD_KEYS", seq)
        made_with: bytes | bool | None = False
        if body is not None:
            message = f"{prev_hash}\n{body}".encode()
            for c in found:  # chain_hash, inline: a call per record costs a tenth more
                if (hmac_digest(c, message, "sha256").hex() if c
                        else sha256(message).hexdigest()) == digest:
                    made_with = c
                    break
        if made_with is False:
            return Verdict(False, count, f"record {seq} was changed after it was written",
                           seq)
        if made_with:
            candidates = keyed
        prev, expected_seq = digest, expected_seq + 1
        if seq == file_seq:
            at_file_seq = digest
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
