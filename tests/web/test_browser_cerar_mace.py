"""Journey 2 in a real browser (Debian's Chromium driven by Playwright), on SQLite and
PostgreSQL: the CERAR coordinator registers a child, records a missing episode and the return
home interview, creates a fortnightly MACE series, publishes an agenda, holds the meeting and
records a decision and an action (a CERAR manager assesses the child between, as only a
manager may). Then the dashboard and the annual report. Every page is checked with axe (no
serious or critical violations) and photographed into ``build/screenshots/<test name>/``.
"""

from __future__ import annotations

from typing import Any

import pytest

from engine.app import App
from engine.core.clock import FixedClock
from tests.conftest import london
from tests.web.conftest import add_user, give_password
from tests.web.test_browser import CHROMIUM, SHOTS, Journey, server  # noqa: F401

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="Debian's chromium is not installed (apt-get install "
                                       "chromium)")
CHILD, MEETING = "CE-C-58213", "MACE-North-2024-06-05"


def _browser(pw: Any) -> Any:
    return pw.chromium.launch(executable_path=str(CHROMIUM))


def _submit(journey: Journey, label: str, url: str, shot: str) -> None:
    page: Any = journey.page
    journey.press(page.get_by_role("button", name=label))
    page.wait_for_url(url)
    journey.check(shot)


def test_journey_2_cerar_child_to_mace_decision_and_action(
        app: App, server: str, request: pytest.FixtureRequest) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    assert isinstance(app.clock, FixedClock)
    app.clock.set(london("2024-06-05 08:00"))  # a Wednesday: the series' first meeting day
    add_user(app.db, "coordinator", [("cerar_coordinator", "cumberland")])
    add_user(app.db, "manager", [("cerar_manager", "cumberland")])
    for login in ("coordinator", "manager"):
        give_password(app, login)
    with sync_playwright() as pw:
        browser = _browser(pw)
        try:
            page: Any = browser.new_context(locale="en-GB").new_page()
            journey = Journey(page, server, SHOTS / request.node.name)
            # The coordinator registers the child.
            journey.sign_in("coordinator")
            journey.press(page.get_by_role("link", name="CERAR", exact=True))
            page.wait_for_url("**/cerar")
            journey.check("register-empty")
            journey.press(page.get_by_role("button", name="Register a child"))
            page.wait_for_url("**/cerar/new")
            journey.check("register-form")
            journey.fill(page.get_by_label("Child reference"), "C-58213")
            journey.fill(page.get_by_label("Concern received on"), "2024-06-03")
            journey.fill(page.get_by_label("Referring agency"), "Police")
            _submit(journey, "Register the child", f"**/cerar/{CHILD}?done=opened", "child")
            expect(page.locator("h1")).to_have_text("Child C-58213")
            # A missing episode, then its return home interview.
            journey.press(page.get_by_role("button", name="Record a missing episode"))
            page.wait_for_url("**/missing")
            journey.check("missing-form")
            journey.fill(page.get_by_label("Went missing at"), "2024-06-01T22:00")
            journey.fill(page.get_by_label("Returned at"), "2024-06-02T09:00")
            _submit(journey, "Record the episode", "**?done=missing", "missing-done")
            expect(page.locator("table").nth(1)).to_contain_text("M1")
            journey.press(page.get_by_role("link", name="Record the interview of M1"))
            page.wait_for_url("**/rhi/M1")
            journey.check("rhi-form")
            journey.choose("rhi_outcome", "held")
            journey.fill(page.get_by_label("When it was held or declined"), "2024-06-03T08:30")
            _submit(journey, "Record the interview", "**?done=rhi", "rhi-done")
            expect(page.locator("main")).to_contain_text("Held 3 June 2024 at 08:30")
            journey.press(page.get_by_role("link", name="CERAR", exact=True))
            page.wait_for_url("**/cerar")
            journey.check("register")
            journey.sign_out()
            # The CERAR manager records the initial risk assessment (theirs alone).
            journey.sign_in("manager")
            page.goto(f"{server}/cerar/{CHILD}")
            journey.check("manager-child")
            journey.press(page.get_by_role("button", name="Screen"))
            page.wait_for_url("**/steps/screen")
            journey.fill(page.locator("#screened_on"), "2024-06-04")
            _submit(journey, "Save", f"**/cases/{CHILD}?done=screen", "screened")
            page.goto(f"{server}/cerar/{CHILD}")
            journey.press(page.get_by_role("button", name="Assess"))
            page.wait_for_url("**/steps/assess")
            journey.check("assess-form")
            journey.fill(page.locator("#assessed_on"), "2024-06-04")
            journey.choose("risk_level", "high")
            _submit(journey, "Save", f"**/cases/{CHILD}?done=assess", "assessed")
            journey.sign_out()
            # The coordinator: a fortnightly series, its first meeting's agenda and record.
            journey.sign_in("coordinator")
            journey.press(page.get_by_role("link", name="MACE", exact=True))
            page.wait_for_url("**/mace")
            journey.check("mace-month-empty")
            journey.press(page.get_by_role("button", name="Create a series"))
            page.wait_for_url("**/mace/series/new")
            journey.check("series-form")
            journey.fill(page.get_by_label("Series name"), "North")
            page.get_by_label("Fortnightly").check()
            page.get_by_label("Day of the week").select_option("wednesday")
            journey.fill(page.get_by_label("Chair", exact=True), "chair")
            journey.fill(page.get_by_label("Members", exact=True), "amy, bob")
            journey.fill(page.get_by_label("Location (optional)"), "Room 2")
            _submit(journey, "Create the series", "**/mace?month=2024-06&done=series",
                    "mace-month")
            journey.press(page.locator(f'a[href="/mace/{MEETING}"]').first)
            page.wait_for_url(f"**/mace/{MEETING}")
            journey.check("meeting-draft")
            expect(page.locator("main")).to_contain_text("C-58213")
            invitation = page.request.get(f"{server}/mace/{MEETING}/invitation.ics")
            assert invitation.status == 200
            assert invitation.body() == app.mace.invitation(MEETING, "coordinator")[1]
            _submit(journey, "Publish the agenda", "**?done=publish", "agenda-published")
            journey.press(page.get_by_role("button", name="Record the meeting held"))
            page.wait_for_url("**/hold")
            journey.check("hold-form")
            page.get_by_label("chair attended").check()
            journey.fill(page.get_by_label("Agency chair represented"), "Police")
            page.get_by_label("amy attended").check()
            journey.fill(page.get_by_label("Agency amy represented"), "Education")
            journey.fill(page.get_by_label("Apologies from agencies (optional)"), "Health")
            _submit(journey, "Record the meeting", "**?done=hold", "held")
            journey.press(page.get_by_role("button", name="Record a decision"))
            page.wait_for_url("**/decide")
            journey.check("decide-form")
            journey.choose("decision", "review_done")
            journey.fill(page.get_by_label("Reason or note (optional)"), "attending college")
            _submit(journey, "Record the decision", "**?done=decide", "decided")
            journey.press(page.get_by_role("button", name="Add an action"))
            page.wait_for_url("**/actions")
            journey.check("action-form")
            journey.fill(page.get_by_label("What is to be done"), "Disruption visit to the park")
            journey.fill(page.get_by_label("Owner", exact=True), "amy")
            journey.fill(page.get_by_label("Agency", exact=True), "Police")
            journey.fill(page.get_by_label("Due on", exact=True), "2024-06-19")
            page.get_by_label("About child (optional)").select_option(CHILD)
            _submit(journey, "Add the action", "**?done=action", "action-added")
            expect(page.locator("main")).to_contain_text("A1: Disruption visit to the park")
            journey.press(page.get_by_role("link", name="Dashboard"))
            page.wait_for_url("**/dashboard")
            journey.check("dashboard")
        finally:
            browser.close()
    meeting = app.mace.meeting(MEETING, "coordinator")
    assert meeting.state == "held"
    assert [(a["agency"], a["status"]) for a in meeting.attendance] == [
        ("Police", "present"), ("Education", "present"), ("Health", "apologies")]
    assert [d["decision"] for d in meeting.decisions] == ["review_done"]
    child = app.cerar.show(CHILD, "coordinator")
    assert child.case.data["reviewed_on"] == "2024-06-05"
    assert [(e.episode, e.rhi_outcome) for e in child.episodes] == [("M1", "held")]


def test_the_annual_report_page(app: App, server: str,  # noqa: F811
                                request: pytest.FixtureRequest) -> None:
    from playwright.sync_api import expect, sync_playwright

    add_user(app.db, "pm", [("partnership_manager", "cumberland")])
    give_password(app, "pm")
    with sync_playwright() as pw:
        browser = _browser(pw)
        try:
            page: Any = browser.new_context(locale="en-GB").new_page()
            journey = Journey(page, server, SHOTS / request.node.name)
            journey.sign_in("pm")
            journey.press(page.get_by_role("link", name="Annual report"))
            page.wait_for_url("**/reports/annual")
            journey.check("annual-report")
            journey.fill(page.get_by_label("From", exact=True), "2024-07-01")
            journey.fill(page.get_by_label("To", exact=True), "2024-04-01")
            journey.press(page.get_by_role("button", name="Show the period"))
            page.wait_for_url("**/reports/annual?from=2024-07-01&to=2024-04-01")
            journey.check("annual-report-error")
            expect(page.locator(".error-summary")).to_contain_text(
                "The period starts (Monday 1 July 2024) after it ends")
            journey.press(page.get_by_role("link", name="Dashboard"))
            page.wait_for_url("**/dashboard")
            journey.check("dashboard")
        finally:
            browser.close()
