"""The business plan in a real browser (Debian's Chromium driven by Playwright), on SQLite and
PostgreSQL: business support uploads the plan and a figures file, an owner finds their
action under "My actions", records an update (first without its note: the error summary),
and the plan shows the new rating. Every page is checked with axe (no serious or critical
violations) and photographed into ``build/screenshots/<test name>/``.
"""

from __future__ import annotations

from typing import Any

import pytest

from engine.app import App
from tests.web.conftest import add_user, give_password
from tests.web.test_browser import CHROMIUM, SHOTS, Journey, server  # noqa: F401
from tests.web.test_plan_pages import FIGURES, PLAN

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="Debian's chromium is not installed (apt-get install "
                                       "chromium)")


def test_plan_upload_my_actions_and_an_update(app: App, server: str,  # noqa: F811
                                              request: pytest.FixtureRequest) -> None:
    from playwright.sync_api import expect, sync_playwright

    add_user(app.db, "support", [("business_support", None)])
    add_user(app.db, "owen", [("business_group_member", None)])
    add_user(app.db, "olga", [("business_group_member", None)])
    for login in ("support", "owen"):
        give_password(app, login)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM))
        try:
            page: Any = browser.new_context(locale="en-GB").new_page()
            journey = Journey(page, server, SHOTS / request.node.name)
            journey.sign_in("support")
            journey.press(page.get_by_role("link", name="Business plan"))
            page.wait_for_url("**/plan")
            journey.check("plan-empty")
            journey.press(page.get_by_role("button", name="Import the plan"))
            page.wait_for_url("**/plan/import")
            journey.check("plan-import-form")
            page.get_by_label("Plan file").set_input_files(
                {"name": "plan.csv", "mimeType": "text/csv", "buffer": PLAN.encode()})
            journey.fill(page.get_by_label("The plan starts on (optional)"), "2024-04-01")
            journey.press(page.get_by_role("button", name="Import the plan"))
            page.wait_for_url("**/plan?done=import&added=3&unchanged=0")
            journey.check("plan")
            expect(page.locator(".banner")).to_contain_text("3 actions added")
            expect(page.locator("main")).to_contain_text(
                "By rule: past its timescale of 31 May 2024, no update")
            # Figures: a bad row first (the error summary names it), then the good file.
            journey.press(page.get_by_role("button", name="Figures from other systems"))
            page.wait_for_url("**/figures")
            journey.press(page.get_by_role("button", name="Import figures"))
            page.wait_for_url("**/figures/import")
            page.get_by_label("Figures file").set_input_files({
                "name": "figures.csv", "mimeType": "text/csv",
                "buffer": (FIGURES + "unknown_measure,partnership,2023-24,1,X\n").encode()})
            journey.press(page.get_by_role("button", name="Import the figures"))
            page.wait_for_url("**/figures/import")
            journey.check("figures-import-error")
            expect(page.locator(".error-summary")).to_contain_text(
                "Row 4: unknown measure 'unknown_measure'")
            page.get_by_label("Figures file").set_input_files(
                {"name": "figures.csv", "mimeType": "text/csv", "buffer": FIGURES.encode()})
            journey.press(page.get_by_role("button", name="Import the figures"))
            page.wait_for_url("**/figures?done=import**")
            journey.check("figures")
            expect(page.locator("main")).to_contain_text("Referrals to children's social care")
            journey.sign_out()
            # The owner: their actions first, the update form, an error, then the update.
            journey.sign_in("owen")
            journey.press(page.get_by_role("link", name="Business plan"))
            page.wait_for_url("**/plan")
            journey.check("plan-owner")
            journey.press(page.get_by_role("link", name="BP-3 (your action)"))
            page.wait_for_url("**/plan/BP-3")
            journey.check("action")
            journey.choose("rag", "amber")
            journey.press(page.get_by_role("button", name="Record the update"))
            page.wait_for_url("**/plan/BP-3")
            journey.check("update-error")
            expect(page.locator(".error-summary")).to_contain_text(
                "An update needs its note")
            expect(page.locator("input[name=rag][value=amber]")).to_be_checked()
            journey.fill(page.get_by_label("What has happened since the last update"),
                         "Membership review delayed to September")
            journey.press(page.get_by_role("button", name="Record the update"))
            page.wait_for_url("**/plan/BP-3?done=update")
            journey.check("updated")
            expect(page.locator("table").first).to_contain_text("Amber")
            journey.press(page.get_by_role("link", name="Back to the plan"))
            page.wait_for_url("**/plan")
            journey.check("plan-after")
        finally:
            browser.close()
    (action,) = app.plan.actions("support", "BP-3")
    assert (action.rating.rag, action.update) == ("amber",
                                                  "Membership review delayed to September")
