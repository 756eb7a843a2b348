"""Every annual report figure against counts made by hand from the known dataset (see
``dataset.py``), on SQLite and PostgreSQL; and the renderers carry the same numbers."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from engine.app import App
from engine.apps.report.document import Compared
from engine.apps.report.figures import rag_status
from engine.apps.report.render import render
from engine.apps.report.service import annual_report
from engine.core.clock import FixedClock
from engine.core.errors import PermissionDeniedError, UsageError
from engine.core.service import Engine
from tests.conftest import london
from tests.report.dataset import END, START, D, build


@pytest.fixture
def known(app: App, clock: FixedClock) -> tuple[Engine, object]:
    built = build(app, clock)
    engine = app.engine
    clock.set(london("2025-04-07 09:00"))
    return engine, built


def test_every_figure(known: tuple[Engine, object]) -> None:
    engine, built = known
    flat = annual_report(engine, "mgr", START, END).flat()
    # Each value counted from the dataset's docstring (which says what was built).
    expected = {
        # notifications: A, B, C, D made in the period; B late.
        "rapid_reviews.notifications": 4, "rapid_reviews.notifications_on_time": 3,
        # rapid reviews sent: A, B, C; B late. Outcomes: A and C LCSPR, B no further review.
        "rapid_reviews.held": 3, "rapid_reviews.on_time": 2,
        "rapid_reviews.outcome_lcspr": 2, "rapid_reviews.outcome_no_further_review": 1,
        "rapid_reviews.outcome_national_review": 0,
        "rapid_reviews.outcome_awaiting_decision": 0,
        "lcspr.commissioned": 2, "lcspr.in_progress": 0, "lcspr.published": 1,
        "lcspr.days_to_publication_mean": float((D("2024-11-20") - D("2024-07-08")).days),
        "lcspr.published_within_6_months": 1, "lcspr.deferred": 1, "lcspr.deferred_inquest": 1,
        "lcspr.deferred_criminal_proceedings": 0, "lcspr.deferred_family_court": 0,
        "lcspr.deferred_other_process": 0,
        "lcspr.past_target": 1, "lcspr.dissemination_done": 3,
        "actions.review_action_plans": 1,
        "actions.review_rag_red": 1, "actions.review_rag_amber": 1,
        "actions.review_rag_green": 1, "actions.review_rag_blue": 1,
        "actions.review_dropped": 0,
        "actions.rag_red": 1, "actions.rag_amber": 0, "actions.rag_green": 0,
        "actions.rag_blue": 2,
        # K1, K2 (now high), K4 (not assessed), K5 and W1 medium; K3 stepped down; K6
        # closed before.
        "cerar.open_at_end": 5, "cerar.level_high": 2, "cerar.level_medium": 2,
        "cerar.level_low": 0, "cerar.level_not_assessed": 1, "cerar.referrals": 6,
        "cerar.stepped_down": 1, "cerar.closed": 0, "cerar.level_changes": 1,
        "cerar.reviews": 1,
        # K1 x2, K2 x1, K5 x1, W1 x1 return in the period (K2's April 2025 episode does
        # not); RHIs within 72 hours: K1's first, W1's.
        "missing.episodes": 5, "missing.children": 4, "missing.rhi_within_72h": 2,
        "missing.rhi_late": 1, "missing.rhi_declined": 1, "missing.rhi_outstanding": 1,
        "missing.rhi_within_72h_pct": 40.0, "missing.strategy_meetings": 0,
        "mace.held": 1, "mace.cancelled": 1,
        "mace.children_discussed": len(built.agenda_children | {"CE-K1", "CE-K2"}),  # type: ignore[attr-defined]
        "mace.decision_level_confirmed": 0, "mace.decision_level_changed": 1,
        "mace.decision_review_done": 1, "mace.decision_step_down": 0,
        "mace.actions_agreed": 3, "mace.actions_due": 3, "mace.actions_on_time": 1,
        "mace.actions_late": 2,
        "placed.placed_in_area_at_risk": 1, "placed.placed_in_area_medium_high": 1,
        "placed.placed_out_of_area": 0,
        # Notified in the period: D3 (unexpected, a joint agency response), D4, D5.
        # Reviewed: D2 (died in 2023/24) on 10 July, D3 and D4 on 13 November: two days of
        # the panel; modifiable: D2, D3.
        "child_deaths.deaths_notified": 3, "child_deaths.unexpected": 1,
        "child_deaths.joint_agency_responses": 1, "child_deaths.reviews_completed": 3,
        "child_deaths.reviews_of_deaths_in_period": 2,
        "child_deaths.reviews_of_earlier_deaths": 1, "child_deaths.modifiable_factors": 2,
        "child_deaths.cdop_meetings": 2,
        # 7124 + 5502, the areas' sum; training events imported for the partnership.
        "other_systems.mash_contacts": 12626, "other_systems.training_events": 91,
        # At 31 March 2025: BP-1 red by rule, BP-2 amber, BP-3 blue, BP-4 not rated (its
        # update came after), BP-5 green (due that day).
        "business_plan.actions": 5, "business_plan.rag_blue": 1,
        "business_plan.rag_green": 1, "business_plan.rag_amber": 1,
        "business_plan.rag_red": 1, "business_plan.red_by_rule": 1,
        "business_plan.not_rated": 1, "business_plan.withdrawn": 0,
    }
    assert flat == expected


def test_a_past_year_does_not_change_when_its_open_actions_end_after_it(
        known: tuple[Engine, object], clock: FixedClock) -> None:
    """PR-A has A2, A3 and A4 open at the period's end; after the end one is done and two
    are dropped with a reason, and the review closes: the past year's figures stand."""
    engine, _ = known
    before = annual_report(engine, "mgr", START, END).flat()
    steps = [("2025-04-08 10:00", "complete_action", {"action_ref": "A2",
                                                       "action_done_on": "2025-04-08"}),
             ("2025-04-08 11:00", "drop_action", {"action_ref": "A3",
                                                   "action_drop_reason": "superseded"}),
             ("2025-04-08 11:00", "drop_action", {"action_ref": "A4",
                                                   "action_drop_reason": "merged into A3's"}),
             ("2025-04-09 10:00", "record_dissemination", {
                 "policies_reviewed_on": "2025-04-09", "workshops_held_on": "2025-04-09",
                 "assurance_sought_on": "2025-04-09"}),
             ("2025-04-10 10:00", "close", {"closed_on": "2025-04-10"})]
    for at, trigger, values in steps:
        clock.set(london(at))
        engine.fire("PR-A", trigger, values, actor="chair")
    assert engine.case("PR-A", "chair").state == "closed"
    after = annual_report(engine, "mgr", START, END).flat()
    assert after == before
    assert (after["actions.review_rag_red"], after["actions.review_rag_amber"],
            after["actions.review_rag_green"]) == (1, 1, 1)
    # The next year counts them as they stand then: one more done, two dropped.
    later = annual_report(engine, "mgr", D("2025-04-01"), D("2026-03-31")).flat()
    assert later["actions.review_dropped"] == 2
    assert (later["actions.review_rag_blue"], later["actions.review_rag_red"]) == (2, 0)


def test_a_mace_action_dropped_by_the_period_s_end_is_neither_due_nor_rated(
        app: App, known: tuple[Engine, object]) -> None:
    """A3 (due 2024-10-11, still open) is dropped on 2025-03-20: the year leaves it out of
    the MACE RAG counts and the actions due; a period ended before the drop still counts it
    as it stood then (open, past due)."""
    engine, built = known
    earlier = annual_report(engine, "mgr", START, D("2025-03-10")).flat()
    app.mace.drop_action(built.meeting, "A3", "taken over by the next meeting", "coord",  # type: ignore[attr-defined]
                         on=D("2025-03-20"))
    year = annual_report(engine, "mgr", START, END).flat()
    assert (year["actions.rag_red"], year["actions.rag_blue"]) == (0, 2)
    assert (year["mace.actions_agreed"], year["mace.actions_due"], year["mace.actions_on_time"],
            year["mace.actions_late"]) == (3, 2, 1, 1)
    assert annual_report(engine, "mgr", START, D("2025-03-10")).flat() == earlier
    assert (earlier["actions.rag_red"], earlier["mace.actions_late"]) == (1, 2)


def test_a_period_before_most_of_it(known: tuple[Engine, object]) -> None:
    engine, _ = known
    report = annual_report(engine, "mgr", D("2024-03-01"), D("2024-03-10"))
    flat = report.flat()
    # Nothing of reviews, missing episodes or MACE then: no records, not zeros.
    assert {s.key for s in report.sections if s.empty} == {
        "rapid_reviews", "lcspr", "actions", "missing", "mace", "placed", "child_deaths",
        "other_systems", "business_plan"}
    assert "rapid_reviews.held" not in flat and "mace.held" not in flat
    assert flat["cerar.referrals"] == 1 and flat["cerar.open_at_end"] == 1  # K6, low


def test_renderers_carry_the_figures_and_no_personal_data(
        known: tuple[Engine, object]) -> None:
    engine, _ = known
    report = annual_report(engine, "mgr", START, END)
    data = json.loads(render(report, "json"))
    assert data["from"] == "2024-04-01" and len(data["sections"]) == 10
    rows = list(csv.reader(io.StringIO(render(report, "csv"))))
    assert ["mace", "held", "Meetings held", "Partnership", "1", "", ""] in rows
    assert ["cerar", "referrals", "New referrals (flow in)", "Westmorland and Furness", "1",
            "", ""] in rows
    assert ["cerar", "referrals", "New referrals (flow in)", "Cumberland", "5", "1",
            "4"] in rows
    assert ["other_systems", "mash_contacts", "Contacts into the Multi-Agency Safeguarding "
            "Hub", "Westmorland and Furness", "5502", "5600", "-98"] in rows
    assert ["child_deaths", "deaths_notified", "Deaths notified", "Partnership", "3", "2",
            "1"] in rows
    assert ["business_plan", "rag_red", "Red at the period's end", "Partnership", "1", "",
            ""] in rows
    page = render(report, "html")
    assert page.count("<svg") >= 5 and "@media print" in page and "http" not in re.sub(
        r'xmlns(:xlink)?="http://www.w3.org/[^"]+"', "", page)  # nothing fetched
    text = render(report, "markdown")
    assert "| LCSPRs published | 1 | not available | not available |" in text
    assert "| PR-C | Inquest |" in text
    for rendered in (page, text, render(report, "csv"), render(report, "json")):
        assert "child_name" not in rendered and "C-9A" not in rendered


def test_only_partnership_managers_and_a_sane_period(app: App) -> None:
    engine, admin = app.engine, app.admin
    admin.add_user("amy", "clerk", "Clerk", "clerk@example.org", "Partnership")
    admin.grant("amy", "clerk", "business_support", None)
    with pytest.raises(PermissionDeniedError):
        annual_report(engine, "clerk", START, END)
    with pytest.raises(UsageError, match="after"):
        annual_report(engine, "mgr", END, START)


def test_rag() -> None:
    end = D("2025-03-31")
    assert rag_status(D("2025-03-01"), D("2025-03-02"), end) == "blue"
    assert rag_status(D("2025-03-01"), None, end) == "red"
    assert rag_status(D("2025-04-10"), None, end) == "amber"
    assert rag_status(D("2025-05-10"), None, end) == "green"
    assert rag_status(D("2025-03-01"), D("2025-04-02"), end) == "red"  # done after the end


@pytest.mark.parametrize("period", [(START, END), (D("2024-03-01"), D("2024-03-10")),
                                    (D("2025-04-01"), D("2026-03-31"))])
def test_reading_only_the_cases_alive_in_the_period_changes_no_figure(
        known: tuple[Engine, object], period: tuple[object, object]) -> None:
    """The CERAR and MACE sections from every case's rows and from those of the cases alive
    in the period alike."""
    from engine.apps.report.figures import casework_sections
    from engine.apps.report.queries import load
    from engine.core.clock import end_of_day, start_of_day

    engine, _ = known
    start, end = period
    with engine.db.begin_read() as conn:
        everything = casework_sections(load(conn), start, end)  # type: ignore[arg-type]
        bounds = (start_of_day(start), end_of_day(end), end)  # type: ignore[arg-type]
        alive = casework_sections(load(conn, period=bounds), start, end)  # type: ignore[arg-type]
    assert [s.to_json() for s in alive] == [s.to_json() for s in everything]


def test_per_area_and_previous_year_on_both_databases(known: tuple[Engine, object]) -> None:
    """The by-area SQL (older reviews' actions, MACE actions by RAG) and the previous year
    on SQLite and PostgreSQL alike (the full per-area checks are in test_annual.py)."""
    engine, _ = known
    report = annual_report(engine, "mgr", START, END)
    rows = {f"{s.key}.{r.key}": r for s in report.sections for r in s.rows}
    cf, wf = "Cumberland", "Westmorland and Furness"
    assert rows["actions.review_rag_red"].areas[cf].value == 1  # type: ignore[union-attr]
    assert rows["actions.rag_red"].partnership.value == 1  # MACE A3, counted in SQL
    assert rows["actions.rag_red"].areas[cf].value is None  # type: ignore[union-attr]
    assert rows["cerar.referrals"].areas[wf].value == 1  # type: ignore[union-attr]
    assert (rows["rapid_reviews.held"].partnership.previous,
            rows["rapid_reviews.held"].partnership.change) == (1, 2)  # PR-E in 2023/24
    assert rows["rapid_reviews.held"].areas[wf] is None  # no records there this year
    # The new sections' reads (JSON fields, imported figures, plan events) on both too.
    assert rows["child_deaths.reviews_completed"].areas[wf] == Compared(1, 0, 1)
    assert rows["child_deaths.deaths_notified"].partnership == Compared(3, 2, 1)
    assert rows["other_systems.mash_contacts"].areas[cf] == Compared(7124, 6900, 224)
    assert rows["business_plan.red_by_rule"].partnership.value == 1
