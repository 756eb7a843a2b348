"""`cerar level --on DATE` (a dated level change) and MACE agenda deadlines that are never
born breached, through click's CliRunner."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import cli_as


@pytest.fixture
def run(db_url: str) -> Any:
    return cli_as(db_url, "coord")


def _child(run: Any) -> None:
    run("2024-06-03T09:00", "cerar", "open", "--child", "C-1", "--concern-on", "2024-06-03",
        "--agency", "police", "--area", "cumberland")
    run("2024-06-03T10:00", "cerar", "screen", "CE-C-1")
    run("2024-06-03T11:00", "cerar", "assess", "CE-C-1", "--level", "high")


def _shown(run: Any, now: str) -> dict[str, Any]:
    return json.loads(run(now, "cerar", "show", "CE-C-1", "--json").output)  # type: ignore[no-any-return]


def _review_due(shown: dict[str, Any]) -> list[str]:
    return [d["due"] for d in shown["deadlines"]
            if d["name"] == "review" and d["status"] == "open"]


def test_a_level_change_dated_in_the_past_reschedules_from_that_day(run: Any) -> None:
    _child(run)
    assert _review_due(_shown(run, "2024-06-20T09:00")) == ["2024-07-01"]  # high: 4 weeks
    run("2024-06-20T09:00", "cerar", "level", "CE-C-1", "--level", "medium", "--reason",
        "engaging with youth work", "--on", "2024-06-10")
    shown = _shown(run, "2024-06-20T09:00")
    assert shown["data"]["risk_level"] == "medium"
    assert shown["data"]["level_changed_on"] == "2024-06-10"
    assert _review_due(shown) == ["2024-07-22"]  # medium: 6 weeks from 10 June, not today
    # Without --on it is today's change, whatever an earlier one recorded.
    run("2024-06-24T09:00", "cerar", "level", "CE-C-1", "--level", "low", "--reason",
        "stable placement")
    assert _review_due(_shown(run, "2024-06-24T09:00")) == ["2024-09-16"]  # 12 weeks


@pytest.mark.parametrize(("on", "needle"), [
    ("2024-06-21", "still to come"),
    ("2024-06-02", "before case 'CE-C-1' opened"),
    ("2024-13-01", "2024-13-01"),
])
def test_a_level_change_on_a_day_to_come_or_before_the_case_is_refused(
        run: Any, on: str, needle: str) -> None:
    _child(run)
    before = _shown(run, "2024-06-20T09:00")
    result = run("2024-06-20T09:00", "cerar", "level", "CE-C-1", "--level", "medium",
                 "--reason", "engaging", "--on", on, code=2)
    line = result.output.strip()
    assert len(line.splitlines()) == 1 and line.startswith("Error:") and needle in line, line
    after = _shown(run, "2024-06-20T09:00")
    assert (after["version"], after["data"], after["deadlines"]) == \
        (before["version"], before["data"], before["deadlines"])


def test_a_meeting_generated_within_two_working_days_is_not_born_with_its_agenda_overdue(
        run: Any) -> None:
    # Created on Tuesday 4 June for Wednesdays: the first meeting is the next day, whose
    # agenda the rule would have wanted by Monday 3 June.
    run("2024-06-04T12:00", "mace", "series", "create", "--name", "North", "--every", "2w",
        "--weekday", "wednesday", "--time", "10:00", "--chair", "chair", "--member", "amy",
        "--horizon-days", "30")

    def agenda(ref: str, now: str) -> dict[str, Any]:
        shown = json.loads(run(now, "mace", "show", ref, "--json").output)
        [deadline] = [d for d in shown["deadlines"] if d["name"] == "agenda"]
        return deadline  # type: ignore[no-any-return]

    first = agenda("MACE-North-2024-06-05", "2024-06-04T12:00")
    assert (first["due"], first["status"]) == ("2024-06-04", "open")
    assert "due the day it started" in first["rule"]
    assert agenda("MACE-North-2024-06-05", "2024-06-04T23:30")["status"] == "open"
    assert agenda("MACE-North-2024-06-05", "2024-06-05T00:30")["status"] == "breached"
    # A meeting far enough ahead keeps the rule's own date.
    later = agenda("MACE-North-2024-06-19", "2024-06-04T12:00")
    assert later["due"] == "2024-06-17" and "started" not in later["rule"]
    # Moved to the next day, it is due the day it moved, not in the past either.
    run("2024-06-19T08:00", "mace", "reschedule", "MACE-North-2024-06-19", "--on",
        "2024-06-20", "--reason", "room booked")
    moved = agenda("MACE-North-2024-06-19", "2024-06-19T08:00")
    assert (moved["due"], moved["status"]) == ("2024-06-19", "open")
