"""Every command writes exactly one audit record, named for the command (``area.verb``).

The script below runs every command of the CLI once, in an order that makes each possible,
against one database, and counts the audit records each adds: exactly one, whose action is
the command's path (``mace series create`` -> ``mace.series.create``; hyphens become
underscores). The few commands that are not audited say why in ``NOT_AUDITED``. A test also
checks that the script covers the whole command tree, so a new command must be added here.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from cli import main
from engine.core.roles import ROLES
from engine.core.store.database import Database
from engine.core.store.models import AuditRecord

ME = getpass.getuser()
MEETING = "MACE-North-2024-06-05"
# Commands that write no audit record, and why.
NOT_AUDITED = {
    ("demo",): "builds a separate demonstration database (audited inside it)",
    ("workflow", "list"): "workflow definitions only: no case data, no database",
    ("workflow", "show"): "workflow definitions only: no case data, no database",
    ("workflow", "validate"): "workflow definitions only: no case data, no database",
    ("workflow", "diagram"): "workflow definitions only: no case data, no database",
    ("serve",): "serves the web application until stopped; each page is audited by its service",
}
# Commands whose one record has its own name.
NAMED = {("init",): "user.bootstrap"}  # the first administrator registered


def _script(tmp: Path) -> list[tuple[str, tuple[str, ...]]]:
    """(--now, argv) for every command, in an order that makes each one possible."""
    june3, june4, june5 = "2024-06-03T09:00", "2024-06-04T09:00", "2024-06-05T12:00"
    (tmp / "plan.csv").write_text("ref,priority,outcome,action,timescale,responsible,owner\n"
                                  f"BP-1,Neglect,Early help,Embed the tool,2024-12,Group,{ME}\n")
    (tmp / "figures.csv").write_text("measure,area,period,value,source\n"
                                     "mash_contacts,cumberland,2023-24,7124,MASH system\n")
    steps: list[tuple[str, tuple[str, ...]]] = [
        (june3, ("init",)),
        (june3, ("area", "add", "cumberland", "--name", "Cumberland")),
        (june3, ("area", "list")),
        (june3, ("user", "add", "zed", "--name", "Zed", "--email", "zed@example.org",
                 "--agency", "Police")),
        *[(june3, ("user", "grant", ME, role)) for role in ROLES if role != "administrator"],
        (june3, ("user", "grant", "zed", "mace_member")),
        (june3, ("user", "revoke", "zed", "mace_member")),
        (june3, ("user", "list")),
        (june3, ("user", "password", "zed")),
        (june3, ("user", "password", "zed", "--link")),
        (june3, ("user", "token", "zed", "--name", "dashboard")),
        (june3, ("user", "token", "zed", "--list")),
        (june3, ("user", "token", "zed", "--revoke", "1")),
        (june3, ("workflow", "list")),
        (june3, ("workflow", "show", "practice_review")),
        (june3, ("workflow", "validate", str(Path("workflows") / "practice_review.yaml"))),
        (june3, ("workflow", "diagram", "practice_review")),
        (june3, ("case", "open", "practice_review", "--ref", "PR-1",
                 "--set", "became_aware_on=2024-06-03", "--set", "child_ref=C-1",
                 "--set", "label=Review 1")),
        (june4, ("case", "advance", "PR-1", "notify", "--set", "notified_on=2024-06-04")),
        (june4, ("case", "correct", "PR-1", "--set", "notified_on=2024-06-03",
                 "--note", "sent the day before")),
        (june4, ("case", "show", "PR-1")),
        (june4, ("case", "list")),
        (june4, ("case", "history", "PR-1")),
        (june4, ("case", "export", "PR-1", "--out", str(tmp / "pr-1.json"))),
        (june4, ("case", "hold", "PR-1", "--reason", "public inquiry")),
        (june4, ("case", "release", "PR-1")),
        (june4, ("plan", "import", str(tmp / "plan.csv"))),
        (june4, ("plan", "update", "BP-1", "--rag", "green", "--note", "on track")),
        (june4, ("plan", "show")),
        (june4, ("figures", "import", str(tmp / "figures.csv"))),
        (june4, ("figures", "list")),
        (june3, ("cerar", "open", "--child", "C-9", "--concern-on", "2024-06-03",
                 "--agency", "police", "--area", "cumberland")),
        (june3, ("cerar", "screen", "CE-C-9")),
        (june3, ("cerar", "assess", "CE-C-9", "--level", "high")),
        (june3, ("cerar", "level", "CE-C-9", "--level", "medium", "--reason", "engaging")),
        (june3, ("cerar", "review", "CE-C-9", "--outcome", "plan working")),
        (june3, ("cerar", "flag", "CE-C-9", "--reason", "discuss at MACE")),
        (june3, ("cerar", "placement", "CE-C-9", "--placed-in-area-by", "Leeds")),
        (june3, ("cerar", "missing", "CE-C-9", "--from", "2024-05-20T20:00",
                 "--returned", "2024-05-21T08:00")),
        (june3, ("cerar", "missing", "CE-C-9", "--from", "2024-05-27T20:00",
                 "--returned", "2024-05-28T08:00")),
        (june3, ("cerar", "missing", "CE-C-9", "--from", "2024-06-01T20:00",
                 "--returned", "2024-06-02T08:00")),
        (june3, ("cerar", "rhi", "CE-C-9", "M1", "--outcome", "held",
                 "--at", "2024-05-22T10:00")),
        (june3, ("cerar", "strategy-meeting", "CE-C-9")),
        (june3, ("cerar", "show", "CE-C-9")),
        (june3, ("cerar", "list")),
        (june3, ("cerar", "open", "--child", "C-8", "--concern-on", "2024-06-03",
                 "--agency", "school", "--area", "cumberland")),
        (june3, ("cerar", "close", "CE-C-8", "--reason", "no exploitation concern")),
        (june3, ("cerar", "open", "--child", "C-7", "--concern-on", "2024-06-03",
                 "--agency", "school", "--area", "cumberland")),
        (june3, ("cerar", "screen", "CE-C-7")),
        (june3, ("cerar", "assess", "CE-C-7", "--level", "low")),
        (june3, ("cerar", "step-down", "CE-C-7", "--to", "early_help",
                 "--service", "Family help")),
        (june3, ("cdop", "open", "--child", "C-20", "--area", "cumberland",
                 "--known-at", "2024-06-03T08:00")),
        (june3, ("cdop", "notify", "CDR-C-20", "--died-on", "2024-06-02", "--age-band",
                 "0_to_27_days", "--sex", "male", "--expected", "no", "--jar", "yes",
                 "--jar-reason", "sudden_unexplained", "--abuse-or-neglect", "suspected")),
        (june3, ("cdop", "request", "CDR-C-20", "--agency", "Police")),
        (june4, ("cdop", "received", "CDR-C-20", "--agency", "Police")),
        (june4, ("cdop", "link", "CDR-C-20", "PR-1")),
        (june4, ("cdop", "refer", "CDR-C-20", "--ref", "PR-2")),
        (june4, ("cdop", "meeting", "CDR-C-20")),
        (june4, ("cdop", "review", "CDR-C-20", "--category", "10", "--modifiable", "no")),
        (june4, ("cdop", "ncmd", "CDR-C-20")),
        (june4, ("cdop", "close", "CDR-C-20")),
        (june4, ("cdop", "show", "CDR-C-20")),
        (june4, ("cdop", "list")),
        (june3, ("mace", "series", "create", "--name", "North", "--every", "2w",
                 "--weekday", "wednesday", "--time", "10:00", "--chair", ME,
                 "--member", ME, "--starts-on", "2024-06-03", "--horizon-days", "40",
                 "--area", "cumberland")),
        (june3, ("mace", "series", "change", "North", "--member", ME, "--member", "zed")),
        (june3, ("mace", "series", "show", "North")),
        (june3, ("mace", "series", "list")),
        (june3, ("mace", "series", "invite", "North", "--out", str(tmp / "series.ics"))),
        (june3, ("mace", "generate")),
        (june3, ("mace", "meetings")),
        (june3, ("mace", "show", MEETING)),
        (june3, ("mace", "agenda", MEETING)),
        (june3, ("mace", "item", MEETING, "--kind", "theme", "--text", "county lines")),
        (june3, ("mace", "publish", MEETING)),
        (june3, ("mace", "invite", MEETING, "--out", str(tmp / "meeting.ics"))),
        (june5, ("mace", "hold", MEETING, "--present", f"police={ME}")),
        (june5, ("mace", "decide", MEETING, "CE-C-9", "--decision", "review_done")),
        (june5, ("mace", "action", "add", MEETING, "--summary", "Share school attendance",
                 "--owner", ME, "--agency", "education", "--due", "2024-06-12",
                 "--child", "CE-C-9")),
        (june5, ("mace", "action", "add", MEETING, "--summary", "Visit the park",
                 "--owner", ME, "--agency", "police", "--due", "2024-06-12")),
        (june5, ("mace", "action", "list")),
        (june5, ("mace", "action", "done", MEETING, "A1")),
        (june5, ("mace", "action", "drop", MEETING, "A2", "--reason", "taken over")),
        (june5, ("mace", "minutes", MEETING)),
        (june5, ("mace", "close", MEETING)),
        (june5, ("mace", "reschedule", "MACE-North-2024-06-19", "--on", "2024-06-20",
                 "--reason", "room", "--out", str(tmp / "moved.ics"))),
        (june5, ("mace", "cancel", "MACE-North-2024-07-03", "--reason", "no quorum",
                 "--out", str(tmp / "cancel.ics"))),
        (june5, ("alerts", "list")),
        (june5, ("notifications", "list")),
        (june5, ("notifications", "show", "1")),
        (june5, ("notifications", "preview", "reminder", "--case", "CE-C-9")),
        (june5, ("notifications", "dispatch")),
        (june5, ("notifications", "retry", "--all-failed")),
        (june5, ("scheduler", "run", "--once")),
        (june5, ("status",)),
        (june5, ("report", "annual", "--from", "2024-04-01", "--to", "2025-03-31")),
        (june5, ("retention", "run", "--dry-run")),
        (june5, ("user", "update", "zed", "--email", "zed.z@example.org")),
        (june5, ("user", "disable", "zed")),
        (june5, ("user", "enable", "zed")),
        (june5, ("audit", "log")),
        (june5, ("audit", "rotate-key")),  # run with SAFEGUARD_AUDIT_KEY set (see below)
        (june5, ("audit", "verify")),
    ]
    return steps


def _leaves(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    ctx = click.Context(group)
    out: list[tuple[str, ...]] = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        if isinstance(command, click.Group):
            out += _leaves(command, (*prefix, name))
        else:
            out.append((*prefix, name))
    return out


def _path(argv: tuple[str, ...]) -> tuple[str, ...]:
    """The command path of an argv (its leading words that name groups and a command)."""
    leaves = set(_leaves(main))
    for n in range(len(argv), 0, -1):
        if argv[:n] in leaves:
            return argv[:n]
    raise AssertionError(f"no command in {argv}")


def _records(db: Database) -> list[Any]:
    with db.begin_read() as conn:
        return list(conn.execute(select(AuditRecord.action, AuditRecord.outcome)  # type: ignore[call-overload]
                                 .order_by(AuditRecord.seq)))


def _count(db: Database) -> int:
    with db.begin_read() as conn:
        return int(conn.scalar(select(func.count()).select_from(AuditRecord)) or 0)


def test_the_script_covers_every_command(tmp_path: Path) -> None:
    covered = {_path(argv) for _, argv in _script(tmp_path)} | set(NOT_AUDITED)
    missing = set(_leaves(main)) - covered
    assert not missing, f"commands not in the script: {sorted(missing)}"


@pytest.mark.parametrize("db_url", ["sqlite", pytest.param("postgres",
                                                           marks=pytest.mark.postgres)],
                         indirect=True)
def test_every_command_writes_exactly_one_record_named_for_it(
        db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    config = tmp_path / "safeguard.toml"
    config.write_text(f'[notifications]\ntransport = "eml"\neml_dir = "{tmp_path / "eml"}"\n'
                      f'[audit]\nhead_file = "{tmp_path / "head.json"}"\n')
    runner = CliRunner()
    db = Database(db_url)
    seen: list[tuple[tuple[str, ...], int, list[Any]]] = []
    try:
        for now, argv in _script(tmp_path):
            before = _count(db) if argv != ("init",) else 0
            if argv == ("audit", "rotate-key"):  # from no key to a key; later steps use it
                monkeypatch.setenv("SAFEGUARD_AUDIT_KEY", "the partnership's new key")
            result = runner.invoke(main, ["--db", db_url, "--config", str(config),
                                          "--now", now, *argv])
            assert result.exit_code == 0, (argv, result.output)
            path = _path(argv)
            added = _records(db)[before:]
            seen.append((path, len(added), added))
            if path in NOT_AUDITED:
                assert added == [], (argv, added)
                continue
            assert len(added) == 1, (argv, added)
            expected = NAMED.get(path, ".".join(path).replace("-", "_"))
            assert tuple(added[0]) == (expected, "ok"), (argv, added)
        if argv == ("audit", "verify"):
            assert "intact" in result.output
        listed = json.loads(runner.invoke(main, ["--db", db_url, "--config", str(config),
                                                 "audit", "log", "--json"]).output)
        assert listed and all(e["outcome"] == "ok" for e in listed)
    finally:
        db.dispose()
