"""The audit chain catches a record changed, removed or inserted, straight in the database."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, text

from cli import main
from engine.core.audit import entry_hash
from engine.core.auditing import AuditTrail
from engine.core.clock import UTC
from engine.core.store.database import Database
from tests.conftest import make_app

OPEN = {"became_aware_on": "2024-06-03", "child_ref": "C-5", "label": "Chain"}


def _unprotect(conn: Connection) -> None:
    """What someone with direct database access would do first."""
    if conn.dialect.name == "sqlite":
        conn.execute(text("DROP TRIGGER audit_record_append_only_update"))
        conn.execute(text("DROP TRIGGER audit_record_append_only_delete"))
    else:
        conn.execute(text("DROP TRIGGER audit_record_append_only ON audit_record"))


def _tamper(db: Database, statements: Callable[[Connection], None]) -> None:
    with db.begin() as conn:
        _unprotect(conn)
        statements(conn)


def test_an_untouched_chain_verifies(trail: AuditTrail) -> None:
    verdict = trail.verify("amy")
    assert verdict.ok and verdict.records == 5


def test_verification_streams_the_chain_and_reports_progress(
        trail: AuditTrail, monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.core.audit as audit

    monkeypatch.setattr(audit, "PROGRESS_EVERY", 2)
    told: list[tuple[int, int]] = []
    verdict = trail.verify("amy", lambda done, total: told.append((done, total)))
    assert verdict.ok and told == [(2, 5), (4, 5)]


def test_the_database_refuses_to_change_audit_records(trail: AuditTrail, db: Database) -> None:
    from sqlalchemy.exc import DatabaseError

    with pytest.raises(DatabaseError, match="append-only"), db.begin() as conn:
        conn.execute(text("UPDATE audit_record SET actor = 'mallory' WHERE seq = 2"))


def test_a_changed_record_is_caught(trail: AuditTrail, db: Database) -> None:
    _tamper(db, lambda c: c.execute(text(
        "UPDATE audit_record SET actor = 'mallory' WHERE seq = 3")))
    verdict = trail.verify("amy")
    assert not verdict.ok and verdict.first_bad_seq == 3
    assert "record 3 was changed" in verdict.message


def test_a_removed_record_is_caught(trail: AuditTrail, db: Database) -> None:
    _tamper(db, lambda c: c.execute(text("DELETE FROM audit_record WHERE seq = 2")))
    verdict = trail.verify("amy")
    assert not verdict.ok and verdict.first_bad_seq == 2
    assert "record 2 was removed" in verdict.message


def test_an_inserted_record_is_caught(trail: AuditTrail, db: Database) -> None:
    def insert_between(conn: Connection) -> None:
        # Make room after record 2 and forge a record 3 with a correct-looking hash.
        rows = conn.execute(text("SELECT seq FROM audit_record WHERE seq >= 3 "
                                 "ORDER BY seq DESC")).all()
        for (seq,) in rows:
            conn.execute(text("UPDATE audit_record SET seq = :new WHERE seq = :old"),
                         {"new": seq + 1, "old": seq})
        prev = conn.execute(text("SELECT hash FROM audit_record WHERE seq = 2")).scalar()
        import datetime as dt

        at = dt.datetime(2024, 6, 3, 9, 30, tzinfo=UTC)
        digest = entry_hash(3, at, "mallory", "case.show", "ok", "PR-1", "practice_review",
                            None, {}, str(prev))
        conn.execute(text(
            "INSERT INTO audit_record (seq, at, actor, action, outcome, case_ref, workflow, "
            "command, detail, prev_hash, hash) VALUES (3, :at, 'mallory', 'case.show', 'ok', "
            "'PR-1', 'practice_review', NULL, '{}', :prev, :hash)"),
            {"at": at.replace(tzinfo=None), "prev": prev, "hash": digest})

    _tamper(db, insert_between)
    verdict = trail.verify("amy")
    assert not verdict.ok and verdict.first_bad_seq == 4  # the next one no longer follows


def test_removing_the_newest_records_and_rewriting_the_head_is_caught_by_the_file(
        trail: AuditTrail, db: Database) -> None:
    def drop_tail(conn: Connection) -> None:
        conn.execute(text("DELETE FROM audit_record WHERE seq >= 4"))
        last = conn.execute(text("SELECT hash FROM audit_record WHERE seq = 3")).scalar()
        conn.execute(text("UPDATE audit_head SET seq = 3, hash = :h"), {"h": last})

    _tamper(db, drop_tail)
    verdict = trail.verify("amy")
    assert not verdict.ok
    assert "head file outside the database says record 5" in verdict.message


def test_audit_verify_command_exits_non_zero_on_tampering(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    for args in [("init",), ("area", "add", "north", "--name", "North"),
                 ("user", "grant", __import__("getpass").getuser(), "auditor")]:
        assert runner.invoke(main, ["--db", url, *args]).exit_code == 0
    ok = runner.invoke(main, ["--db", url, "audit", "verify"])
    assert ok.exit_code == 0 and "intact" in ok.output
    head = json.loads((tmp_path / "cli.db.audit-head.json").read_text())
    db = Database(url)
    _tamper(db, lambda c: c.execute(text("UPDATE audit_record SET action = 'x' WHERE seq = 2")))
    db.dispose()
    broken = runner.invoke(main, ["--db", url, "audit", "verify"])
    assert broken.exit_code == 1
    assert broken.output.startswith("Error: audit trail broken: record 2 was changed")
    assert head["seq"] >= 3


def test_with_a_key_a_record_forged_without_it_is_caught(
        db: Database, registry: object, clock: object, tmp_path: Path) -> None:
    keyed = make_app(db, clock, tmp_path / "k.json",  # type: ignore[arg-type]
                     audit_key=b"partnership secret")
    keyed.engine.open_case("practice_review", "PR-K", OPEN, actor="amy")
    trail = keyed.audit
    assert trail.verify("amy").ok
    unkeyed = make_app(db, clock, tmp_path / "k.json")  # type: ignore[arg-type]
    assert not unkeyed.audit.verify("amy").ok  # the same chain checked without the key fails

    _tamper(db, forge_at_the_end)
    (tmp_path / "k.json").unlink()  # and the head file is gone too: the key still catches it
    verdict = trail.verify("amy")
    assert not verdict.ok and "was changed" in verdict.message


def forge_at_the_end(conn: Connection) -> None:
    """A record appended with a plain SHA-256 (no key), the head moved to it."""
    seq, prev = conn.execute(text("SELECT seq, hash FROM audit_head")).one()
    import datetime as dt

    at = dt.datetime(2024, 6, 3, 10, 0, tzinfo=UTC)
    digest = entry_hash(seq + 1, at, "mallory", "case.show", "ok", "PR-K",
                        "practice_review", None, {}, str(prev))  # no key: plain SHA-256
    conn.execute(text(
        "INSERT INTO audit_record (seq, at, actor, action, outcome, case_ref, workflow, "
        "command, detail, prev_hash, hash) VALUES (:seq, :at, 'mallory', 'case.show', "
        "'ok', 'PR-K', 'practice_review', NULL, '{}', :prev, :hash)"),
        {"seq": seq + 1, "at": at.replace(tzinfo=None), "prev": prev, "hash": digest})
    conn.execute(text("UPDATE audit_head SET seq = :s, hash = :h"),
                 {"s": seq + 1, "h": digest})
