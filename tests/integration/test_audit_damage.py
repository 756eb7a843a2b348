"""The audit trail survives a damaged head file and a change of key: ``audit verify`` says
what is wrong on one line, other commands commit their change and record together, and a
command run without the configured key is refused before it writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from cli import main
from engine.core.errors import DeploymentError
from engine.core.service import Engine
from engine.core.store.database import Database
from tests.conftest import make_app

OPEN = {"became_aware_on": "2024-06-03", "child_ref": "C-5", "label": "Chain"}


@pytest.fixture
def cli(tmp_path: Path) -> object:
    db = tmp_path / "d.db"
    runner = CliRunner()

    def run(*args: str, env: dict[str, str] | None = None) -> object:
        return runner.invoke(main, ["--db", f"sqlite:///{db}", "--now", "2024-06-03T09:00",
                                    *args], env=env)

    for args in (("init",), ("area", "add", "north", "--name", "North"),
                 ("user", "grant", "root", "business_support", "--area", "north"),
                 ("case", "open", "practice_review", "--ref", "PR-1", "--area", "north",
                  "--set", "became_aware_on=2024-06-03", "--set", "child_ref=C-1",
                  "--set", "label=Before")):
        result = run(*args, env={"LOGNAME": "root", "USER": "root"})
        assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    run.head = tmp_path / "d.db.audit-head.json"  # type: ignore[attr-defined]
    run.db = Database(f"sqlite:///{db}")  # type: ignore[attr-defined]
    return run


def _label(db: Database) -> str:
    with db.begin_read() as conn:
        return str(conn.execute(text('SELECT data FROM "case"')).scalar())


@pytest.mark.parametrize("damage", ["missing", "empty", "garbled"])
def test_a_damaged_head_file_is_reported_and_never_half_fails_a_command(
        cli: object, damage: str) -> None:
    head: Path = cli.head  # type: ignore[attr-defined]
    env = {"LOGNAME": "root", "USER": "root"}
    if damage == "missing":
        head.unlink()
    else:
        head.write_text("" if damage == "empty" else "{not json", encoding="utf-8")
    verify = cli("audit", "verify", env=env)  # type: ignore[operator]
    assert verify.exit_code == 1
    assert verify.stderr.count("\n") == 1 and "Traceback" not in verify.output
    assert damage in verify.stderr
    changed = cli("case", "correct", "PR-1", "--set", "label=After",  # type: ignore[operator]
                  "--note", "typo", env=env)
    assert changed.exit_code == 0, changed.output
    assert "After" in _label(cli.db)  # type: ignore[attr-defined]


def test_the_head_file_is_written_atomically_and_owner_only(cli: object) -> None:
    head: Path = cli.head  # type: ignore[attr-defined]
    assert head.stat().st_mode & 0o077 == 0
    database = head.with_name("d.db")  # the SQLite file and its WAL: owner only too
    assert all(p.stat().st_mode & 0o077 == 0 for p in database.parent.glob("d.db*"))
    assert not [p for p in head.parent.iterdir() if p.name.endswith(".tmp")]


def test_a_command_without_the_configured_key_is_refused_before_it_writes(
        engine: Engine, db: Database, clock: object, tmp_path: Path) -> None:
    keyed = make_app(db, clock, tmp_path / "h.json",  # type: ignore[arg-type]
                     audit_key=b"first key")
    keyed.engine.open_case("practice_review", "PR-K", OPEN, actor="amy")
    before = _records(db)
    for key in (None, b"another key"):
        other = make_app(db, clock, tmp_path / "h.json", audit_key=key)  # type: ignore[arg-type]
        with pytest.raises(DeploymentError, match="audit key"):
            other.engine.open_case("practice_review", "PR-X", OPEN, actor="amy")
        with pytest.raises(DeploymentError, match="audit key"):
            other.engine.case("PR-K", "amy")  # a read is audited too: refused alike
        assert _records(db) == before
    assert keyed.audit.verify("amy").ok


def test_rotating_the_key_keeps_earlier_records_verifiable(
        engine: Engine, db: Database, clock: object, tmp_path: Path) -> None:
    first = make_app(db, clock, tmp_path / "h.json",  # type: ignore[arg-type]
                     audit_key=b"first key")
    first.engine.open_case("practice_review", "PR-K", OPEN, actor="amy")
    second = make_app(db, clock, tmp_path / "h.json",  # type: ignore[arg-type]
                      audit_key=b"second key")
    with pytest.raises(DeploymentError, match="SAFEGUARD_AUDIT_OLD_KEYS"):
        second.audit.rotate_key("amy")  # without the current key: refused
    second.engine.gate.old_keys = (b"first key",)
    assert second.audit.rotate_key("amy")[1] != "none"
    second.engine.case("PR-K", "amy")
    assert second.audit.verify("amy").ok
    with pytest.raises(DeploymentError):
        first.engine.case("PR-K", "amy")  # the old key alone no longer writes


def test_the_outbox_folder_is_owner_only(tmp_path: Path) -> None:
    from email.message import EmailMessage

    from notifications.transports import EmlFolderTransport

    message = EmailMessage()
    message["Message-ID"] = "<m1@example.org>"
    message.set_content("x")
    EmlFolderTransport(tmp_path / "outbox").send(message)
    assert (tmp_path / "outbox").stat().st_mode & 0o077 == 0
    assert all(p.stat().st_mode & 0o077 == 0 for p in (tmp_path / "outbox").iterdir())


def _records(db: Database) -> int:
    with db.begin_read() as conn:
        return int(conn.execute(text("SELECT count(*) FROM audit_record")).scalar() or 0)
