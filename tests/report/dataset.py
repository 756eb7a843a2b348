"""A small known dataset for the report tests, built through the engine, CERAR and MACE APIs.

Period under test: 2024-04-01 to 2025-03-31. What it holds (the tests count from this):

Practice reviews
- PR-A: notified and rapid review on time; LCSPR decided 2024-07-08, published 2024-11-20
  (135 days, within 6 months); three dissemination tasks recorded; action plan from
  2025-01-13 with A1 done on time (blue), A2 overdue (red), A3 due within two weeks of the
  period's end (amber) and A4 due later (green).
- PR-B: notified late, rapid review late; closed without review.
- PR-C: on time; LCSPR decided 2024-07-22, final approved, deferred (inquest) 2024-12-02:
  past its 6-month target (2025-01-22) at the period's end.
- PR-D: aware 2025-03-24, notified 2025-03-26; rapid review not yet due.
CERAR children (K6 opened and closed before the period)
- K1 high; K2 medium, changed to high at MACE; K3 low, stepped down; K4 screening only;
  K5 medium, placed in the area by Leeds City Council.
- Missing episodes returning in the period: K1 (RHI held in 32 hours; a second declined),
  K2 (RHI held after 82 hours), K5 (returned 2025-03-31, no RHI yet); K2 has one more
  after the period.
MACE: one meeting held 2024-09-16 (K1 reviewed, K2 level changed), the next cancelled;
three actions: A1 done on time, A2 done late, A3 still open.

Two areas: everything above is in Cumberland except what follows, in Westmorland and Furness:
- PR-E (the previous year, 2023-04-01 to 2024-03-31): notified and rapid review on time
  (2023-10), closed without review; nothing of it in the period under test.
- W1: a CERAR child opened 2024-10-07, assessed medium; one missing episode returned
  2024-11-05 03:00, RHI held the same day (within 72 hours).
So the previous year holds PR-E (Westmorland and Furness) and K6 (Cumberland: referred,
assessed low and closed in March 2024); no MACE meeting, no missing episode.

Child deaths (through the CDOP service; each known and notified the day after the death; a
reviewed one has its review meeting, CDOP review, NCMD form and closure on the review day):
- 2023/24: D1 Cumberland, died 2023-06-10, 0-27 days, boy, expected; reviewed 2023-11-15,
  category 8, no modifiable factors. D2 Westmorland and Furness, died 2024-01-20, 28-364
  days, girl, unexpected (a joint agency response); reviewed in the period (2024-07-10),
  category 10, modifiable (parenting, environment).
- 2024/25: D3 Cumberland, died 2024-05-02, 1-4 years, boy, unexpected (a joint agency
  response); D4 Cumberland, died 2024-08-20, 15-17 years, girl, expected; both reviewed
  2024-11-13: D3 category 3, modifiable (environment), D4 category 4, none. D5 Westmorland
  and Furness, died 2025-02-10, 0-27 days, boy, expected; not yet reviewed.
- No CDOP meeting series: a day of reviews is one panel meeting held.
- Imported for the trend (the years before the system): 2022/23, the partnership,
  category 8: 2, category 10: 1 (source "CDOP records").
Business plan (imported 2024-04-02, from 2024-04-01; the partnership's, no area):
- BP-1 (timescale 2024-09-30) green 2024-06-03, no update since: red by rule at the end.
- BP-2 (2025-06-30) green 2024-07-01, amber 2025-01-06. BP-3 (2024-12-31) blue 2024-12-16.
- BP-4 (2025-09-30) no update in the period (green 2025-04-03, after it): not yet rated.
- BP-5 (2025-03-31) green 2025-03-10: due on the last day, so not past it.
Figures from other systems (imported): MASH contacts per area, training events for the
partnership: 2024/25 Cumberland 7124, Westmorland and Furness 5502, training 91; 2023/24
Cumberland 6900, Westmorland and Furness 5600, training 80.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from engine.app import App
from engine.core.clock import FixedClock
from engine.core.service import Engine
from tests.conftest import london

START, END = dt.date(2024, 4, 1), dt.date(2025, 3, 31)
PREVIOUS = dt.date(2023, 4, 1), dt.date(2024, 3, 31)
WF = "westmorland_furness"
D = dt.date.fromisoformat


@dataclass
class Built:
    agenda_children: set[str] = field(default_factory=set)
    meeting: str = ""
    second_meeting: str = ""


def _pr(engine: Engine, clock: FixedClock, ref: str, aware: str,
        steps: list[tuple[str, str, dict[str, str]]], area: str = "cumberland") -> None:
    clock.set(london(f"{aware} 10:00"))
    engine.open_case("practice_review", ref, {
        "became_aware_on": aware, "child_ref": "C-9" + ref[-1], "label": "test"}, "chair",
        area=area)
    for day, trigger, values in steps:
        clock.set(london(f"{day} 15:00"))
        engine.fire(ref, trigger, values, "chair")


def build(app: App, clock: FixedClock) -> Built:
    engine = app.engine
    out = Built()
    clock.set(london("2023-04-01 09:00"))
    app.admin.add_area("mgr", WF, "Westmorland and Furness")
    _pr(engine, clock, "PR-E", "2023-10-02", [
        ("2023-10-04", "notify", {"notified_on": "2023-10-04"}),
        ("2023-10-16", "submit_rapid_review", {"rr_submitted_on": "2023-10-16"}),
        ("2023-10-20", "close_without_review", {"decision_on": "2023-10-20",
                                                "decision_rationale": "learning known"}),
    ], area=WF)
    _pr(engine, clock, "PR-A", "2024-06-03", [
        ("2024-06-07", "notify", {"notified_on": "2024-06-07"}),
        ("2024-06-21", "submit_rapid_review", {"rr_submitted_on": "2024-06-21"}),
        ("2024-07-08", "commission_lcspr", {"decision_on": "2024-07-08"}),
        ("2024-07-15", "appoint_reviewer", {"reviewer": "amy",
                                            "reviewer_appointed_on": "2024-07-15"}),
        ("2024-10-21", "approve_final", {"planned_publication_on": "2024-11-20"}),
        ("2024-11-08", "send_to_panel", {"sent_to_panel_on": "2024-11-08"}),
        ("2024-11-20", "publish", {"published_on": "2024-11-20"}),
        ("2024-12-02", "record_dissemination", {"website_updated_on": "2024-12-02",
                                                "learning_brief_on": "2024-12-02"}),
        ("2025-01-06", "record_dissemination", {"training_reviewed_on": "2025-01-06"}),
        ("2025-01-13", "start_action_plan", {"action_plan_started_on": "2025-01-13"}),
        ("2025-01-14", "add_action", {"action_ref": "A1", "action_summary": "audit",
                                      "action_owner_agency": "LA",
                                      "action_due_on": "2025-02-14"}),
        ("2025-01-14", "add_action", {"action_ref": "A2", "action_summary": "training",
                                      "action_owner_agency": "ICB",
                                      "action_due_on": "2025-03-14"}),
        ("2025-01-14", "add_action", {"action_ref": "A3", "action_summary": "policy",
                                      "action_owner_agency": "Police",
                                      "action_due_on": "2025-04-10"}),
        ("2025-01-14", "add_action", {"action_ref": "A4", "action_summary": "survey",
                                      "action_owner_agency": "LA",
                                      "action_due_on": "2025-06-30"}),
        ("2025-02-10", "complete_action", {"action_ref": "A1", "action_done_on": "2025-02-10"}),
    ])
    _pr(engine, clock, "PR-B", "2024-06-10", [
        ("2024-06-20", "notify", {"notified_on": "2024-06-20"}),
        ("2024-07-05", "submit_rapid_review", {"rr_submitted_on": "2024-07-05"}),
        ("2024-07-10", "close_without_review", {"decision_on": "2024-07-10",
                                                "decision_rationale": "other learning"}),
    ])
    _pr(engine, clock, "PR-C", "2024-07-01", [
        ("2024-07-03", "notify", {"notified_on": "2024-07-03"}),
        ("2024-07-15", "submit_rapid_review", {"rr_submitted_on": "2024-07-15"}),
        ("2024-07-22", "commission_lcspr", {"decision_on": "2024-07-22"}),
        ("2024-08-05", "appoint_reviewer", {"reviewer": "bob",
                                            "reviewer_appointed_on": "2024-08-05"}),
        ("2024-11-25", "approve_final", {"planned_publication_on": "2025-01-10"}),
        ("2024-12-02", "defer_publication", {"deferral_reason": "inquest",
                                             "deferred_on": "2024-12-02"}),
    ])
    _pr(engine, clock, "PR-D", "2025-03-24", [
        ("2025-03-26", "notify", {"notified_on": "2025-03-26"}),
    ])

    cerar = app.cerar

    def child(ref: str, day: str, level: str | None, extra: dict[str, str] | None = None,
              area: str = "cumberland") -> None:
        clock.set(london(f"{day} 09:00"))
        cerar.open(ref[-2:], day, "police", area, "coord", ref=ref, extra=extra)
        if level:
            clock.set(london(f"{day} 10:00"))
            cerar.fire(ref, "screen", {"screened_on": day}, "coord")
            clock.set(london(f"{day} 14:00"))
            cerar.fire(ref, "assess", {"assessed_on": day, "risk_level": level}, "mgr")

    child("CE-K6", "2024-03-01", "low")
    clock.set(london("2024-03-20 10:00"))
    cerar.fire("CE-K6", "close", {"closed_on": "2024-03-20", "close_reason": "no risk"}, "mgr")
    child("CE-K1", "2024-09-02", "high")
    child("CE-K2", "2024-09-02", "medium")
    child("CE-K3", "2024-09-02", "low")
    child("CE-K5", "2024-09-02", "medium", {"placement": "placed_in_area",
                                           "placing_authority": "Leeds City Council"})
    clock.set(london("2024-09-10 09:00"))
    cerar.open("K4", "2024-09-10", "school", "cumberland", "coord", ref="CE-K4")

    mace = app.mace
    clock.set(london("2024-09-06 12:00"))
    view = mace.create_series("Test", "2w", "monday", "10:00", "chair", ["amy"], "coord",
                              starts_on=D("2024-09-16"), horizon_days=30, area="cumberland")
    out.meeting, out.second_meeting = view.meetings[0].ref, view.meetings[1].ref

    def missing(ref: str, went: str, back: str, now: str) -> str:
        clock.set(london(now))
        return str(cerar.record_missing(ref, went, back, "coord").episodes[-1].episode)

    def rhi(ref: str, episode: str, outcome: str, at: str) -> None:
        clock.set(london(at) + dt.timedelta(minutes=5))
        cerar.record_rhi(ref, episode, outcome, at.replace(" ", "T"), "coord",
                         "did not want to talk" if outcome == "declined" else None)

    rhi("CE-K1", missing("CE-K1", "2024-09-10T20:00", "2024-09-11T02:00", "2024-09-11 09:00"),
        "held", "2024-09-12 10:00")
    clock.set(london("2024-09-12 09:00"))
    agenda: dict[str, Any] = mace.publish(out.meeting, "coord")
    out.agenda_children = {c["case_ref"] for c in agenda["children"]}
    clock.set(london("2024-09-16 12:00"))
    mace.hold(out.meeting, "chair", [("police", "amy")])
    mace.decide(out.meeting, "CE-K1", "review_done", "chair")
    mace.decide(out.meeting, "CE-K2", "level_changed", "chair", "high", "new intelligence")
    for due in ("2024-09-30", "2024-10-04", "2024-10-11"):
        mace.add_action(out.meeting, "Share information", "amy", "police", D(due), "chair")
    clock.set(london("2024-09-17 09:00"))
    ep = missing("CE-K2", "2024-09-15T20:00", "2024-09-16T06:00", "2024-09-16 13:00")
    rhi("CE-K2", ep, "held", "2024-09-19 16:00")
    rhi("CE-K1", missing("CE-K1", "2024-09-20T21:00", "2024-09-21T01:00", "2024-09-21 09:00"),
        "declined", "2024-09-22 09:00")
    clock.set(london("2024-09-23 09:00"))
    mace.cancel(out.second_meeting, "coord", "not quorate")
    clock.set(london("2024-09-27 09:00"))
    mace.complete_action(out.meeting, "A1", "coord", D("2024-09-27"))
    clock.set(london("2024-10-01 09:00"))
    cerar.fire("CE-K3", "step_down", {"stepped_down_on": "2024-10-01",
                                      "step_down_to": "early_help",
                                      "receiving_service": "Early help"}, "mgr")
    clock.set(london("2024-10-10 09:00"))
    mace.complete_action(out.meeting, "A2", "coord", D("2024-10-10"))
    child("CE-W1", "2024-10-07", "medium", area=WF)
    rhi("CE-W1", missing("CE-W1", "2024-11-04T21:00", "2024-11-05T03:00",
                         "2024-11-05 09:00"), "held", "2024-11-05 15:00")
    missing("CE-K5", "2025-03-30T20:00", "2025-03-31T03:00", "2025-03-31 09:00")
    missing("CE-K2", "2025-04-04T20:00", "2025-04-05T03:00", "2025-04-05 09:00")
    _deaths(app, clock)
    _plan(app, clock)
    clock.set(london("2025-04-06 09:00"))
    app.figures.import_csv(FIGURES, "mgr")
    return out


FIGURES = ("measure,area,period,value,source\n"
           "mash_contacts,cumberland,2024-25,7124,MASH\n"
           f"mash_contacts,{WF},2024-25,5502,MASH\n"
           "training_events,partnership,2024-25,91,Learning system\n"
           "mash_contacts,cumberland,2023-24,6900,MASH\n"
           f"mash_contacts,{WF},2023-24,5600,MASH\n"
           "training_events,partnership,2023-24,80,Learning system\n"
           "child_deaths_category_8,partnership,2022-23,2,CDOP records\n"
           "child_deaths_category_10,partnership,2022-23,1,CDOP records\n")


def _death(app: App, clock: FixedClock, ref: str, area: str, died: str, band: str,
           sex: str, expected: bool = True, reviewed: str | None = None,
           category: str = "8", domains: tuple[str, ...] = ()) -> None:
    cdop = app.cdop
    clock.set(london(f"{(D(died) + dt.timedelta(days=1)).isoformat()} 09:00"))
    cdop.open(f"C-8{ref[-1]}", area, None, "coord", ref=ref)
    cdop.notify(ref, died, band, sex, expected, not expected, "coord",
                jar_reason=None if expected else "sudden_unexplained")
    if reviewed:
        clock.set(london(f"{reviewed} 10:00"))
        cdop.step(ref, "hold_cdr_meeting", {"cdr_meeting_on": reviewed}, "coord")
        cdop.review(ref, category, bool(domains), list(domains), "coord")
        cdop.step(ref, "record_ncmd", {"ncmd_submitted_on": reviewed}, "coord")
        cdop.close(ref, "coord")


def _deaths(app: App, clock: FixedClock) -> None:
    _death(app, clock, "CDR-D1", "cumberland", "2023-06-10", "0_to_27_days", "male",
           reviewed="2023-11-15", category="8")
    _death(app, clock, "CDR-D2", WF, "2024-01-20", "28_to_364_days", "female",
           expected=False, reviewed="2024-07-10", category="10",
           domains=("parenting", "environment"))
    _death(app, clock, "CDR-D3", "cumberland", "2024-05-02", "1_to_4_years", "male",
           expected=False, reviewed="2024-11-13", category="3", domains=("environment",))
    _death(app, clock, "CDR-D4", "cumberland", "2024-08-20", "15_to_17_years", "female",
           reviewed="2024-11-13", category="4")
    _death(app, clock, "CDR-D5", WF, "2025-02-10", "0_to_27_days", "male")


PLAN = ("ref,priority,outcome,action,timescale,responsible,owner\n"
        "BP-1,Neglect,Neglect identified early,Neglect toolkit launched,2024-09-30,"
        "Neglect group,amy\n"
        "BP-2,Neglect,Neglect identified early,Multi-agency neglect audit,2025-06-30,"
        "Quality assurance group,bob\n"
        "BP-3,Exploitation,Children safer outside the home,Exploitation pathway reviewed,"
        "2024-12-31,Exploitation group,amy\n"
        "BP-4,Voice of the child,Children's views shape services,Young people's survey,"
        "2025-09-30,Business unit,bob\n"
        "BP-5,Learning,Learning changes practice,Learning briefings published,2025-03-31,"
        "Learning group,amy\n")


def _plan(app: App, clock: FixedClock) -> None:
    clock.set(london("2024-04-02 09:00"))
    app.plan.import_plan("plan.csv", PLAN, "mgr", "2024-04-01")
    for when, ref, rag in (("2024-06-03", "BP-1", "green"), ("2024-07-01", "BP-2", "green"),
                           ("2024-12-16", "BP-3", "blue"), ("2025-01-06", "BP-2", "amber"),
                           ("2025-03-10", "BP-5", "green"), ("2025-04-03", "BP-4", "green")):
        clock.set(london(f"{when} 10:00"))
        app.plan.update(ref, rag, f"Update of {when}", "mgr")
