"""The CDOP coordinator's journey in a real browser (Debian's Chromium driven by Playwright),
on SQLite and PostgreSQL: notify a death, ask two agencies for their reporting forms, record
one received. Every page is checked with axe (no serious or critical violations) and
photographed into ``build/screenshots/<test name>/``.
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
DEATH = "CDR-C-70"


def _submit(journey: Journey, label: str, url: str, shot: str) -> None:
    page: Any = journey.page
    journey.press(page.get_by_role("button", name=label))
    page.wait_for_url(url)
    journey.check(shot)


def test_the_cdop_coordinator_notifies_a_death_and_asks_the_agencies(
        app: App, server: str, request: pytest.FixtureRequest) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    assert isinstance(app.clock, FixedClock)
    app.clock.set(london("2024-06-05 10:00"))
    add_user(app.db, "coordinator", [("cdop_coordinator", "cumberland")])
    give_password(app, "coordinator")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM))
        try:
            page: Any = browser.new_context(locale="en-GB").new_page()
            journey = Journey(page, server, SHOTS / request.node.name)
            journey.sign_in("coordinator")
            journey.press(page.get_by_role("link", name="Child deaths"))
            page.wait_for_url("**/cdop")
            journey.check("register-empty")
            journey.press(page.get_by_role("button", name="Notify a death"))
            page.wait_for_url("**/cdop/new")
            journey.check("open-form")
            journey.fill(page.get_by_label("Child reference"), "C-70")
            journey.fill(page.get_by_label("When the death became known"), "2024-06-05T08:00")
            _submit(journey, "Continue", f"**/cdop/{DEATH}/notify", "notify-form")
            # The notification, first with a joint agency response but no reason.
            journey.fill(page.get_by_label("Date of death"), "2024-06-04")
            # (a value starting with a digit, which Journey.choose's selector cannot take)
            page.get_by_label("28-364 days", exact=True).check()
            journey.choose("sex", "male")
            journey.choose("expected", "no")
            journey.choose("jar_needed", "yes")
            _submit(journey, "Record the notification", f"**/cdop/{DEATH}/notify",
                    "notify-error")
            expect(page.locator(".error-summary")).to_contain_text(
                "A joint agency response needs its reason")
            expect(page.get_by_label("Date of death")).to_have_value("2024-06-04")
            journey.choose("jar_reason", "sudden_unexplained")
            _submit(journey, "Record the notification", f"**/cases/{DEATH}?done=notify",
                    "case-notified")
            expect(page.locator("main")).to_contain_text("The notification has been recorded")
            # Two agencies asked, one form received.
            for agency in ("Police", "GP"):
                journey.press(page.get_by_role("button", name="Ask an agency for its form"))
                page.wait_for_url(f"**/cdop/{DEATH}/request")
                journey.check(f"request-{agency}")
                journey.fill(page.get_by_label("Agency"), agency)
                _submit(journey, "Record the request", f"**/cases/{DEATH}?done=request",
                        f"requested-{agency}")
            expect(page.locator("table").first).to_contain_text("Police")
            journey.press(page.get_by_role("button", name="Record a form received"))
            page.wait_for_url(f"**/cdop/{DEATH}/received")
            journey.check("received-form")
            journey.choose("request_agency", "Police")
            _submit(journey, "Record the form", f"**/cases/{DEATH}?done=received",
                    "received")
            journey.press(page.get_by_role("link", name="Child deaths"))
            page.wait_for_url("**/cdop")
            journey.check("register")
            expect(page.locator("table")).to_contain_text("1 agency form awaited")
        finally:
            browser.close()
    rows = app.cdop.deaths("coordinator")
    assert [(r.ref, r.state, r.open_requests) for r in rows] == [
        (DEATH, "gathering_information", 1)]
