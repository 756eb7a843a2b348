"""A reference the user may not see is answered exactly as one that does not exist.

Every command that takes a case reference, a meeting or an outbox message id is run by a user
who holds every case role, but for the north area only: once with a real case (meeting,
message) of the south area, once with a reference that names nothing. The exit code and the
message (with the reference itself put aside) must be the same, so a refusal never confirms
that a case exists. A reference of the user's own area is checked to work, so the test cannot
pass because every command fails.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli import main
from engine.core.access import PARTNERSHIP_WIDE
from engine.core.roles import ROLES

NOW = "2024-06-04T09:00"
ROOT = "root"
USER = "n.north"  # every case role, north only
OPEN_PR = ("--set", "became_aware_on=2024-06-03", "--set", "child_ref=C-1",
           "--set", "label=alike")


def _run(db: Path, login: str, *args: str, now: str = NOW) -> Result:
    return CliRunner().invoke(main, ["--db", f"sqlite:///{db}", "--now", now, *args],
                              env={"LOGNAME": login, "USER": login})


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("alike") / "d.db"
    steps: list[tuple[str, ...]] = [
        ("init",), ("area", "add", "north", "--name", "North"),
        ("area", "add", "south", "--name", "South"),
        ("user", "add", USER, "--name", "N", "--email", "n@example.org", "--agency", "LA"),
        # someone with an address in the south, so its cases have mail in the outbox
        ("user", "add", "s.south", "--name", "S", "--email", "s@example.org", "--agency", "LA"),
        ("user", "grant", "s.south", "case_review_chair", "--area", "south"),
        ("user", "grant", "s.south", "business_support", "--area", "south"),
        *[("user", "grant", ROOT, role) for role in sorted(ROLES) if role != "administrator"],
        *[("user", "grant", USER, role, "--area", "north")
          for role in sorted(ROLES) if role not in PARTNERSHIP_WIDE],
    ]
    for area in ("north", "south"):
        tag = area[0].upper()
        steps += [
            ("case", "open", "practice_review", "--ref", f"PR-{tag}1", "--area", area,
             *OPEN_PR),
            ("cerar", "open", "--child", f"{tag}1", "--concern-on", "2024-06-03",
             "--agency", "police", "--area", area),
            ("cerar", "screen", f"CE-{tag}1"),
            ("cerar", "assess", f"CE-{tag}1", "--level", "high"),
            ("mace", "series", "create", "--name", area.title(), "--area", area, "--every",
             "2w", "--weekday", "wednesday", "--time", "10:00", "--chair",
             USER if area == "north" else ROOT, "--member", ROOT, "--horizon-days", "30"),
            ("cerar", "missing", f"CE-{tag}1", "--from", "2024-06-01T22:00", "--returned",
             "2024-06-02T09:00"),
        ]
    for args in steps:
        result = _run(db, ROOT, *args, now="2024-06-03T09:00")
        assert result.exit_code == 0, (args, result.output)
    # alerts and their emails for both areas' deadlines (outbox messages about south cases)
    swept = _run(db, ROOT, "scheduler", "run", "--once", now="2024-06-14T09:00")
    assert swept.exit_code == 0, swept.output
    return db


def _south_message(db: Path) -> str:
    """The id of an outbox message about a south case (the series' invitations)."""
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT o.id FROM outbox o JOIN \"case\" c ON c.id = o.case_id "
            "WHERE c.area = 'south' ORDER BY o.id"
        ).fetchone()
    assert row is not None, "no message about a south case"
    return str(row[0])


# Each command with {ref} where the reference goes: (the south one, one that names nothing,
# the north one the user may use).
CASE = ("PR-S1", "PR-S9", "PR-N1")
CHILD = ("CE-S1", "CE-S9", "CE-N1")
MEETING = ("MACE-South-2024-06-05", "MACE-South-2024-06-12", "MACE-North-2024-06-05")
COMMANDS: dict[str, tuple[tuple[str, str, str], tuple[str, ...]]] = {
    "case show": (CASE, ("case", "show", "{ref}")),
    "case history": (CASE, ("case", "history", "{ref}")),
    "case advance": (CASE, ("case", "advance", "{ref}", "notify", "--set",
                            "notified_on=2024-06-04")),
    "case correct": (CASE, ("case", "correct", "{ref}", "--set", "label=x")),
    "case export": (CASE, ("case", "export", "{ref}", "--out", "-")),
    "case hold": (CASE, ("case", "hold", "{ref}", "--reason", "inquiry")),
    "case release": (CASE, ("case", "release", "{ref}")),
    "notifications preview": (CASE, ("notifications", "preview", "due", "--case",
                                     "{ref}")),
    "cerar show": (CHILD, ("cerar", "show", "{ref}")),
    "cerar screen": (CHILD, ("cerar", "screen", "{ref}")),
    "cerar assess": (CHILD, ("cerar", "assess", "{ref}", "--level", "low")),
    "cerar level": (CHILD, ("cerar", "level", "{ref}", "--level", "low", "--reason", "r")),
    "cerar review": (CHILD, ("cerar", "review", "{ref}")),
    "cerar flag": (CHILD, ("cerar", "flag", "{ref}")),
    "cerar missing": (CHILD, ("cerar", "missing", "{ref}", "--from", "2024-06-03T22:00",
                              "--returned", "2024-06-04T08:00")),
    "cerar rhi": (CHILD, ("cerar", "rhi", "{ref}", "M1", "--outcome", "held", "--at",
                          "2024-06-03T11:00")),
    "cerar strategy-meeting": (CHILD, ("cerar", "strategy-meeting", "{ref}")),
    "cerar placement": (CHILD, ("cerar", "placement", "{ref}", "--none")),
    "cerar step-down": (CHILD, ("cerar", "step-down", "{ref}", "--to", "early_help",
                                "--service", "s")),
    "cerar close": (CHILD, ("cerar", "close", "{ref}", "--reason", "r")),
    "mace decide (child)": (CHILD, ("mace", "decide", MEETING[2], "{ref}", "--decision",
                                    "level_confirmed")),
    "mace action add (child)": (CHILD, ("mace", "action", "add", MEETING[2], "--summary",
                                        "s", "--owner", USER, "--agency", "a", "--due",
                                        "2024-06-20", "--child", "{ref}")),
    "mace show": (MEETING, ("mace", "show", "{ref}")),
    "mace agenda": (MEETING, ("mace", "agenda", "{ref}")),
    "mace item": (MEETING, ("mace", "item", "{ref}", "--kind", "theme", "--text", "t")),
    "mace publish": (MEETING, ("mace", "publish", "{ref}")),
    "mace hold": (MEETING, ("mace", "hold", "{ref}", "--present", "police=x")),
    "mace decide (meeting)": (MEETING, ("mace", "decide", "{ref}", CHILD[2], "--decision",
                                        "level_confirmed")),
    "mace action add": (MEETING, ("mace", "action", "add", "{ref}", "--summary", "s",
                                  "--owner", USER, "--agency", "a", "--due", "2024-06-20")),
    "mace action done": (MEETING, ("mace", "action", "done", "{ref}", "A1")),
    "mace action drop": (MEETING, ("mace", "action", "drop", "{ref}", "A1", "--reason",
                                   "taken over")),
    "mace action list": (MEETING, ("mace", "action", "list", "--meeting", "{ref}")),
    "mace minutes": (MEETING, ("mace", "minutes", "{ref}")),
    "mace close": (MEETING, ("mace", "close", "{ref}")),
    "mace cancel": (MEETING, ("mace", "cancel", "{ref}", "--reason", "r")),
    "mace reschedule": (MEETING, ("mace", "reschedule", "{ref}", "--on", "2024-06-06",
                                  "--reason", "r")),
    "mace invite": (MEETING, ("mace", "invite", "{ref}", "--out", "-")),
}
# Commands whose own-area run changes the case so a second run would differ: not needed,
# each parametrised case runs the hidden and the unknown reference only.


def _answer(result: Result, ref: str) -> tuple[int, str, str]:
    return (result.exit_code, result.stdout.replace(ref, "{ref}"),
            result.stderr.replace(ref, "{ref}"))


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_hidden_and_unknown_references_answer_alike(world: Path, name: str) -> None:
    (hidden, unknown, _own), template = COMMANDS[name]
    args = [part.replace("{ref}", hidden) for part in template]
    refused = _run(world, USER, *args)
    missing = _run(world, USER, *[part.replace("{ref}", unknown) for part in template])
    assert refused.exit_code != 0, (name, refused.output)
    assert "Traceback" not in refused.output and refused.stderr.count("\n") == 1, \
        refused.output
    assert _answer(refused, hidden) == _answer(missing, unknown), name


@pytest.mark.parametrize("command", [("notifications", "show"), ("notifications", "retry")])
def test_notification_of_another_area_is_answered_as_none(world: Path,
                                                          command: tuple[str, str]) -> None:
    hidden = _south_message(world)
    refused = _run(world, USER, *command, hidden)
    missing = _run(world, USER, *command, "99999")
    assert refused.exit_code != 0
    assert _answer(refused, hidden) == _answer(missing, "99999")
    assert _run(world, ROOT, "notifications", "show", hidden).exit_code == 0


@pytest.mark.parametrize("name", ["case show", "cerar show", "mace show", "mace agenda"])
def test_the_users_own_area_is_shown(world: Path, name: str) -> None:
    (_hidden, _unknown, own), template = COMMANDS[name]
    result = _run(world, USER, *[part.replace("{ref}", own) for part in template])
    assert result.exit_code == 0, result.output
