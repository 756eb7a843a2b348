"""`safeguard figures` through click's CliRunner, on SQLite and PostgreSQL: import, list,
re-import (replaced, the history kept), and every kind of bad row refused with one line
naming the row, nothing written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.domains.figures.measures import load_measures, parse_period
from tests.cli.dbstate import dump
from tests.conftest import cli_as

HEADER = "measure,area,period,value,source\n"
GOOD = HEADER + (
    "mash_contacts,cumberland,2023-24,7124,MASH system\n"
    "mash_contacts,partnership,2022-23,12231,MASH system\n"
    'training_events,,2023-24 Q1,21,"CSCP learning system, quarterly"\n'
    "csc_referrals,cumberland,2024-01,\"1,268\",Children's social care\n")


@pytest.fixture
def run(db_url: str) -> Any:
    return cli_as(db_url, "amy")


def _file(tmp_path: Path, text: str, name: str = "figures.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_import_list_and_replace(run: Any, tmp_path: Path) -> None:
    out = run("2024-04-10T11:00", "figures", "import", _file(tmp_path, GOOD)).output
    assert out.strip() == "4 figure(s) added, 0 replaced (the old ones kept), 0 unchanged"
    rows = json.loads(run("2024-04-10T11:00", "figures", "list", "--json").output)
    assert [(r["measure"], r["area"], r["period"], r["value"], r["source"]) for r in rows] == [
        ("mash_contacts", "partnership", "2022-23", "12231", "MASH system"),
        ("mash_contacts", "cumberland", "2023-24", "7124", "MASH system"),
        ("training_events", "partnership", "2023-24 Q1", "21",
         "CSCP learning system, quarterly"),
        ("csc_referrals", "cumberland", "2024-01", "1268", "Children's social care")]
    assert {(r["imported_by"], r["imported_at"][:16]) for r in rows} == {
        ("amy", "2024-04-10T10:00")}
    assert rows[0]["label"] == "Contacts into the Multi-Agency Safeguarding Hub"
    # The same file again: unchanged. A new value: replaced, the old row kept.
    again = json.loads(run("2024-04-11T09:00", "figures", "import", _file(tmp_path, GOOD),
                           "--json").output)
    assert again == {"added": 0, "replaced": 0, "unchanged": 4}
    fixed = HEADER + "mash_contacts,cumberland,2023-24,7130,MASH system (corrected)\n"
    run("2024-04-12T09:00", "--as", "bob", "figures", "import", _file(tmp_path, fixed))
    current = json.loads(run("2024-04-12T09:00", "figures", "list", "--measure",
                             "mash_contacts", "--period", "2023-24", "--json").output)
    assert [(r["value"], r["imported_by"]) for r in current] == [("7130", "bob")]
    history = json.loads(run("2024-04-12T09:00", "figures", "list", "--all", "--measure",
                             "mash_contacts", "--period", "2023-24", "--json").output)
    assert [(r["value"], r["imported_by"], r["replaced_at"] is not None)
            for r in history] == [("7124", "amy", True), ("7130", "bob", False)]
    text = run("2024-04-12T09:00", "figures", "list").output
    assert "Contacts into the Multi-Agency Safeguarding Hub (Cumberland): 7130" in text
    assert rows[0]["area_label"] == "The partnership"


BAD = [
    ("mash_contact,cumberland,2023-24,1,MASH\n",
     "row 3: unknown measure 'mash_contact' (did you mean 'mash_contacts'?)"),
    ("mash_contacts,cumbrland,2023-24,1,MASH\n",
     "row 3: unknown area 'cumbrland' (did you mean 'cumberland'?)"),
    ("mash_contacts,cumberland,2023-25,1,MASH\n", "row 3: the period '2023-25' is not one of"),
    ("mash_contacts,cumberland,2023-24 Q5,1,MASH\n",
     "row 3: the period '2023-24 Q5' is not one of"),
    ("mash_contacts,cumberland,2023-24,-3,MASH\n", "row 3: the value '-3' is negative"),
    ("mash_contacts,cumberland,2023-24,3.5,MASH\n", "row 3: the value '3.5' is not a whole "
     "number"),
    ("mash_contacts,cumberland,2023-24,many,MASH\n", "row 3: the value 'many' is not a number"),
    ("mash_contacts,cumberland,2023-24,3,\n", "row 3: the source is missing"),
    ("mash_contacts,cumberland,2023-24," + "9" * 40 + ",MASH\n",
     "row 3: the value is longer than 32 characters"),
    ("mash_contacts,cumberland,2023-24," + "9" * 5000 + ",MASH\n",
     "row 3: the value is longer than 32 characters"),
    ("mash_contacts,cumberland,2023-24,3,MASH\nmash_contacts,cumberland,2023-24,4,MASH\n",
     "row 4: the same measure, area and period as row 3"),
]


@pytest.mark.parametrize(("body", "message"), BAD)
def test_a_bad_row_is_one_line_and_nothing_is_imported(
        run: Any, db_url: str, tmp_path: Path, body: str, message: str) -> None:
    run("2024-04-10T11:00", "figures", "list")  # seeded
    # A good row first (row 2): nothing of the file is imported when a later row is bad.
    text = HEADER + "training_events,partnership,2023-24,82,LMS\n" + body
    before = dump(db_url)
    err = run("2024-04-10T11:00", "figures", "import", _file(tmp_path, text), code=2).output
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {message}"), lines
    assert dump(db_url) == before


def test_bad_headers(run: Any, tmp_path: Path) -> None:
    err = run("2024-04-10T11:00", "figures", "import",
              _file(tmp_path, "measure,area,period,valu,source\n"), code=2).output
    assert err.startswith("Error: row 1: unknown column 'valu' (did you mean 'value'?)")
    err = run("2024-04-10T11:00", "figures", "import", _file(tmp_path, ""), code=2).output
    assert err.startswith("Error: the figures file is empty")


def test_period_forms_and_the_shipped_measures() -> None:
    year = parse_period("2023-24")
    assert (year.start.isoformat(), year.end.isoformat()) == ("2023-04-01", "2024-03-31")
    q4 = parse_period("2023-24 Q4")
    assert (q4.start.isoformat(), q4.end.isoformat()) == ("2024-01-01", "2024-03-31")
    q2 = parse_period("2023-24Q2")
    assert (q2.text, q2.start.isoformat(), q2.end.isoformat()) == (
        "2023-24 Q2", "2023-07-01", "2023-09-30")
    feb = parse_period("2024-02")
    assert (feb.start.isoformat(), feb.end.isoformat()) == ("2024-02-01", "2024-02-29")
    assert parse_period("2011-12").start.isoformat() == "2011-04-01"  # a year, not December
    for bad in ("2023-25", "2023-13", "2023", "2023-24 Q0", "FY23"):
        with pytest.raises(ValueError):
            parse_period(bad)
    measures = load_measures()
    assert {"mash_contacts", "csc_referrals", "child_protection_plans",
            "children_looked_after", "placed_in_area_by_other_las", "missing_episodes_all",
            "training_events", "elearning_completions"} <= set(measures)
    assert [f"child_deaths_category_{n}" in measures for n in range(1, 11)] == [True] * 10
    assert all(m.count for m in measures.values())
