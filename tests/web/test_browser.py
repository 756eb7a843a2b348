"""Journey 1 in a real browser (Debian's Chromium driven by Playwright): business support
logs a serious incident notification, the chair walks it through the rapid review and the
decision to commission an LCSPR to publication and the action plan. Every page is checked
with axe (no serious or critical violations) and photographed into
``build/screenshots/<test name>/``.
"""

from __future__ import annotations

import contextlib
import email
import re
import socket
import threading
import time
from collections.abc import Iterator
from email import policy
from pathlib import Path
from typing import Any

import pytest

from engine.app import App
from engine.core.clock import FixedClock
from engine.core.settings import NotificationSettings
from engine.core.store.database import Database
from notifications.transports import EmlFolderTransport
from tests.conftest import london, make_app
from tests.web.conftest import PASSWORD, add_user, give_password
from web import create_app

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="Debian's chromium is not installed (apt-get install "
                                       "chromium)")
SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(app: App) -> Iterator[str]:
    with serving(app) as base:
        yield base


@contextlib.contextmanager
def serving(app: App) -> Iterator[str]:
    import uvicorn

    port = _free_port()
    config = uvicorn.Config(create_app(app), host="127.0.0.1", port=port, log_level="error")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


class Journey:
    """A browser page that checks and photographs every page it lands on."""

    def __init__(self, page: object, base: str, folder: Path, axe: bool = True,
                 keyboard: bool = False) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self.page, self.base, self.folder, self.keyboard = page, base, folder, keyboard
        self.axe = Axe() if axe else None  # axe runs as a script: not with JavaScript off
        self.count = 0
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.png"):
            old.unlink()

    def check(self, name: str) -> None:
        page = self.page
        self.count += 1
        page.screenshot(path=str(self.folder / f"{self.count:02d}-{name}.png"),  # type: ignore[attr-defined]
                        full_page=True)
        if self.axe is None:
            return
        results = self.axe.run(page)
        bad = [v for v in results.response["violations"]
               if v.get("impact") in ("serious", "critical")]
        assert not bad, f"{name}: " + "; ".join(
            f"{v['id']}: {v['help']} ({[n['target'] for n in v['nodes']]})" for v in bad)

    # -- acting: with the mouse, or with the keyboard alone (Tab, typing, Space, arrows) --
    def _tab_to(self, target: Any) -> None:
        keys = self.page.keyboard  # type: ignore[attr-defined]
        for _ in range(120):
            keys.press("Tab")
            if target.evaluate("e => e === document.activeElement"):
                return
        raise AssertionError(f"{target} cannot be reached with the Tab key")

    def press(self, target: Any) -> None:
        if self.keyboard:
            self._tab_to(target)
            self.page.keyboard.press("Enter")  # type: ignore[attr-defined]
        else:
            target.click()

    def fill(self, target: Any, value: str) -> None:
        if not self.keyboard:
            target.fill(value)
            return
        self._tab_to(target)
        keys = self.page.keyboard  # type: ignore[attr-defined]
        if target.get_attribute("type") == "date":
            # Chromium orders the day and month as its own locale says: find out by typing
            # a probe, then go back to the first part and type the date in that order.
            keys.type("01022003")
            day_first = target.evaluate("e => e.value") == "2003-02-01"
            keys.press("ArrowLeft")
            keys.press("ArrowLeft")
            year, month, day = value.split("-")
            value = f"{day}{month}{year}" if day_first else f"{month}{day}{year}"
        keys.type(value)

    def choose(self, name: str, value: str) -> None:
        page: Any = self.page
        radios = page.locator(f"input[name={name}]")
        if not self.keyboard:
            page.locator(f"input[name={name}][value={value}]").check()
            return
        self._tab_to(radios.first)
        page.keyboard.press("Space")
        values = [radios.nth(i).get_attribute("value") for i in range(radios.count())]
        for _ in range(values.index(value)):
            page.keyboard.press("ArrowDown")

    def sign_in(self, login: str) -> None:
        page: Any = self.page
        page.goto(self.base + "/")
        self.check(f"sign-in-{login}")
        self.fill(page.get_by_label("Login"), login)
        self.fill(page.get_by_label("Password"), PASSWORD)
        self.press(page.get_by_role("button", name="Sign in"))
        page.wait_for_url(self.base + "/")
        self.check(f"tasks-{login}")

    def sign_out(self) -> None:
        page: Any = self.page
        self.press(page.get_by_role("button", name="Sign out"))
        page.wait_for_url("**/sign-in")

    def step(self, ref: str, trigger: str, label: str, fields: dict[str, str]) -> None:
        page: Any = self.page
        self.press(page.get_by_role("button", name=label))
        page.wait_for_url(f"**/steps/{trigger}")
        self.check(f"{trigger}-form")
        for name, value in fields.items():
            field = page.locator(f"#{name}")
            if field.get_attribute("type") == "radio":
                self.choose(name, value)
            else:
                self.fill(field, value)
        self.press(page.get_by_role("button", name="Save"))
        page.wait_for_url(f"**/cases/{ref}?done={trigger}")  # type: ignore[attr-defined]
        self.check(f"{trigger}-done")


@pytest.mark.parametrize("mode", ["mouse", "keyboard", "no-js"])
def test_journey_1_notification_to_publication_and_action_plan(app: App, server: str, mode: str,
                                                  request: pytest.FixtureRequest) -> None:
    """With the mouse (and axe on every page), with the keyboard alone, and with JavaScript
    switched off."""
    from playwright.sync_api import expect, sync_playwright

    add_user(app.db, "support", [("business_support", "cumberland")])
    add_user(app.db, "chairperson", [("case_review_chair", "cumberland")])
    add_user(app.db, "reviewer1", [("independent_reviewer", "cumberland")])
    for login in ("support", "chairperson"):
        give_password(app, login)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM))
        try:
            javascript = mode != "no-js"
            context = browser.new_context(locale="en-GB", java_script_enabled=javascript)
            page = context.new_page()
            journey = Journey(page, server, SHOTS / request.node.name, axe=mode == "mouse",
                              keyboard=mode == "keyboard")
            # Business support logs the notification.
            journey.sign_in("support")
            journey.press(page.get_by_role("link", name="Open a case"))
            page.wait_for_url("**/cases/new")
            journey.check("open-choices")
            journey.press(page.get_by_role("link", name="Practice review"))
            page.wait_for_url("**/cases/new/practice_review")
            journey.check("open-form")
            journey.fill(page.get_by_label("Case reference"), "PR-2024-001")
            journey.fill(page.get_by_label("Became aware on"), "2024-06-03")
            journey.fill(page.get_by_label("Child reference"), "C-58213")
            journey.fill(page.get_by_label("Label"), "Review 1")
            journey.press(page.get_by_role("button", name="Open the case"))
            expect(page.locator("h1")).to_have_text("Case PR-2024-001")
            journey.check("case-opened")
            journey.step("PR-2024-001", "notify", "Notify", {"notified_on": "2024-06-04"})
            expect(page.locator(".lead")).to_contain_text("Rapid review")
            journey.sign_out()
            # The chair: the rapid review, the Panel's response and the decision.
            journey.sign_in("chairperson")
            journey.press(page.get_by_role("link", name="Cases", exact=True))
            page.wait_for_url("**/cases")
            journey.check("cases")
            journey.press(page.get_by_role("link", name="PR-2024-001"))
            journey.check("case")
            journey.step("PR-2024-001", "submit_rapid_review", "Submit rapid review",
                         {"rr_submitted_on": "2024-06-05", "rr_recommendation": "lcspr"})
            journey.step("PR-2024-001", "record_panel_response", "Record panel response",
                         {"panel_response": "agreed", "panel_response_on": "2024-06-05"})
            journey.step("PR-2024-001", "commission_lcspr", "Commission LCSPR",
                         {"decision_on": "2024-06-05"})
            expect(page.locator(".lead")).to_contain_text("LCSPR commissioned")
            # The review to publication, then the action plan.
            journey.step("PR-2024-001", "appoint_reviewer", "Appoint reviewer",
                         {"reviewer": "reviewer1", "reviewer_appointed_on": "2024-06-10"})
            journey.step("PR-2024-001", "approve_final", "Approve final",
                         {"planned_publication_on": "2024-12-02"})
            journey.step("PR-2024-001", "send_to_panel", "Send to panel",
                         {"sent_to_panel_on": "2024-11-20"})
            journey.step("PR-2024-001", "publish", "Publish", {"published_on": "2024-12-02"})
            expect(page.locator(".lead")).to_contain_text("Published")
            journey.step("PR-2024-001", "start_action_plan", "Start action plan",
                         {"action_plan_started_on": "2024-12-09"})
            journey.step("PR-2024-001", "add_action", "Add action",
                         {"action_ref": "A1", "action_summary": "Refresh neglect training",
                          "action_owner_agency": "Health", "action_due_on": "2025-03-31"})
            expect(page.locator("main")).to_contain_text("Refresh neglect training")
            case = app.engine.case("PR-2024-001", "amy")
            assert case.state == "action_plan"
            assert (case.data["notified_on"], case.data["decision_on"],
                    case.data["published_on"]) == ("2024-06-04", "2024-06-05", "2024-12-02")
            assert case.data["reviewer"] == "reviewer1"
        finally:
            browser.close()


def test_journey_3_the_reminder_link_in_a_browser(db: Database, tmp_path: Path,
                                                  request: pytest.FixtureRequest) -> None:
    """A chair opens the "Open case" link of the reminder email the notifier wrote (the .eml
    parsed back), signs in, lands on the case and meets the deadline."""
    from playwright.sync_api import expect, sync_playwright

    clock = FixedClock(london("2024-06-03 09:00"))
    folder = tmp_path / "eml"
    app = make_app(db, clock, tmp_path / "head.json",
                   transport=lambda: EmlFolderTransport(folder),
                   notifications=NotificationSettings(transport="eml", eml_dir=folder,
                                                      base_url="http://placeholder.invalid"))
    give_password(app, "chair")  # the seeded case review group chair
    app.engine.open_case("practice_review", "PR-7", {
        "became_aware_on": "2024-06-03", "child_ref": "C-7", "label": "L"}, "amy",
        area="cumberland")
    clock.set(london("2024-06-06 08:00"))
    app.notifier.sweep()
    app.notifier.dispatch()
    links = []
    for path in sorted(folder.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        if str(message["To"]) == "chair@example.org":
            links += re.findall(r"http://placeholder\.invalid(/cases/PR-7)\b",
                                body.get_content())
    assert links, "no reminder to the chair with the case's link"
    with serving(app) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM))
        try:
            page = browser.new_context(locale="en-GB").new_page()
            journey = Journey(page, base, SHOTS / request.node.name)
            page.goto(base + links[0])
            page.wait_for_url("**/sign-in**")
            journey.check("sign-in-from-email")
            journey.fill(page.get_by_label("Login"), "chair")
            journey.fill(page.get_by_label("Password"), PASSWORD)
            journey.press(page.get_by_role("button", name="Sign in"))
            page.wait_for_url(base + "/cases/PR-7")
            expect(page.locator("h1")).to_have_text("Case PR-7")
            journey.check("case-from-email")
            journey.step("PR-7", "notify", "Notify", {"notified_on": "2024-06-06"})
        finally:
            browser.close()
    case = app.engine.case("PR-7", "amy")
    notification = next(d for d in case.deadlines if d.name == "notification")
    assert notification.status == "met"


def test_administration_pages(app: App, server: str, request: pytest.FixtureRequest) -> None:
    """An administrator: users, a user's page (a role granted, a one-time password), areas
    and the audit trail verified; axe on every page, a screenshot of each."""
    from playwright.sync_api import expect, sync_playwright

    add_user(app.db, "boss", [("administrator", None)])
    add_user(app.db, "newcomer", [])
    give_password(app, "boss")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM))
        try:
            page = browser.new_context(locale="en-GB").new_page()
            journey = Journey(page, server, SHOTS / request.node.name)
            journey.sign_in("boss")
            journey.press(page.get_by_role("link", name="Administration"))
            page.wait_for_url("**/admin/users")
            journey.check("users")
            journey.press(page.get_by_role("link", name="newcomer"))
            page.wait_for_url("**/admin/users/newcomer")
            journey.check("user")
            page.get_by_label("Role").select_option("case_review_chair")
            page.get_by_label("Area").select_option("cumberland")
            journey.press(page.get_by_role("button", name="Grant the role"))
            page.wait_for_url("**/admin/users/newcomer?done=granted")
            expect(page.get_by_role("status")).to_contain_text("The role has been granted")
            journey.check("role-granted")
            journey.press(page.get_by_role("button", name="Set a one-time password"))
            expect(page.locator("code.secret")).to_be_visible()
            journey.check("one-time-password")
            journey.press(page.get_by_role("link", name="Areas"))
            page.wait_for_url("**/admin/areas")
            journey.check("areas")
            journey.press(page.get_by_role("link", name="Audit trail"))
            page.wait_for_url("**/admin/audit")
            journey.check("audit")
            journey.press(page.get_by_role("button", name="Verify the audit trail"))
            expect(page.get_by_role("status")).to_contain_text("The audit trail is intact")
            journey.check("audit-verified")
        finally:
            browser.close()
    with app.db.begin_read() as conn:
        from engine.core.store.access_store import AccessStore

        principal = AccessStore(conn).principal("newcomer")
    assert principal is not None and principal.holds("case_review_chair", "cumberland")
