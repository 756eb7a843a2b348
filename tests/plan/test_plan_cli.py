"""`safeguard plan` through click's CliRunner, on SQLite and PostgreSQL: import (CSV and
YAML), re-import, updates with their RAG history, red by rule at a given --now, and every
kind of bad plan file refused with one line naming the row, nothing written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.dbstate import dump
from tests.conftest import cli_as

HEADER = "ref,priority,outcome,action,timescale,responsible,owner\n"
PLAN = HEADER + (
    "BP-1,Neglect,Neglect is identified early,Embed the assessment tool,2024-09,"
    "Area safeguarding groups,amy\n"
    'BP-2,Neglect,Neglect is identified early,"Scrutiny, then an action plan",2024-12-31,'
    "Business group,bob\n")


@pytest.fixture
def run(db_url: str) -> Any:
    return cli_as(db_url, "chair")


def _file(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_import_update_history_and_red_by_rule(run: Any, tmp_path: Path) -> None:
    plan = _file(tmp_path, "plan.csv", PLAN)
    out = run("2024-06-03T09:00", "plan", "import", plan, "--from", "2024-06-03").output
    assert out.strip() == "2 action(s) added: BP-1, BP-2"
    # The same plan again changes nothing.
    again = json.loads(run("2024-06-04T09:00", "plan", "import", plan, "--json").output)
    assert again == {"added": [], "unchanged": ["BP-1", "BP-2"]}

    shown = {a["ref"]: a for a in json.loads(
        run("2024-06-04T09:00", "plan", "show", "--json").output)}
    assert shown["BP-1"]["timescale"] == "2024-09-30"  # a month: its last day
    assert shown["BP-2"]["action"] == "Scrutiny, then an action plan"
    assert shown["BP-1"]["rag_label"] == "Not yet rated" and shown["BP-1"]["history"] == []

    run("2024-07-01T10:00", "--as", "amy", "plan", "update", "BP-1", "--rag", "green",
        "--note", "tool launched")
    run("2024-08-30T10:00", "--as", "amy", "plan", "update", "BP-1", "--rag", "amber",
        "--note", "slipping: training delayed")
    one = json.loads(run("2024-10-01T09:00", "plan", "show", "BP-1", "--json").output)[0]
    assert [(h["by"], h["rag"], h["note"], h["updated_on"]) for h in one["history"]] == [
        ("amy", "green", "tool launched", "2024-07-01"),
        ("amy", "amber", "slipping: training delayed", "2024-08-30")]
    assert one["history"][0]["at"].startswith("2024-07-01T09:00")  # UTC of 10:00 London
    # Past its timescale (30 September) with no update since: red by rule, not by hand.
    assert one["rag"] == "red" and one["red_by_rule"] is True
    assert one["rag_label"] == ("Red (past its timescale of 30 September 2024, no update "
                                "since 30 August 2024)")
    text = run("2024-10-01T09:00", "plan", "show").output
    assert "BP-1  Red (past its timescale of 30 September 2024" in text
    assert "(1 red by rule)" in text
    # The day before, it was still amber: judged at --now.
    before = json.loads(run("2024-09-30T09:00", "plan", "show", "BP-1", "--json").output)[0]
    assert before["rag_label"] == "Amber (at risk)" and before["red_by_rule"] is False
    # An update after the timescale is the owner's rating again; blue completes the action.
    run("2024-10-02T09:00", "plan", "update", "BP-1", "--rag", "blue", "--note", "done")
    done = json.loads(run("2024-10-03T09:00", "plan", "show", "BP-1", "--json").output)[0]
    assert done["state"] == "complete" and done["rag_label"] == "Blue (complete)"
    err = run("2024-10-03T09:00", "plan", "update", "BP-1", "--rag", "green", "--note",
              "x", code=2).output
    assert err.strip() == ("Error: action 'BP-1' is complete: only an open action takes "
                           "updates")


def test_a_yaml_plan(run: Any, tmp_path: Path) -> None:
    plan = _file(tmp_path, "plan.yaml", """
priorities:
  - priority: Learning from practice
    outcomes:
      - outcome: Learning is embedded
        actions:
          - {ref: BP-7, action: Practice week, timescale: 2025-03-31,
             responsible: L&I group, owner: amy}
          - {ref: BP-8, action: Threshold briefings, timescale: 2025-01,
             responsible: L&I group, owner: bob}
""")
    out = run("2024-06-03T09:00", "plan", "import", plan).output
    assert "2 action(s) added: BP-7, BP-8" in out
    shown = json.loads(run("2024-06-03T09:00", "plan", "show", "--json").output)
    assert [(a["ref"], a["priority"], a["timescale"]) for a in shown] == [
        ("BP-7", "Learning from practice", "2025-03-31"),
        ("BP-8", "Learning from practice", "2025-01-31")]


BAD_CSV = [
    (HEADER.replace("owner", "ownr") + "BP-1,a,b,c,2024-09-30,d,amy\n",
     "row 1: unknown column 'ownr' (did you mean 'owner'?)"),
    (HEADER.replace(",owner", "") + "BP-1,a,b,c,2024-09-30,d\n",
     "row 1: the column(s) owner are missing"),
    (HEADER + "BP-1,a,b,c,2024-09-30,d,amy\nBP-2,a,b,,2024-09-30,d,amy\n",
     "row 3: the action is missing"),
    (HEADER + "Jo Bloggs,a,b,c,2024-09-30,d,amy\n", "row 2: the ref 'Jo Bloggs' is not a "
     "reference"),
    (HEADER + "BP-1,a,b,c,30/09/2024,d,amy\n", "row 2: the timescale '30/09/2024' is not a "
     "date"),
    (HEADER + "BP-1,a,b,c,2024-09-30,d,amy\nBP-1,a,b,c,2024-09-30,d,amy\n",
     "row 3: the ref 'BP-1' is also at row 2"),
    (HEADER + "BP-1,a,b,c,2024-09-30,d,amy\nBP-2,a,b,c,2024-09-30,d,amyy\n",
     "row 3: owner 'amyy' is not a registered user (did you mean 'amy'?)"),
    (HEADER + "BP-1,a,b,c,2024-09-30,d,amy,extra\n", "row 2: 8 cells where the header "
     "names 7"),
    (HEADER, "the plan file holds no actions"),
]


@pytest.mark.parametrize(("text", "message"), BAD_CSV)
def test_a_bad_plan_file_is_one_line_and_nothing_is_written(
        run: Any, db_url: str, tmp_path: Path, text: str, message: str) -> None:
    run("2024-06-03T09:00", "plan", "show")  # the database seeded (and its audit record)
    plan = _file(tmp_path, "plan.csv", text)
    before = dump(db_url)
    err = run("2024-06-03T09:00", "plan", "import", plan, code=2).output
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {message}"), lines
    assert dump(db_url) == before


def test_bad_yaml_and_a_changed_action_are_refused(run: Any, db_url: str,
                                                   tmp_path: Path) -> None:
    run("2024-06-03T09:00", "plan", "import", _file(tmp_path, "p.csv", PLAN))
    before = dump(db_url)
    changed = PLAN.replace("2024-12-31", "2025-03-31")
    err = run("2024-06-03T09:00", "plan", "import", _file(tmp_path, "q.csv", changed),
              code=2).output
    assert err.startswith("Error: row 3: action BP-2 is already in the plan with another "
                          "timescale ('2024-12-31', the file says '2025-03-31')")
    yaml_bad = ("priorities:\n  - priority: P\n    outcomes:\n      - outcome: O\n"
                "        actions:\n          - {ref: BP-9, action: A, timescale: 2025-13,"
                " responsible: R, owner: amy}\n")
    err = run("2024-06-03T09:00", "plan", "import", _file(tmp_path, "p.yaml", yaml_bad),
              code=2).output
    assert err.startswith("Error: priorities[0].outcomes[0].actions[0] (BP-9): the timescale "
                          "'2025-13' is not a date")
    err = run("2024-06-03T09:00", "plan", "import", str(tmp_path / "missing.csv"),
              code=2).output
    assert err.startswith("Error: cannot read")
    err = run("2024-06-03T09:00", "plan", "update", "BP-1", "--rag", "green", "--note", "x",
              "--on", "2024-06-10", code=2).output
    assert "still to come" in err
    assert dump(db_url) == before


def test_a_yaml_bomb_is_refused_in_one_line(run: Any, db_url: str, tmp_path: Path) -> None:
    rows = "a: &a [{ref: BP-1}, {ref: BP-1}, {ref: BP-1}, {ref: BP-1}]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(9))
    bomb = rows + "priorities: [{priority: P, outcomes: [{outcome: O, actions: *j}]}]\n"
    run("2024-06-03T09:00", "plan", "show")
    before = dump(db_url)
    err = run("2024-06-03T09:00", "plan", "import", _file(tmp_path, "bomb.yaml", bomb),
              code=2).output
    assert len(err.strip().splitlines()) == 1 and "more than 100 aliases" in err
    assert dump(db_url) == before
