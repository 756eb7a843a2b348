"""The CLI through click's runner, and once through a real subprocess."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def run(db_url: str) -> object:
    runner = CliRunner()

    def invoke(*args: str, now: str = "2024-06-03T09:00") -> object:
        return runner.invoke(main, ["--db", db_url, "--as", "amy", "--now", now, *args])

    setup = [("init",), ("area", "add", "cumberland", "--name", "Cumberland"),
             ("user", "add", "amy", "--name", "Amy", "--email", "amy@example.org",
              "--agency", "LA")]
    setup += [("user", "grant", "amy", role) for role in (
        "business_support", "case_review_chair", "partnership_manager")]
    for args in setup:  # as the operating-system login, who init made administrator
        result = runner.invoke(main, ["--db", db_url, "--now", "2024-06-03T09:00", *args])
        assert result.exit_code == 0, result.output
    return invoke


def _open(run: object) -> object:
    return run("case", "open", "practice_review", "--ref", "PR-1",  # type: ignore[operator]
               "--set", "became_aware_on=2024-06-03", "--set", "child_ref=C-1",
               "--set", "label=CLI test")


def test_open_advance_show_json(run: object) -> None:
    assert _open(run).exit_code == 0  # type: ignore[attr-defined]
    result = run("case", "advance", "PR-1", "notify", "--set",  # type: ignore[operator]
                 "notified_on=2024-06-07", "--note", "by secure email", now="2024-06-07T10:00")
    assert result.exit_code == 0, result.output
    assert "State: rapid_review" in result.output
    shown = run("case", "show", "PR-1", "--json", now="2024-06-07T10:00")  # type: ignore[operator]
    data = json.loads(shown.output)
    assert {"ref", "workflow", "workflow_version", "state", "data", "available_triggers",
            "deadlines"} <= set(data)
    assert data["state"] == "rapid_review"
    assert data["available_triggers"] == ["submit_rapid_review"]
    assert data["deadlines"][0] == {
        "name": "notification", "cycle": 1, "due": "2024-06-10", "status": "met",
        "rule": "5 working days after became_aware_on", "met_on": "2024-06-07",
        "owner": "business_support", "started_at": data["deadlines"][0]["started_at"],
        "key": None}
    history = json.loads(run("case", "history", "PR-1", "--json").output)  # type: ignore[operator]
    assert [(e["trigger"], e["actor"]) for e in history] == [("open", "amy"), ("notify", "amy")]
    listed = json.loads(run("case", "list", "--json").output)  # type: ignore[operator]
    assert [c["ref"] for c in listed] == ["PR-1"]


def test_human_output_is_a_readable_table(run: object) -> None:
    _open(run)
    result = run("case", "show", "PR-1")  # type: ignore[operator]
    assert "DEADLINE" in result.output and "2024-06-10" in result.output
    assert "notify (-> rapid_review)  needs notified_on" in result.output
    overdue = run("case", "list", "--overdue", now="2024-06-11T09:00")  # type: ignore[operator]
    assert "PR-1" in overdue.output
    assert "No cases." in run("case", "list", "--overdue").output  # type: ignore[operator]


@pytest.mark.parametrize(("args", "code", "message"), [
    (("case", "show", "PR-404"), 1, "no case 'PR-404'"),
    (("case", "advance", "PR-1", "publish", "--set", "published_on=2024-06-07"), 1,
     "not allowed there; allowed: notify"),
    (("case", "advance", "PR-1", "notfy"), 1, "did you mean 'notify'"),
    (("case", "advance", "PR-1", "notify"), 2, "requires 'notified on': add --set notified_on=..."),
    (("case", "advance", "PR-1", "notify", "--set", "notified_on=yesterday"), 2, "not a date"),
    (("case", "advance", "PR-1", "notify", "--set", "notified_on"), 2, "is not FIELD=VALUE"),
    (("case", "open", "practise_review", "--ref", "X"), 1, "did you mean 'practice_review'"),
    (("case", "list", "--workflow", "nope"), 1, "unknown workflow 'nope'"),
    (("case", "list", "--state", "publishd"), 2, "did you mean 'published'"),
])
def test_errors_are_one_line_with_exit_code_and_change_nothing(
        run: object, args: tuple[str, ...], code: int, message: str) -> None:
    _open(run)
    before = run("case", "history", "PR-1", "--json").output  # type: ignore[operator]
    result = run(*args)  # type: ignore[operator]
    assert result.exit_code == code, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert message in lines[0]
    assert "Traceback" not in result.output
    assert run("case", "history", "PR-1", "--json").output == before  # type: ignore[operator]


def test_bad_now_is_a_usage_error(run: object) -> None:
    result = run("case", "list", now="next tuesday")  # type: ignore[operator]
    assert result.exit_code == 2 and "Error: 'next tuesday' is not a date-time" in result.output


def test_uninitialised_database_says_what_to_do(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--db", f"sqlite:///{tmp_path / 'new.db'}",
                                       "case", "list"])
    assert result.exit_code == 1
    assert "not initialised: run 'safeguard init'" in result.output


def test_init_twice_is_harmless(run: object) -> None:
    result = run("init")  # type: ignore[operator]
    assert result.exit_code == 0 and "already at schema" in result.output


def test_workflow_commands(tmp_path: Path) -> None:
    runner = CliRunner()
    listed = json.loads(runner.invoke(main, ["workflow", "list", "--json"]).output)
    assert "practice_review" in [w["name"] for w in listed]
    shown = runner.invoke(main, ["workflow", "show", "practice_review"])
    assert "awaiting_notification (initial)" in shown.output
    diagram = runner.invoke(main, ["workflow", "diagram", "practice_review"]).output
    assert diagram.startswith("stateDiagram-v2")
    assert "awaiting_notification --> rapid_review: notify" in diagram
    ok = runner.invoke(main, ["workflow", "validate",
                              str(ROOT / "workflows" / "practice_review.yaml")])
    assert ok.exit_code == 0 and ok.output.startswith("OK:")
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "workflows" / "practice_review.yaml").read_text()
                   .replace("to: published", "to: publishd"))
    result = runner.invoke(main, ["workflow", "validate", str(bad)])
    assert result.exit_code == 2
    assert "transitions[14].to: unknown state 'publishd' (did you mean 'published'?)" \
        in result.output
    assert "Traceback" not in result.output


def test_correct_command_moves_deadlines(run: object) -> None:
    _open(run)
    result = run("case", "correct", "PR-1", "--set", "became_aware_on=2024-05-31",  # type: ignore[operator]
                 "--note", "logged late", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["deadlines"][0]["due"] == "2024-06-07"


@pytest.mark.slow
def test_real_subprocess_round_trip(tmp_path: Path) -> None:
    env = {**os.environ, "SAFEGUARD_DATABASE_URL": f"sqlite:///{tmp_path / 'sub.db'}"}
    exe = [sys.executable, "-m", "cli"]

    def sh(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*exe, "--now", "2024-06-03T09:00", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)

    for args in [("init",), ("area", "add", "north", "--name", "North"),
                 ("user", "grant", getpass.getuser(), "case_review_chair")]:
        assert sh(*args).returncode == 0
    opened = sh("case", "open", "practice_review", "--ref", "PR-S", "--set",
                "became_aware_on=2024-06-03", "--set", "child_ref=C-2", "--set", "label=sub")
    assert opened.returncode == 0, opened.stderr
    shown = sh("case", "show", "PR-S", "--json")
    assert json.loads(shown.stdout)["deadlines"][0]["due"] == "2024-06-10"
    failed = sh("case", "advance", "PR-S", "publish")
    assert failed.returncode == 1
    assert failed.stderr.startswith("Error: case 'PR-S' is 'awaiting_notification'")
    assert "Traceback" not in failed.stderr


HEAVY = ("sqlalchemy", "sqlmodel", "alembic", "psycopg", "transitions", "yaml", "jinja2",
         "apscheduler", "holidays", "icalendar", "pydantic")
_LOADED_BY_HELP = """
import json, sys
import cli
loaded = {}
for args in (["--help"], ["case", "show", "--help"]):
    try:
        cli.main(args, prog_name="safeguard")
    except SystemExit as exc:
        assert exc.code == 0, (args, exc.code)
    loaded[" ".join(args)] = sorted({m.split(".")[0] for m in sys.modules})
print(json.dumps(loaded))
"""


def test_help_loads_no_heavy_library() -> None:
    """Help starts about as fast as click because it imports no database, state machine,
    YAML or template library (checked in a fresh interpreter; the time itself is measured by
    benchmarks/startup.py)."""
    done = subprocess.run([sys.executable, "-c", _LOADED_BY_HELP], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(loaded) == {"--help", "case show --help"}
    for args, modules in loaded.items():
        assert "click" in modules
        assert not set(HEAVY) & set(modules), (args, sorted(set(HEAVY) & set(modules)))


def test_a_decision_emails_the_chair_once_without_case_details(run: object) -> None:
    _open(run)
    for trigger, value, now in [("notify", "notified_on=2024-06-07", "2024-06-07T10:00"),
                                ("submit_rapid_review", "rr_submitted_on=2024-06-20",
                                 "2024-06-20T10:00"),
                                ("commission_lcspr", "decision_on=2024-07-01",
                                 "2024-07-01T10:00")]:
        result = run("case", "advance", "PR-1", trigger, "--set", value, now=now)  # type: ignore[operator]
        assert result.exit_code == 0, result.output
    listed = json.loads(run("notifications", "list", "--json").output)  # type: ignore[operator]
    events = [m for m in listed if m["template"] == "case_event"]
    assert [(m["to"], m["subject"]) for m in events] == [
        ("amy@example.org", "Case PR-1 is now at stage: an LCSPR has been decided; a reviewer "
         "is to be appointed")]
    shown = run("notifications", "show", str(events[0]["id"]))  # type: ignore[operator]
    assert "CLI test" not in shown.output and "C-1" not in shown.output  # label, child ref
    exported = json.loads(run("case", "export", "PR-1").output)  # type: ignore[operator]
    assert [m["template"] for m in exported["notifications"]] == ["case_event"]


def test_an_unwritable_output_path_is_refused_before_anything_happens(run: object) -> None:
    _open(run)
    result = run("case", "export", "PR-1", "--out", "/nonexistent/dir/x.json")  # type: ignore[operator]
    assert result.exit_code == 2
    assert result.output.startswith("Error: cannot write /nonexistent/dir/x.json")


def test_mail_is_need_to_know_by_area(run: object, db_url: str) -> None:
    _open(run)
    for trigger, value in [("notify", "notified_on=2024-06-07"),
                           ("submit_rapid_review", "rr_submitted_on=2024-06-20"),
                           ("commission_lcspr", "decision_on=2024-07-01")]:
        assert run("case", "advance", "PR-1", trigger, "--set", value).exit_code == 0  # type: ignore[operator]
    runner = CliRunner()

    def as_os_user(*args: str) -> object:
        return runner.invoke(main, ["--db", db_url, "--now", "2024-07-01T10:00", *args])

    for args in (("area", "add", "south", "--name", "South"),
                 ("user", "add", "sam", "--name", "Sam", "--email", "sam@example.org",
                  "--agency", "LA"),
                 ("user", "grant", "sam", "business_support", "--area", "south")):
        assert as_os_user(*args).exit_code == 0  # type: ignore[attr-defined]
    mine = json.loads(run("notifications", "list", "--json").output)  # type: ignore[operator]
    assert any(m["template"] == "case_event" for m in mine)
    theirs = runner.invoke(main, ["--db", db_url, "--as", "sam", "notifications", "list",
                                  "--json"])
    assert json.loads(theirs.output) == []  # nothing of cumberland's
    admin_only = as_os_user("notifications", "list")  # administrators see no case mail
    assert admin_only.exit_code == 3  # type: ignore[attr-defined]


def test_the_first_administrator_gives_themself_an_address_and_mail_can_reach_them(
        db_url: str) -> None:
    """'init' registers its OS login with a placeholder address, so status lists them among
    the people email cannot reach; 'user update --email' is how that is put right."""
    me, runner = getpass.getuser(), CliRunner()

    def as_me(*args: str) -> object:
        result = runner.invoke(main, ["--db", db_url, "--now", "2024-06-03T09:00", *args])
        assert result.exit_code == 0, result.output
        return result

    as_me("init")
    as_me("area", "add", "cumberland", "--name", "Cumberland")
    as_me("user", "grant", me, "partnership_manager")
    board = json.loads(as_me("status", "--json").output)  # type: ignore[attr-defined]
    assert [u["login"] for u in board["unaddressed_users"]] == [me]
    assert "safeguard user update LOGIN --email ADDRESS" in as_me("status").output  # type: ignore[attr-defined]
    told = as_me("user", "update", me, "--email", "manager@partnership.example")
    assert told.output.strip() == f"Updated {me}: email address."  # type: ignore[attr-defined]
    board = json.loads(as_me("status", "--json").output)  # type: ignore[attr-defined]
    assert board["unaddressed_users"] == []
    users = json.loads(as_me("user", "list", "--json").output)  # type: ignore[attr-defined]
    assert [u["email"] for u in users if u["login"] == me] == ["manager@partnership.example"]
