"""The CERAR service on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from engine.app import App
from engine.core.clock import FixedClock
from engine.core.errors import FieldError, TransitionNotAllowedError, UsageError
from engine.core.store.database import Database
from engine.core.store.models import CaseEvent, Deadline, MissingEpisode
from engine.domains.cerar.service import CerarService, EpisodeNotFoundError
from tests.conftest import london

D = dt.date.fromisoformat


@pytest.fixture
def cerar(app: App) -> CerarService:
    return app.cerar


def _assessed(cerar: CerarService, clock: FixedClock, level: str = "medium",
              child: str = "C-1") -> str:
    clock.set(london("2024-06-03 09:00"))
    view = cerar.open(child, "2024-06-03", "police", "cumberland", "amy",
                      extra={"child_name": "Jo Bloggs"})
    ref = view.case.ref
    cerar.fire(ref, "screen", {"screened_on": "2024-06-03"}, "amy")
    clock.set(london("2024-06-05 14:00"))
    cerar.fire(ref, "assess", {"assessed_on": "2024-06-05", "risk_level": level}, "mgr")
    return ref


def _due(view: object, name: str, status: str = "open") -> list[str]:
    return [d.due for d in view.case.deadlines  # type: ignore[attr-defined]
            if d.name == name and d.status == status]


def _counts(db: Database) -> tuple[int, ...]:
    with db.read() as s:
        return tuple(int(s.scalar(select(func.count()).select_from(m)) or 0)
                     for m in (CaseEvent, Deadline, MissingEpisode))


def test_open_assess_review_and_level_change(cerar: CerarService, clock: FixedClock) -> None:
    clock.set(london("2024-06-03 09:00"))
    view = cerar.open("C-1", "2024-06-03", "police", "cumberland", "amy")
    assert view.case.ref == "CE-C-1" and view.case.state == "screening"
    assert _due(view, "initial_assessment") == ["2024-06-17"]  # 10 working days
    ref = _assessed(cerar, clock, child="C-2")
    view = cerar.show(ref, "amy")
    assert _due(view, "initial_assessment", "met") == ["2024-06-17"]
    assert _due(view, "review") == ["2024-07-17"]  # 6 weeks (medium) from 5 June

    clock.set(london("2024-06-20 11:00"))
    view = cerar.fire(ref, "change_risk_level", {"risk_level": "high",
                                                 "level_change_reason": "new intelligence"},
                      "mgr")
    assert _due(view, "review") == ["2024-07-18"]  # 4 weeks from the day of the change
    [review] = [d for d in view.case.deadlines if d.name == "review"]
    assert "risk_level=high" in review.rule
    history = cerar.engine.history(ref, "amy")
    assert history[-1].changes["risk_level"] == ["medium", "high"]
    assert history[-1].changes["level_change_reason"] == [None, "new intelligence"]

    clock.set(london("2024-07-16 10:00"))
    view = cerar.fire(ref, "record_review", {"reviewed_on": "2024-07-16"}, "mgr")
    assert _due(view, "review", "met") == ["2024-07-18"]
    assert _due(view, "review") == ["2024-08-13"]  # the next one, 4 weeks on

    with pytest.raises(UsageError, match="already at level 'high'"):
        cerar.fire(ref, "change_risk_level", {"risk_level": "high",
                                              "level_change_reason": "x"}, "mgr")


def test_missing_episodes_rhis_and_the_strategy_meeting(
        cerar: CerarService, clock: FixedClock, db: Database) -> None:
    ref = _assessed(cerar, clock)
    clock.set(london("2024-06-06 09:00"))
    view = cerar.record_missing(ref, "2024-06-01T20:00", "2024-06-02T08:00", "coord")
    assert [(d.key, d.due) for d in view.case.deadlines if d.name == "rhi"] == [
        ("M1", "2024-06-05T08:00+01:00")]  # 72 clock hours, already breached
    clock.set(london("2024-06-12 09:00"))
    view = cerar.record_missing(ref, "2024-06-10T19:00", "2024-06-11T21:30", "coord")
    assert view.raised == ()
    clock.set(london("2024-07-01 09:00"))
    # The window counts from the first return's day (2 June): 1 July is its day 30.
    view = cerar.record_missing(ref, "2024-06-30T22:00", "2024-07-01T07:00", "coord")
    assert view.raised == ("strategy_meeting",)
    assert _due(view, "strategy_meeting") == ["2024-07-03"]  # 2 working days after 1 July
    assert view.case.data["mace_flag"] == "yes"
    assert [(e.episode, e.rhi_outcome) for e in view.episodes] == [
        ("M1", None), ("M2", None), ("M3", None)]
    open_rhis = sorted(d.key or "" for d in view.case.deadlines
                       if d.name == "rhi" and d.status != "met")
    assert open_rhis == ["M1", "M2", "M3"]

    view = cerar.record_rhi(ref, "M2", "declined", "2024-07-01T10:00", "coord",
                            "young person declined; offered again")
    rhis = {d.key: d.status for d in view.case.deadlines if d.name == "rhi"}
    assert rhis == {"M1": "breached", "M2": "breached", "M3": "open"}
    view = cerar.record_rhi(ref, "M3", "held", "2024-07-02T10:00", "coord")
    assert {d.key: d.status for d in view.case.deadlines if d.name == "rhi"}["M3"] == "met"

    before = _counts(db)
    with pytest.raises(UsageError, match="needs the reason"):
        cerar.record_rhi(ref, "M1", "declined", "2024-07-02T10:00", "coord")
    with pytest.raises(EpisodeNotFoundError, match="M1, M2, M3"):
        cerar.record_rhi(ref, "M9", "held", "2024-07-02T10:00", "coord")
    with pytest.raises(UsageError, match="already recorded"):
        cerar.record_rhi(ref, "M3", "held", "2024-07-02T10:00", "coord")
    with pytest.raises(UsageError, match="in the future"):
        cerar.record_missing(ref, "2024-07-01T08:00", "2024-07-05T08:00", "coord")
    with pytest.raises(UsageError, match="cannot return before"):
        cerar.record_missing(ref, "2024-06-20T08:00", "2024-06-19T08:00", "coord")
    assert _counts(db) == before


def test_two_returns_thirty_one_days_apart_do_not_raise(cerar: CerarService,
                                                        clock: FixedClock) -> None:
    ref = _assessed(cerar, clock)
    clock.set(london("2024-07-10 09:00"))
    for went, back in (("2024-06-01T20:00", "2024-06-02T08:00"),
                       ("2024-06-20T20:00", "2024-06-21T08:00"),
                       ("2024-07-02T20:00", "2024-07-03T08:00")):  # day 32 from 2 June
        view = cerar.record_missing(ref, went, back, "coord")
        assert view.raised == ()


def test_step_down_and_close_end_open_clocks(cerar: CerarService, clock: FixedClock) -> None:
    ref = _assessed(cerar, clock)
    clock.set(london("2024-06-10 09:00"))
    cerar.record_missing(ref, "2024-06-08T20:00", "2024-06-09T08:00", "coord")
    view = cerar.fire(ref, "step_down", {"stepped_down_on": "2024-06-10",
                                         "step_down_to": "early_help",
                                         "receiving_service": "Early Help North"}, "mgr")
    assert view.case.state == "stepped_down"
    assert {d.name: d.status for d in view.case.deadlines} == {
        "initial_assessment": "met", "review": "cancelled", "rhi": "cancelled"}
    with pytest.raises(TransitionNotAllowedError):
        cerar.fire(ref, "record_review", {"reviewed_on": "2024-06-10"}, "mgr")

    other = _assessed(cerar, clock, child="C-2")
    view = cerar.fire(other, "close", {"closed_on": "2024-06-10", "close_reason": "moved"},
                      "mgr")
    assert all(d.status in ("met", "cancelled") for d in view.case.deadlines)


def test_children_list_orders_by_risk_and_hides_names(cerar: CerarService,
                                                      clock: FixedClock) -> None:
    _assessed(cerar, clock, "low", "C-LOW-1")
    _assessed(cerar, clock, "high", "C-HIGH-1")
    _assessed(cerar, clock, "medium", "C-MED-1")
    rows = cerar.children("amy")
    assert [(r.child_ref, r.next_review) for r in rows] == [
        ("C-HIGH-1", "2024-07-03"), ("C-MED-1", "2024-07-17"), ("C-LOW-1", "2024-08-28")]
    assert "Jo Bloggs" not in str([r.to_json() for r in rows])
    assert [r.child_ref for r in cerar.children("amy", level="medium")] == ["C-MED-1"]
    soon = cerar.children("amy", review_before=D("2024-07-17"))
    assert [r.child_ref for r in soon] == ["C-HIGH-1"]
    assert "child_name" not in cerar.show("CE-C-LOW-1", "amy").to_json()["data"]


def test_bad_input_names_the_problem(cerar: CerarService, clock: FixedClock) -> None:
    with pytest.raises(FieldError, match="child_ref"):
        cerar.open("Jo Bloggs", "2024-06-03", "police", "cumberland", "amy", ref="CE-9")
    with pytest.raises(UsageError, match="not a usable case reference"):
        cerar.open("Jo Bloggs", "2024-06-03", "police", "cumberland", "amy")
    ref = _assessed(cerar, clock)
    with pytest.raises(FieldError, match="risk_level' must be one of"):
        cerar.fire(ref, "change_risk_level", {"risk_level": "severe",
                                              "level_change_reason": "x"}, "mgr")
    with pytest.raises(UsageError, match="cerar missing"):
        cerar.fire(ref, "record_missing_episode", {}, "coord")
