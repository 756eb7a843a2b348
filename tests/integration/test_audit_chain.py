"""Verification reads the chain off the driver and hashes records from their stored text: it
gives the verdict the previous verification (SQLAlchemy rows, ``AuditEntry``, ``entry_hash``:
tests/audit_reference.py) gives, on untouched chains, on chains changed straight in the
database, and on every record of the demonstration year."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, text

from engine.core.audit import Verdict, entry_body, plain_body, verify_chain
from engine.core.auditing import AuditTrail
from engine.core.gate import read_head_file
from engine.core.store import audit_chain
from engine.core.store.access_store import AccessStore
from engine.core.store.audit_chain import chain_links
from engine.core.store.database import Database
from tests.audit_reference import reference_entries, reference_hash, reference_verify
from tests.conftest import DemoYear, make_app
from tests.integration.test_audit_tamper import _tamper, forge_at_the_end

OPEN = {"became_aware_on": "2024-06-03", "child_ref": "C-5", "label": "Chain"}
Tamper = Callable[[Connection], None]


def _verdicts(trail: AuditTrail, chunk: int = 2_000) -> tuple[Verdict, Verdict]:
    """(today's verdict, the reference's) on the same snapshot; neither records anything."""
    file_head = read_head_file(trail.gate.head_file)
    keys = trail.gate.keys
    with trail.db.begin_read() as conn:
        head = AccessStore(conn).head()
        with closing(chain_links(conn, chunk)) as links:
            fast = verify_chain(links, head, file_head, keys=keys)
        reference = reference_verify(reference_entries(conn), head, file_head, keys=keys)
    return fast, reference


def _sql(statement: str, **params: object) -> Tamper:
    def run(conn: Connection) -> None:
        conn.execute(text(statement), params)
    return run


def _on(sqlite: Tamper | None, postgresql: Tamper | None) -> Callable[[str], Tamper | None]:
    return lambda dialect: sqlite if dialect == "sqlite" else postgresql


def _both(tamper: Tamper) -> Callable[[str], Tamper | None]:
    return _on(tamper, tamper)


def _rewrite_detail(seq: int, rewrite: Callable[[object], str], cast: str = "") -> Tamper:
    """Write record ``seq``'s detail back as ``rewrite`` spells its value."""
    def run(conn: Connection) -> None:
        stored = conn.execute(text(f"SELECT detail{cast} FROM audit_record WHERE seq = {seq}"))
        value = json.loads(stored.scalar_one())
        conn.execute(text(f"UPDATE audit_record SET detail = :d WHERE seq = {seq}"),
                     {"d": rewrite(value)})
    return run


def _drop_tail(conn: Connection) -> None:
    conn.execute(text("DELETE FROM audit_record WHERE seq >= 4"))
    last = conn.execute(text("SELECT hash FROM audit_record WHERE seq = 3")).scalar()
    conn.execute(text("UPDATE audit_head SET seq = 3, hash = :h"), {"h": last})


TAMPERING: dict[str, Callable[[str], Tamper | None]] = {
    "nothing": _both(lambda conn: None),
    "actor": _both(_sql("UPDATE audit_record SET actor = 'mallory' WHERE seq = 3")),
    "actor, unicode and quotes": _both(_sql(
        "UPDATE audit_record SET actor = :a WHERE seq = 3", a='zoë "q" \\ \u2028')),
    "actor as a blob": _on(_sql(
        "UPDATE audit_record SET actor = CAST(actor AS BLOB) WHERE seq = 3"), None),
    "case reference cleared": _both(_sql(
        "UPDATE audit_record SET case_ref = NULL WHERE seq = 1")),
    "detail respaced (same value)": _on(
        _rewrite_detail(1, lambda v: json.dumps(v, separators=(",", ":"))),
        _rewrite_detail(1, lambda v: json.dumps(v, separators=(",", ":")), "::text")),
    "detail keys reordered (same value)": _on(
        _rewrite_detail(1, lambda v: json.dumps(dict(reversed(v.items())), indent=1)),  # type: ignore[attr-defined]
        _rewrite_detail(1, lambda v: json.dumps(dict(reversed(v.items()))),  # type: ignore[attr-defined]
                        "::text")),
    "detail changed": _both(_sql(
        "UPDATE audit_record SET detail = '{\"area\": \"elsewhere\"}' WHERE seq = 1")),
    "empty detail respaced (same value)": _both(_sql(
        "UPDATE audit_record SET detail = '{ }' WHERE seq = 4")),
    "empty detail given a field": _both(_sql(
        "UPDATE audit_record SET detail = '{\"x\": 1}' WHERE seq = 4")),
    "detail a list": _both(_sql("UPDATE audit_record SET detail = '[1, 2]' WHERE seq = 2")),
    "detail a number": _on(_sql("UPDATE audit_record SET detail = 5 WHERE seq = 2"), None),
    "instant a microsecond later": _on(
        _sql("UPDATE audit_record SET at = substr(at, 1, 25) || '1' WHERE seq = 3"),
        _sql("UPDATE audit_record SET at = at + interval '1 microsecond' WHERE seq = 3")),
    "instant spelled otherwise (same value)": _on(_sql(
        "UPDATE audit_record SET at = CASE seq WHEN 1 THEN replace(at, ' ', 'T') "
        "WHEN 2 THEN substr(at, 1, 19) WHEN 3 THEN at || '+00:00' ELSE at END"), None),
    "instant with an offset (read as UTC: same value)": _on(_sql(
        "UPDATE audit_record SET at = substr(at, 1, 19) || '-05:00' WHERE seq = 2"), None),
    "link changed": _both(_sql("UPDATE audit_record SET prev_hash = hash WHERE seq = 3")),
    "hash changed": _both(_sql("UPDATE audit_record SET hash = prev_hash WHERE seq = 3")),
    "unknown key id": _both(_sql("UPDATE audit_record SET key_id = 'abcdef123456' "
                                 "WHERE seq = 3")),
    "key ids unrecorded": _both(_sql("UPDATE audit_record SET key_id = NULL")),
    "removed": _both(_sql("DELETE FROM audit_record WHERE seq = 2")),
    "moved past the end": _both(_sql("UPDATE audit_record SET seq = 99 WHERE seq = 5")),
    "a fractional sequence number": _on(_sql(
        "UPDATE audit_record SET seq = 2.5 WHERE seq = 3"), None),
    "newest removed, head rewritten": _both(_drop_tail),
}


@pytest.mark.parametrize("case", TAMPERING)
@pytest.mark.parametrize("chunk", [2, 2_000])
def test_the_verdict_is_the_reference_verdict(trail: AuditTrail, db: Database, case: str,
                                              chunk: int) -> None:
    tamper = TAMPERING[case](db.dialect)
    if tamper is None:
        pytest.skip(f"{db.dialect} keeps no such value")
    _tamper(db, tamper)
    fast, reference = _verdicts(trail, chunk)
    assert fast == reference
    assert fast.ok is (case in ("nothing", "key ids unrecorded") or "same value" in case)


@pytest.mark.parametrize("statement", [
    "UPDATE audit_record SET at = '2024-02-30 08:00:00.000000' WHERE seq = 3",  # no such day
    "UPDATE audit_record SET at = 20240603 WHERE seq = 3",
    "UPDATE audit_record SET detail = '{not json' WHERE seq = 3",
])
def test_a_value_no_record_holds_is_a_changed_record(trail: AuditTrail, db: Database,
                                                      statement: str) -> None:
    """The reference stopped with a traceback here; a record that cannot be read is one
    changed after it was written, and the records before it were still checked."""
    if db.dialect != "sqlite":
        pytest.skip("PostgreSQL's column types refuse these values")
    _tamper(db, _sql(statement))
    verdict = trail.verify("amy")
    assert not verdict.ok and verdict.first_bad_seq == 3 and verdict.records == 3
    assert "record 3 was changed" in verdict.message
    with db.begin_read() as conn, pytest.raises((ValueError, TypeError)):
        reference_entries(conn)


def test_a_keyed_chain_gets_the_reference_verdict(db: Database, clock: object,
                                                   tmp_path: Path) -> None:
    keyed = make_app(db, clock, tmp_path / "k.json",  # type: ignore[arg-type]
                     audit_key=b"partnership secret")
    keyed.engine.open_case("practice_review", "PR-K", OPEN, actor="amy")
    keyed.engine.case("PR-K", "amy")
    fast, reference = _verdicts(keyed.audit)
    assert fast == reference and fast.ok and fast.records == 2
    unkeyed = make_app(db, clock, tmp_path / "k.json")  # type: ignore[arg-type]
    fast, reference = _verdicts(unkeyed.audit)
    assert fast == reference and not fast.ok

    _tamper(db, forge_at_the_end)
    fast, reference = _verdicts(keyed.audit)
    assert fast == reference
    assert not fast.ok and fast.first_bad_seq == 3 and "was changed" in fast.message


@pytest.mark.slow  # builds the demo year if no test has yet
def test_every_record_of_the_demo_year_reads_as_the_reference_reads_it(
        demo_year: DemoYear, monkeypatch: pytest.MonkeyPatch) -> None:
    """The text each record's hash covers, from its stored text, is what entry_body makes of
    the values SQLAlchemy reads, for every record; and none needed the general way."""
    plain = 0

    def counted(*args: Any) -> str:
        nonlocal plain
        plain += 1
        return plain_body(*args)

    monkeypatch.setattr(audit_chain, "plain_body", counted)
    database = Database(demo_year.url)
    try:
        with database.begin_read() as conn:
            entries = reference_entries(conn)
            with closing(chain_links(conn)) as links:
                for link, entry in zip(links, entries, strict=True):
                    assert link == (entry.seq, entry.prev_hash, entry.hash, entry.key_id,
                                    entry_body(entry.seq, entry.at, entry.actor, entry.action,
                                               entry.outcome, entry.case_ref, entry.workflow,
                                               entry.command, entry.detail))
                    assert reference_hash(entry.seq, entry.at, entry.actor, entry.action,
                                          entry.outcome, entry.case_ref, entry.workflow,
                                          entry.command, entry.detail,
                                          entry.prev_hash) == entry.hash
    finally:
        database.dispose()
    assert plain == len(entries) > 500
