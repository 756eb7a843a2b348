"""The `safeguard cerar` and `safeguard mace` commands through click's CliRunner."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from icalendar import Calendar

from cli import main
from tests.conftest import cli_as

READ_COMMANDS = [
    ("cerar", "show"), ("cerar", "list"), ("mace", "series", "show"), ("mace", "series", "list"),
    ("mace", "meetings"), ("mace", "show"), ("mace", "agenda"), ("mace", "action", "list"),
    ("mace", "generate")]


@pytest.fixture
def run(db_url: str) -> Any:
    return cli_as(db_url, "coord")


def _setup(run: Any) -> None:
    run("2024-06-03T09:00", "cerar", "open", "--child", "C-1", "--concern-on", "2024-06-03",
        "--agency", "police", "--area", "cumberland", "--name", "Jo Bloggs")
    run("2024-06-03T10:00", "cerar", "screen", "CE-C-1")
    run("2024-06-03T11:00", "cerar", "assess", "CE-C-1", "--level", "high")
    run("2024-06-03T12:00", "mace", "series", "create", "--name", "North", "--every", "2w",
        "--weekday", "wednesday", "--time", "10:00", "--chair", "chair", "--member", "amy",
        "--member", "bob", "--horizon-days", "30")


def test_a_meeting_from_the_command_line(run: Any, tmp_path: Path) -> None:
    _setup(run)
    shown = json.loads(run("2024-06-03T12:00", "cerar", "show", "CE-C-1", "--json").output)
    assert shown["state"] == "assessed" and "child_name" not in shown["data"]
    assert [d["due"] for d in shown["deadlines"] if d["name"] == "review"] == ["2024-07-01"]

    out = run("2024-06-03T12:00", "mace", "meetings").output
    assert "MACE-North-2024-06-05" in out and "agenda 2024-06-03" in out
    run("2024-06-03T12:30", "mace", "item", "MACE-North-2024-06-05", "--kind", "theme",
        "--text", "County lines")
    text = run("2024-06-03T13:00", "mace", "publish", "MACE-North-2024-06-05").output
    assert "C-1" in text and "County lines" in text and "Jo Bloggs" not in text
    agenda = json.loads(run("2024-06-03T13:00", "mace", "agenda", "MACE-North-2024-06-05",
                            "--json").output)
    assert agenda["draft"] is False and agenda["children"][0]["risk_level"] == "high"

    ics_file = tmp_path / "meeting.ics"
    out = run("2024-06-03T13:00", "mace", "invite", "MACE-North-2024-06-05", "--out",
              str(ics_file)).output
    assert "METHOD:REQUEST" in out
    event = Calendar.from_ical(ics_file.read_bytes()).walk("VEVENT")[0]
    assert "bob@example.org" in [str(a).removeprefix("mailto:") for a in event["ATTENDEE"]]

    run("2024-06-05T12:00", "mace", "hold", "MACE-North-2024-06-05", "--present",
        "police=bob", "--present", "social care=amy", "--apologies", "health")
    out = run("2024-06-05T12:05", "mace", "decide", "MACE-North-2024-06-05", "CE-C-1",
              "--decision", "level_changed", "--level", "medium", "--reason", "engaging").output
    assert "next review 2024-07-17" in out  # 6 weeks from the day of the change
    run("2024-06-05T12:10", "mace", "action", "add", "MACE-North-2024-06-05", "--summary",
        "Refer to youth service", "--owner", "amy", "--agency", "social care", "--due",
        "2024-06-14", "--child", "CE-C-1")
    actions = json.loads(run("2024-06-05T12:10", "mace", "action", "list", "--open",
                             "--json").output)
    assert [(a["ref"], a["child_ref"], a["due_on"]) for a in actions] == [
        ("A1", "C-1", "2024-06-14")]
    run("2024-06-07T09:00", "mace", "minutes", "MACE-North-2024-06-05")
    err = run("2024-06-07T09:00", "mace", "close", "MACE-North-2024-06-05", code=2).output
    assert err.startswith("Error: meeting 'MACE-North-2024-06-05' still has open actions (A1)")
    # An action the meeting does not have: one line naming the open ones, nothing written.
    shown = run("2024-06-07T09:00", "mace", "show", "MACE-North-2024-06-05", "--json").output
    err = run("2024-06-07T09:00", "mace", "action", "done", "MACE-North-2024-06-05", "A9",
              code=2).output
    assert err.strip() == ("Error: meeting 'MACE-North-2024-06-05' has no action 'A9'; "
                           "open actions: A1")
    assert run("2024-06-07T09:00", "mace", "show", "MACE-North-2024-06-05",
               "--json").output == shown
    plan = json.loads(run("2024-06-07T09:00", "case", "show", "MACE-North-2024-06-05",
                          "--json").output)["plan"]
    assert [(i["ref"], i["owner"], i["due"], i["status"]) for i in plan] == [
        ("A1", "amy", "2024-06-14", "open")]
    run("2024-06-10T09:00", "mace", "action", "done", "MACE-North-2024-06-05", "A1")
    closed = json.loads(run("2024-06-10T09:00", "mace", "close", "MACE-North-2024-06-05",
                            "--json").output)
    assert closed["state"] == "closed"

    cancel_file = tmp_path / "cancel.ics"
    invited = Calendar.from_ical(run("2024-06-10T09:00", "mace", "invite",
                                     "MACE-North-2024-06-19", "--out", "-").output.encode())
    run("2024-06-10T09:00", "mace", "cancel", "MACE-North-2024-06-19", "--reason",
        "no quorum", "--out", str(cancel_file))
    cancelled = Calendar.from_ical(cancel_file.read_bytes())
    assert str(cancelled["METHOD"]) == "CANCEL"
    uid = str(cancelled.walk("VEVENT")[0]["UID"])
    assert uid == str(invited.walk("VEVENT")[0]["UID"]) != str(event["UID"])


def test_an_action_dropped_from_the_command_line(run: Any, db_url: str) -> None:
    from tests.cli.dbstate import dump

    _setup(run)
    meeting = "MACE-North-2024-06-05"
    run("2024-06-03T13:00", "mace", "publish", meeting)
    run("2024-06-05T12:00", "mace", "hold", meeting, "--present", "police=bob")
    for summary in ("Refer to youth service", "Disruption visit to the park"):
        run("2024-06-05T12:10", "mace", "action", "add", meeting, "--summary", summary,
            "--owner", "amy", "--agency", "police", "--due", "2024-06-19")
    now = "2024-06-10T09:00"
    # Bad input: one line, exit 2, nothing written.
    before = dump(db_url)
    for args, message in [
            (("A9", "--reason", "not needed"),
             f"Error: meeting '{meeting}' has no action 'A9'; open actions: A1, A2"),
            (("A1", "--reason", "Jo Bloggs moved away"), "Error: that text names a child"),
            (("A1", "--reason", "no"), "Error: the reason an action is dropped is 3 to 300"),
            (("A1", "--reason", "not needed", "--on", "2024-06-11"),
             "Error: the day 2024-06-11 is still to come"),
            (("A1", "--reason", "not needed", "--on", "10 June"),
             "Error: '10 June' is not a date")]:
        err = run(now, "mace", "action", "drop", meeting, *args, code=2).output
        assert err.startswith(message) and err.count("\n") == 1, err
    assert "Missing option '--reason'" in run(now, "mace", "action", "drop", meeting, "A1",
                                              code=2).output
    assert dump(db_url) == before

    out = run(now, "mace", "action", "drop", meeting, "A1", "--reason",
              "child moved out of the area", "--on", "2024-06-07").output
    assert out.strip() == f"{meeting} A1: dropped 2024-06-07: child moved out of the area"
    err = run(now, "mace", "action", "drop", meeting, "A1", "--reason", "again", code=2).output
    assert err.strip() == f"Error: action A1 of '{meeting}' is already dropped on 2024-06-07"
    listed = run(now, "mace", "action", "list").output
    assert "dropped 2024-06-07" in listed
    assert "Refer to youth service (Dropped: child moved out of the area)" in listed
    assert [(a["ref"], a["status"], a["drop_reason"]) for a in json.loads(run(
        now, "mace", "action", "list", "--json").output)] == [
        ("A1", "dropped", "child moved out of the area"), ("A2", "open", None)]
    shown = run(now, "mace", "show", meeting).output
    assert "dropped 2024-06-07" in shown and "(Dropped: child moved out of the area)" in shown
    case = json.loads(run(now, "case", "show", meeting, "--json").output)
    assert [(i["ref"], i["status"], i["reason"]) for i in case["plan"]] == [
        ("A1", "dropped", "child moved out of the area"), ("A2", "open", None)]
    assert {(d["key"], d["status"]) for d in case["deadlines"] if d["name"] == "action"} == {
        ("A1", "cancelled"), ("A2", "open")}
    run(now, "mace", "minutes", meeting)
    run(now, "mace", "action", "drop", meeting, "A2", "--reason", "taken over")
    assert json.loads(run(now, "mace", "close", meeting, "--json").output)["state"] == "closed"


def test_missing_episodes_from_the_command_line(run: Any) -> None:
    _setup(run)
    out = run("2024-06-03T12:00", "cerar", "missing", "CE-C-1", "--from", "2024-06-01T22:00",
              "--returned", "2024-06-02T09:00").output
    assert "rhi M1" in out and "2024-06-05T09:00+01:00" in out
    shown = json.loads(run("2024-06-03T12:00", "cerar", "rhi", "CE-C-1", "M1", "--outcome",
                           "held", "--at", "2024-06-03T11:00", "--json").output)
    assert [(d["key"], d["status"]) for d in shown["deadlines"] if d["name"] == "rhi"] == [
        ("M1", "met")]
    rows = json.loads(run("2024-06-03T12:00", "cerar", "list", "--json").output)
    assert [(r["child_ref"], r["open_rhis"]) for r in rows] == [("C-1", 0)]


@pytest.mark.parametrize(("args", "code", "message"), [
    (("mace", "show", "NOPE"), 1, "Error: no MACE meeting 'NOPE'"),
    (("mace", "series", "create", "--name", "S", "--every", "weekly", "--weekday", "monday",
      "--time", "10:00", "--chair", "c"), 2, "Error: 'weekly' is not a meeting frequency"),
    (("mace", "series", "create", "--name", "S", "--every", "2w", "--weekday", "sunday",
      "--time", "10:00", "--chair", "c"), 2, "Error: MACE meets on a working day"),
    (("mace", "decide", "MACE-North-2024-06-05", "CE-C-1", "--decision", "review_done"), 2,
     "Error: meeting 'MACE-North-2024-06-05' is 'scheduled'"),
    (("cerar", "level", "CE-C-1", "--level", "high", "--reason", "x"), 2,
     "Error: case 'CE-C-1' is already at level 'high'"),
    (("cerar", "rhi", "CE-C-1", "M7", "--outcome", "held", "--at", "2024-06-03T10:00"), 1,
     "Error: case 'CE-C-1' has no missing episode 'M7'"),
    (("cerar", "missing", "CE-C-1", "--from", "yesterday", "--returned", "2024-06-03"), 2,
     "Error: 'yesterday' is not a date-time"),
    (("mace", "item", "MACE-North-2024-06-05", "--kind", "person", "--text",
      "Older brother of Jo Bloggs"), 2, "Error: that text names a child"),
])
def test_errors_are_one_line(run: Any, args: tuple[str, ...], code: int, message: str) -> None:
    _setup(run)
    result = run("2024-06-03T12:00", *args, code=code)
    assert result.output.startswith(message), result.output
    assert result.output.count("\n") == 1


@pytest.mark.parametrize("command", READ_COMMANDS, ids=" ".join)
def test_every_read_command_takes_json(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0 and "--json" in result.output


def test_help_stays_light() -> None:
    code = ("import sys, cli; from click.testing import CliRunner; "
            "CliRunner().invoke(cli.main, ['mace', '--help']); "
            "CliRunner().invoke(cli.main, ['cerar', '--help']); "
            "print(sorted(m for m in ('sqlalchemy', 'sqlmodel', 'icalendar', 'transitions') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "[]"


def test_access_is_checked_and_the_audit_chain_stays_whole(run: Any, db_url: str) -> None:
    _setup(run)
    runner = CliRunner()

    def as_user(user: str, *args: str) -> Result:
        return runner.invoke(main, ["--db", db_url, "--as", user, "--now", "2024-06-04T09:00",
                                    *args])

    assert as_user("coord", "user", "add", "aud", "--name", "Aud", "--email", "a@x.org",
                   "--agency", "Audit").exit_code == 0
    assert as_user("coord", "user", "grant", "aud", "auditor").exit_code == 0
    hidden = as_user("aud", "cerar", "show", "CE-C-1")  # answered as an unknown reference
    assert hidden.exit_code == 1 and hidden.output.startswith("Error: no case 'CE-C-1'")
    for args in (("mace", "meetings"), ("notifications", "list"), ("alerts", "list")):
        refused = as_user("aud", *args)
        assert refused.exit_code == 3, (args, refused.output)
        assert refused.output.startswith("Error: aud may not"), refused.output
    # A refused command learns nothing of the case (not even its level) and is audited.
    for args in (("cerar", "level", "CE-C-1", "--level", "high", "--reason", "x"),
                 ("mace", "cancel", "MACE-North-2024-06-19", "--reason", "x"),
                 ("mace", "item", "MACE-North-2024-06-19", "--kind", "theme", "--text", "y")):
        refused = as_user("aud", *args)
        assert refused.exit_code in (1, 3), (args, refused.output)  # 1: "no case" (hidden)
        assert "high" not in refused.output.split(":", 2)[-1]
    listed = json.loads(as_user("coord", "cerar", "list", "--json").output)
    assert [c["ref"] for c in listed] == ["CE-C-1"]
    assert json.loads(as_user("aud", "cerar", "list", "--json").output) == []  # not theirs
    verified = as_user("aud", "audit", "verify")
    assert verified.exit_code == 0 and "intact" in verified.output, verified.output
    log = json.loads(as_user("aud", "audit", "log", "--json").output)
    assert {"cerar.show", "cerar.assess"} <= {e["action"] for e in log}
    refusals = {e["action"] for e in log if e["outcome"] == "refused" and e["actor"] == "aud"}
    assert {"cerar.level", "mace.cancel", "mace.item"} <= refusals


def test_invitations_and_cancellations_go_out_by_email(run: Any, db_url: str,
                                                      tmp_path: Path) -> None:
    import email
    import email.policy

    _setup(run)
    config = tmp_path / "mail.toml"
    config.write_text(f'[notifications]\ntransport = "eml"\neml_dir = "{tmp_path / "eml"}"\n')
    runner = CliRunner()

    def cli(*args: str) -> Result:
        result = runner.invoke(main, ["--db", db_url, "--config", str(config), "--as", "coord",
                                      "--now", "2024-06-04T09:00", *args])
        assert result.exit_code == 0, result.output
        return result

    listed = json.loads(cli("notifications", "list", "--json").output)
    invites = [m for m in listed if m["template"] == "invitation"]
    first = "MACE-North-2024-06-05"
    assert {m["to"] for m in invites if first in m["subject"]} == {
        "chair@example.org", "amy@example.org", "bob@example.org"}
    cli("mace", "cancel", "MACE-North-2024-06-19", "--reason", "no quorum")
    cli("notifications", "dispatch")
    sent = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in (tmp_path / "eml").glob("*.eml")]
    cancels = [m for m in sent if m["Subject"].startswith("Cancelled:")]
    assert len(cancels) == 3
    calendar_parts = [p for p in cancels[0].walk() if p.get_content_type() == "text/calendar"]
    assert calendar_parts and calendar_parts[0].get_param("method") == "CANCEL"
    cal = Calendar.from_ical(calendar_parts[0].get_payload(decode=True))
    [event] = cal.walk("VEVENT")
    request = next(m for m in sent if "2024-06-19" in m["Subject"] and
                   m["Subject"].startswith("Invitation"))
    [original] = Calendar.from_ical(next(
        p for p in request.walk() if p.get_content_type() == "text/calendar"
    ).get_payload(decode=True)).walk("VEVENT")
    assert str(event["UID"]) == str(original["UID"])  # the same event, now cancelled
    assert int(event["SEQUENCE"]) > int(original["SEQUENCE"])
    assert not any("Jo Bloggs" in m.as_string() for m in sent)


def _snapshot(run: Any, now: str) -> list[Any]:
    """What the generic route could have changed, as the commands show it."""
    out: list[Any] = []
    for ref in ("MACE-North-2024-06-05", "MACE-North-2024-06-19", "CE-C-1"):
        out.append(json.loads(run(now, "case", "show", ref, "--json").output))
        out.append(json.loads(run(now, "case", "history", ref, "--json").output))
    for args in (("mace", "show", "MACE-North-2024-06-05"), ("mace", "action", "list"),
                 ("cerar", "show", "CE-C-1")):
        out.append(json.loads(run(now, *args, "--json").output))
    return out


# `case advance` with the fields the transition needs, and the command it is refused for.
GENERIC = [
    (("MACE-North-2024-06-05", "record_decision", "decision_case=CE-C-9999",
      "decision=review_done"), "safeguard mace decide"),
    (("MACE-North-2024-06-05", "add_action", "action_ref=A2", "action_due_on=2024-06-20"),
     "safeguard mace action add"),
    (("MACE-North-2024-06-05", "complete_action", "action_ref=A1",
      "action_done_on=2024-06-05"), "safeguard mace action done"),
    (("MACE-North-2024-06-05", "drop_action", "action_ref=A1",
      "action_drop_reason=taken over"), "safeguard mace action drop"),
    (("MACE-North-2024-06-19", "publish_agenda", "agenda_published_on=2024-06-05"),
     "safeguard mace publish"),
    (("MACE-North-2024-06-19", "cancel", "cancel_reason=room"), "safeguard mace cancel"),
    (("MACE-North-2024-06-19", "reschedule", "meeting_on=2024-06-20",
      "starts_at=2024-06-20T09:00:00+00:00", "reschedule_reason=room"),
     "safeguard mace reschedule"),
    (("MACE-North-2024-06-19", "hold", "held_on=2024-06-05"), "safeguard mace hold"),
    (("MACE-North-2024-06-05", "close", "closed_on=2024-06-05"), "safeguard mace close"),
    (("CE-C-1", "record_missing_episode", "episode=M1", "missing_from=2024-06-01T22:00",
      "returned_at=2024-06-02T09:00"), "safeguard cerar missing"),
    (("CE-C-1", "record_rhi", "episode=M1", "rhi_outcome=held", "rhi_at=2024-06-03T11:00"),
     "safeguard cerar rhi"),
    (("CE-C-1", "change_risk_level", "risk_level=low", "level_change_reason=x"),
     "safeguard cerar level"),
]


def test_case_advance_refuses_what_a_domain_command_records(run: Any) -> None:
    _setup(run)
    now = "2024-06-05T12:30"
    run("2024-06-03T13:00", "mace", "publish", "MACE-North-2024-06-05")
    run("2024-06-05T12:00", "mace", "hold", "MACE-North-2024-06-05", "--present", "police=bob")
    run("2024-06-05T12:10", "mace", "action", "add", "MACE-North-2024-06-05", "--summary",
        "Refer to youth service", "--owner", "amy", "--agency", "social care", "--due",
        "2024-06-14", "--child", "CE-C-1")
    before = _snapshot(run, now)
    for (ref, trigger, *values), command in GENERIC:
        sets = [arg for value in values for arg in ("--set", value)]
        result = run(now, "case", "advance", ref, trigger, *sets, code=2)
        assert result.output == (f"Error: '{trigger}' is recorded through '{command}', which "
                                 "also keeps the records and checks that go with it: use that "
                                 "command\n"), result.output
    assert _snapshot(run, now) == before

    # The commands themselves still record them.
    out = json.loads(run(now, "mace", "decide", "MACE-North-2024-06-05", "CE-C-1",
                         "--decision", "level_changed", "--level", "medium", "--reason",
                         "engaging", "--json").output)
    assert out["decision"] == "level_changed"
    run(now, "cerar", "missing", "CE-C-1", "--from", "2024-06-01T22:00", "--returned",
        "2024-06-02T09:00")
    shown = json.loads(run(now, "cerar", "show", "CE-C-1", "--json").output)
    assert shown["data"]["risk_level"] == "medium"
    assert [e["episode"] for e in shown["episodes"]] == ["M1"]


def test_case_show_lists_a_domain_owned_step_with_its_command(run: Any) -> None:
    _setup(run)
    text = run("2024-06-03T12:00", "case", "show", "CE-C-1").output
    assert "  record_missing_episode (via safeguard cerar missing)\n" in text
    assert "  change_risk_level (via safeguard cerar level)\n" in text
    assert "  record_review (records, stays)  needs reviewed_on\n" in text
    triggers = json.loads(run("2024-06-03T12:00", "case", "show", "CE-C-1", "--json").output)[
        "triggers"]
    assert {t["name"]: t["via"] for t in triggers}["record_rhi"] == "safeguard cerar rhi"
    assert {t["name"]: t["via"] for t in triggers}["record_review"] is None
    shown = json.loads(run("2024-06-03T12:00", "workflow", "show", "mace_meeting",
                           "--json").output)
    assert {t["trigger"]: t["via"] for t in shown["transitions"]}["hold"] == \
        "safeguard mace hold"


def test_every_via_names_a_command_that_exists() -> None:
    import click

    from engine.core.registry import WorkflowRegistry
    from engine.core.settings import SHIPPED_WORKFLOWS

    found = []
    for definition in WorkflowRegistry.from_directory(SHIPPED_WORKFLOWS):
        for t in definition.transitions:
            if t.via is None:
                continue
            first, *words = t.via.split()
            assert first == "safeguard", t.via
            command: click.Command = main
            for word in words:
                assert isinstance(command, click.Group), t.via
                found_command = command.get_command(click.Context(command), word)
                assert found_command is not None, f"{t.via}: no command '{word}'"
                command = found_command
            assert not isinstance(command, click.Group), t.via
            found.append(t.via)
    assert len(found) == 23  # CERAR 3, MACE 9, child death review 4, CDOP meeting 5, plan 2


@pytest.mark.parametrize("args", [
    ("mace", "decide", "MACE-North-2024-06-05", "CE-C-9999", "--decision", "review_done"),
    ("mace", "action", "add", "MACE-North-2024-06-05", "--summary", "Refer to youth service",
     "--owner", "amy", "--agency", "social care", "--due", "2024-06-14", "--child",
     "CE-C-9999"),
], ids=["decide", "action add"])
def test_a_child_that_does_not_exist_is_refused(run: Any, args: tuple[str, ...]) -> None:
    _setup(run)
    run("2024-06-03T13:00", "mace", "publish", "MACE-North-2024-06-05")
    run("2024-06-05T12:00", "mace", "hold", "MACE-North-2024-06-05", "--present", "police=bob")
    before = _snapshot(run, "2024-06-05T12:30")
    result = run("2024-06-05T12:30", *args, code=1)
    assert result.output == ("Error: no case 'CE-C-9999' in workflow 'cerar'; 'safeguard case "
                             "list' shows the cases\n")
    assert _snapshot(run, "2024-06-05T12:30") == before
