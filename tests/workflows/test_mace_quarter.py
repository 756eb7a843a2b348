"""A quarter of fortnightly MACE meetings with a dozen children, in simulated time through the
CLI (``--now``): agendas, review dates, RHI deadlines, a bank-holiday meeting, invitations
parsed back with ``icalendar``. The database is reopened by every command, so every step
reads what the last one stored.

The series meets on Mondays from 1 July 2024; 26 August is the Summer bank holiday, so that
meeting moves to Tuesday 27 August.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from click.testing import CliRunner
from icalendar import Calendar

from cli import main
from engine.core.calendar import WorkingCalendar
from engine.core.clock import LONDON
from engine.core.store.database import Database
from engine.domains.cerar.rules import risk_rank
from tests.conftest import TEAM, seed_access

D = dt.date.fromisoformat
CAL = WorkingCalendar()
WEEKS = {"low": 12, "medium": 6, "high": 4}
NAMES = [f"Childname{n}" for n in range(1, 15)]  # personal: must never reach an agenda


class Sim:
    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self.runner = CliRunner()

    def run(self, now: str, *args: str) -> str:
        result = self.runner.invoke(main, ["--db", self.db_url, "--as", "coord", "--now", now,
                                           *args], catch_exceptions=False)
        assert result.exit_code == 0, (args, result.output)
        return result.output

    def json(self, now: str, *args: str) -> Any:
        return json.loads(self.run(now, *args, "--json"))


def _open_child(sim: Sim, day: str, n: int, level: str | None) -> str:
    ref = f"CE-C-{n:02d}"
    sim.run(f"{day}T09:00", "cerar", "open", "--child", f"C-{n:02d}", "--concern-on", day,
            "--agency", "police", "--area", "cumberland", "--name", NAMES[n - 1])
    if level:
        sim.run(f"{day}T10:00", "cerar", "screen", ref)
        sim.run(f"{day}T14:00", "cerar", "assess", ref, "--level", level)
    return ref


def _review_due(sim: Sim, now: str, ref: str) -> str | None:
    view = sim.json(now, "cerar", "show", ref)
    due = [d["due"] for d in view["deadlines"] if d["name"] == "review" and d["status"]
           in ("open", "breached")]
    return due[0] if due else None


@pytest.mark.slow
def test_a_quarter_of_fortnightly_mace(db_url: str) -> None:
    sim = Sim(db_url)
    database = Database(db_url)  # what 'safeguard init' does
    database.upgrade()
    seed_access(database, users=(*TEAM, "police.rep", "sc.rep", "health.rep"))
    database.dispose()
    levels = {1: "high", 2: "high", 3: "high", 4: "medium", 5: "medium", 6: "medium",
              7: "medium", 8: "low", 9: "low", 10: "low"}
    for n, level in levels.items():
        _open_child(sim, "2024-06-24", n, level)
    sim.run("2024-06-24T15:00", "cerar", "flag", "CE-C-08", "--reason", "peer group")
    sim.run("2024-06-24T15:00", "cerar", "placement", "CE-C-04", "--placed-in-area-by",
            "Leeds City Council")
    sim.run("2024-06-24T15:00", "cerar", "placement", "CE-C-02", "--placed-out-of-area-in",
            "Lancashire")

    series = sim.json("2024-06-24T16:00", "mace", "series", "create", "--name", "Cumbria",
                      "--every", "2w", "--weekday", "monday", "--time", "10:00",
                      "--chair", "chair", "--member", "police.rep", "--member", "sc.rep",
                      "--member", "health.rep", "--starts-on", "2024-07-01",
                      "--horizon-days", "95")
    meetings = [(m["ref"], m["slot_on"], m["meeting_on"]) for m in series["meetings"]]
    assert meetings == [
        ("MACE-Cumbria-2024-07-01", "2024-07-01", "2024-07-01"),
        ("MACE-Cumbria-2024-07-15", "2024-07-15", "2024-07-15"),
        ("MACE-Cumbria-2024-07-29", "2024-07-29", "2024-07-29"),
        ("MACE-Cumbria-2024-08-12", "2024-08-12", "2024-08-12"),
        ("MACE-Cumbria-2024-08-26", "2024-08-26", "2024-08-27"),  # Summer bank holiday
        ("MACE-Cumbria-2024-09-09", "2024-09-09", "2024-09-09"),
        ("MACE-Cumbria-2024-09-23", "2024-09-23", "2024-09-23")]

    # Children arrive and go missing during the quarter (the dates are explicit).
    happenings: dict[str, list[tuple[str, ...]]] = {
        "2024-07-08": [("open", "11", "")],
        "2024-07-10": [("missing", "CE-C-09", "2024-07-09T21:00", "2024-07-10T02:00")],
        "2024-07-20": [("missing", "CE-C-09", "2024-07-19T20:00", "2024-07-20T09:30")],
        "2024-08-02": [("missing", "CE-C-09", "2024-08-01T22:00", "2024-08-02T06:00"),
                       ("open", "12", "medium")],
        "2024-08-14": [("missing", "CE-C-05", "2024-08-13T18:00", "2024-08-14T07:15")],
    }
    opened = {f"CE-C-{n:02d}": D("2024-06-24") for n in levels}
    for index, (meeting, _slot, day) in enumerate(meetings):
        meeting_day = D(day)
        agenda_day = CAL.subtract_working_days(meeting_day, 2)  # the day it is due
        for when, events in happenings.items():
            previous = D(meetings[index - 1][2]) if index else D("2024-06-24")
            if previous < D(when) <= agenda_day:
                for event in events:
                    if event[0] == "open":
                        opened[_open_child(sim, when, int(event[1]), event[2] or None)] = \
                            D(when)
                    else:
                        _, ref, went, back = event
                        view = sim.json(f"{when}T10:00", "cerar", "missing", ref, "--from",
                                        went, "--returned", back)
                        rhi = [d for d in view["deadlines"] if d["name"] == "rhi"][-1]
                        returned = dt.datetime.fromisoformat(back).replace(tzinfo=LONDON)
                        assert dt.datetime.fromisoformat(rhi["due"]) == \
                            returned + dt.timedelta(hours=72)

        # The agenda, built from the data at publication time.
        agenda = sim.json(f"{agenda_day}T09:00", "mace", "publish", meeting)
        assert agenda["meeting_on"] == day and agenda["draft"] is False
        ranks = [risk_rank(c["risk_level"]) for c in agenda["children"]]
        assert ranks == sorted(ranks), "ordered by level of concern"
        on_agenda = {c["case_ref"]: c for c in agenda["children"]}
        listed = {f"CE-C-{n:02d}" for n, lv in levels.items() if lv in ("high", "medium")}
        assert listed <= set(on_agenda)
        assert "CE-C-08" in on_agenda  # a low-concern child flagged for MACE
        since = D(meetings[index - 1][2]) if index else meeting_day - dt.timedelta(weeks=2)
        new = {ref for ref, c in on_agenda.items() if "new_referral" in c["reasons"]}
        assert new == {ref for ref, day_opened in opened.items() if day_opened > since}
        if index:
            assert "CE-C-10" not in on_agenda  # low, not flagged, nothing new: not listed
        for text in (json.dumps(agenda), sim.run(f"{agenda_day}T09:05", "mace", "agenda",
                                                 meeting)):
            assert not any(name in text for name in NAMES)
        if index == 0:
            assert on_agenda["CE-C-04"]["placing_authority"] == "Leeds City Council"
            assert "placed_in_area" in on_agenda["CE-C-04"]["reasons"]
            assert "placed_out_of_area" in on_agenda["CE-C-02"]["reasons"]
        if meeting == "MACE-Cumbria-2024-07-15":
            assert on_agenda["CE-C-11"]["reasons"] == ["new_referral"]
            assert on_agenda["CE-C-11"]["risk_level"] is None
            assert on_agenda["CE-C-09"]["missing_episodes_since_last_meeting"] == 1
        if meeting == "MACE-Cumbria-2024-08-12":
            # Third return inside 30 days (10 July, 20 July, 2 August): strategy meeting.
            c9 = on_agenda["CE-C-09"]
            assert {"strategy_meeting", "listed"} <= set(c9["reasons"])
            assert c9["strategy_meeting_due"] == "2024-08-06"
            assert "CE-C-12" in on_agenda and "new_referral" in on_agenda["CE-C-12"]["reasons"]
        if meeting == "MACE-Cumbria-2024-08-26":
            assert [r["episode"] for r in on_agenda["CE-C-05"]["rhi_outstanding"]] == ["M1"]

        # The meeting: attendance, a review for every child due before the next meeting,
        # one level change, an action; minutes two days later.
        held = f"{day}T12:00"
        sim.run(held, "mace", "hold", meeting, "--present", "police=police.rep",
                "--present", "social care=sc.rep", "--apologies", "health")
        due_now = [ref for ref, c in on_agenda.items() if "review_due" in c["reasons"]]
        for ref in due_now:
            out = sim.json(held, "mace", "decide", meeting, ref, "--decision", "review_done")
            level = sim.json(held, "cerar", "show", ref)["data"]["risk_level"]
            expect = (meeting_day + dt.timedelta(weeks=WEEKS[level])).isoformat()
            assert [d["due"] for d in out["child"]["deadlines"] if d["name"] == "review"
                    and d["status"] == "open"] == [expect]
        if meeting == "MACE-Cumbria-2024-07-29":
            sim.json(held, "mace", "decide", meeting, "CE-C-06", "--decision", "level_changed",
                     "--level", "high", "--reason", "linked to county lines")
            levels[6] = "high"
            assert _review_due(sim, held, "CE-C-06") == "2024-08-26"  # 4 weeks from the change
        if meeting == "MACE-Cumbria-2024-08-12":
            sim.run(held, "cerar", "strategy-meeting", "CE-C-09", "--on", "2024-08-06")
            sim.run(held, "cerar", "rhi", "CE-C-09", "M3", "--outcome", "declined", "--at",
                    "2024-08-03T11:00", "--note", "declined; offered again")
        sim.run(held, "mace", "action", "add", meeting, "--summary", "Share school attendance",
                "--owner", "sc.rep", "--agency", "social care", "--due",
                (meeting_day + dt.timedelta(days=7)).isoformat(), "--child", "CE-C-01")
        minutes_day = meeting_day + dt.timedelta(days=2)
        sim.run(f"{minutes_day}T09:00", "mace", "minutes", meeting)
        sim.run(f"{minutes_day}T09:30", "mace", "action", "done", meeting, "A1")
        closed = sim.json(f"{minutes_day}T10:00", "mace", "close", meeting)
        assert {d["name"]: d["status"] for d in closed["deadlines"]} == {
            "agenda": "met", "minutes": "met", "action": "met"}

    # A low-concern child who is not listed is reviewed by CERAR outside MACE.
    assert _review_due(sim, "2024-09-16T09:00", "CE-C-10") == "2024-09-16"
    sim.run("2024-09-16T11:00", "cerar", "review", "CE-C-10")
    assert _review_due(sim, "2024-09-16T11:00", "CE-C-10") == "2024-12-09"

    # Every child's review is in the future or was met at a meeting; nothing is overdue.
    children = sim.json("2024-09-24T09:00", "cerar", "list")
    assert len(children) == 12
    assert [c["overdue"] for c in children if c["ref"] not in ("CE-C-09", "CE-C-05",
                                                                "CE-C-11")] == [0] * 9
    ranks = [risk_rank(c["risk_level"]) for c in children]
    assert ranks == sorted(ranks)

    # Invitations: each meeting a standalone event with a UID of its own, for life.
    moved = Calendar.from_ical(sim.run("2024-08-20T09:00", "mace", "invite",
                                       "MACE-Cumbria-2024-08-26", "--out", "-").encode())
    assert str(moved["METHOD"]) == "REQUEST"
    [event] = moved.walk("VEVENT")
    assert str(event["UID"]) == next(m["uid"] for m in series["meetings"]
                                     if m["ref"] == "MACE-Cumbria-2024-08-26")
    assert "RECURRENCE-ID" not in event and "RRULE" not in event
    assert event["DTSTART"].dt == dt.datetime(2024, 8, 27, 10, 0, tzinfo=LONDON)
    assert str(event["ORGANIZER"]) == "mailto:chair@example.org"
    assert len(event["ATTENDEE"]) == 4  # the chair and three members
    whole = Calendar.from_ical(sim.run("2024-09-24T09:00", "mace", "series", "invite",
                                       "Cumbria", "--out", "-").encode())
    # Every meeting of the quarter is behind us: nothing in the past to import.
    assert str(whole["METHOD"]) == "PUBLISH" and whole.walk("VEVENT") == []
    assert not any(name in whole.to_ical().decode() for name in NAMES)
