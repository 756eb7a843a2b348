"""The web pages over the services (TestClient): sign-in, a case walked by its forms, and the
refusals (CSRF, another area's case, a user without the role, escaping), on SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from engine.app import App
from engine.core.clock import FixedClock
from engine.core.store.models import AuditRecord, Case, WebSession
from tests.integration.test_engine import TO_PUBLISHED
from tests.web.conftest import PASSWORD, add_user, csrf_of, give_password

Client = Callable[[str], TestClient]
MARKER = "<script>alert('x')</script>"


def _open(client: TestClient, ref: str = "PR-1", label: str = "Review 1") -> None:
    page = client.get("/cases/new/practice_review")
    assert page.status_code == 200
    response = client.post("/cases/new/practice_review", data={
        "csrf_token": csrf_of(page.text), "ref": ref, "area": "cumberland",
        "became_aware_on": "2024-06-03", "child_ref": "C-1", "label": label},
        follow_redirects=False)
    assert response.status_code == 303, response.text


def _audit(app: App, action: str, outcome: str | None = None) -> int:
    query = select(func.count()).select_from(AuditRecord).where(AuditRecord.action == action)
    if outcome:
        query = query.where(AuditRecord.outcome == outcome)
    with app.db.begin_read() as conn:
        return int(conn.execute(query).scalar_one())


def test_signed_out_goes_to_sign_in_and_comes_back(app: App, web: FastAPI) -> None:
    give_password(app, "amy")
    client = TestClient(web)
    response = client.get("/cases/PR-9", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=%2Fcases%2FPR-9"
    page = client.get(response.headers["location"])
    back = client.post("/sign-in", data={"login": "amy", "password": PASSWORD,
                                         "next": "/cases/PR-9",
                                         "csrf_token": csrf_of(page.text)},
                       follow_redirects=False)
    assert back.headers["location"] == "/cases/PR-9"
    cookie = back.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert _audit(app, "session.sign_in", "ok") == 1


def test_walk_a_case_through_its_forms(client_for: Client, app: App) -> None:
    amy = client_for("amy")
    _open(amy)
    case = amy.get("/cases/PR-1")
    assert case.status_code == 200
    assert "Awaiting notification" in case.text and "/cases/PR-1/steps/notify" in case.text
    form = amy.get("/cases/PR-1/steps/notify")
    assert 'type="date"' in form.text and "notification to the Panel" in form.text
    done = amy.post("/cases/PR-1/steps/notify", data={
        "csrf_token": csrf_of(form.text), "version": "1", "notified_on": "2024-06-03",
        "note": "sent"}, follow_redirects=False)
    assert done.status_code == 303
    assert "Rapid review" in amy.get("/cases/PR-1").text
    tasks = amy.get("/")
    assert tasks.status_code == 200 and "PR-1" in tasks.text
    assert 'href="/cases/PR-1/steps/submit_rapid_review"' in tasks.text  # the step that meets it
    assert "15 working days left" in tasks.text


def test_the_timeline_keeps_acronyms_in_stage_names(client_for: Client, app: App) -> None:
    """'LCSPR commissioned', not 'lcspr commissioned': a stage is lower-cased mid-sentence
    only where its first word is not an acronym."""
    amy = client_for("amy")
    _open(amy)
    for trigger, values in TO_PUBLISHED[:3]:
        app.engine.fire("PR-1", trigger, values, "amy")
    text = amy.get("/cases/PR-1").text
    assert "to LCSPR commissioned" in text and "lcspr commissioned" not in text


def test_engine_errors_shown_beside_the_field_values_kept(client_for: Client) -> None:
    amy = client_for("amy")
    _open(amy)
    form = amy.get("/cases/PR-1/steps/notify")
    bad = amy.post("/cases/PR-1/steps/notify", data={
        "csrf_token": csrf_of(form.text), "version": "1", "notified_on": "2024-13-45",
        "note": "kept"})
    assert bad.status_code == 400
    assert "There is a problem" in bad.text and 'href="#notified_on"' in bad.text
    assert "2024-13-45" in bad.text and "kept" in bad.text
    assert "Awaiting notification" in amy.get("/cases/PR-1").text


def test_a_form_error_names_the_field_by_its_label_not_a_cli_option(
        client_for: Client) -> None:
    """The engine says how to put a missing value right on the command line as well; a
    page shows the field's label beside the field instead of '--set notified_on=...'."""
    amy = client_for("amy")
    _open(amy)
    form = amy.get("/cases/PR-1/steps/notify")
    bad = amy.post("/cases/PR-1/steps/notify", data={
        "csrf_token": csrf_of(form.text), "version": "1", "notified_on": ""})
    assert bad.status_code == 400 and 'href="#notified_on"' in bad.text
    assert "requires &#39;notified on&#39;" in bad.text or "requires 'notified on'" in bad.text
    assert "--set" not in bad.text and "notified_on=" not in bad.text


def test_a_stale_form_writes_nothing_and_says_who(client_for: Client, app: App) -> None:
    amy, bob = client_for("amy"), client_for("bob")
    _open(amy)
    form = amy.get("/cases/PR-1/steps/notify")
    app.engine.correct("PR-1", {"label": "Review one"}, "bob", "typo")
    stale = amy.post("/cases/PR-1/steps/notify", data={
        "csrf_token": csrf_of(form.text), "version": "1", "notified_on": "2024-06-03"})
    assert stale.status_code == 409
    assert "changed by bob at" in stale.text
    assert "Awaiting notification" in bob.get("/cases/PR-1").text


def test_csrf_missing_or_wrong_is_refused_and_nothing_written(client_for: Client,
                                                              app: App) -> None:
    amy = client_for("amy")
    _open(amy)
    for token in (None, "wrong"):
        data = {"version": "1", "notified_on": "2024-06-03"}
        if token:
            data["csrf_token"] = token
        response = amy.post("/cases/PR-1/steps/notify", data=data)
        assert response.status_code == 403
    with app.db.begin_read() as conn:
        assert conn.execute(select(Case.state)).scalar_one() == "awaiting_notification"


def test_another_areas_case_is_404_like_a_missing_one(client_for: Client, app: App) -> None:
    amy = client_for("amy")
    _open(amy)
    add_user(app.db, "west", [("case_review_chair", "westmorland")])
    west = client_for("west")
    hidden, missing = west.get("/cases/PR-1"), west.get("/cases/PR-404")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.text.replace("PR-1", "") == missing.text.replace("PR-404", "")
    assert west.get("/cases/PR-1/steps/notify").status_code == 404
    assert "PR-1" not in west.get("/cases").text


def test_no_button_without_the_role_and_a_forged_post_is_refused_and_audited(
        client_for: Client, app: App) -> None:
    amy = client_for("amy")
    _open(amy)
    add_user(app.db, "member", [("case_review_member", "cumberland")])
    member = client_for("member")
    page = member.get("/cases/PR-1")
    assert page.status_code == 200 and "/steps/notify" not in page.text
    forged = member.post("/cases/PR-1/steps/notify", data={
        "csrf_token": csrf_of(page.text), "version": "1", "notified_on": "2024-06-03"})
    assert forged.status_code == 403
    assert _audit(app, "case.advance", "refused") == 1
    with app.db.begin_read() as conn:
        assert conn.execute(select(Case.state)).scalar_one() == "awaiting_notification"


def test_free_text_comes_back_escaped(client_for: Client) -> None:
    amy = client_for("amy")
    _open(amy, label="L1")
    form = amy.get("/cases/PR-1/steps/notify")
    amy.post("/cases/PR-1/steps/notify", data={
        "csrf_token": csrf_of(form.text), "version": "1", "notified_on": "2024-06-03",
        "note": MARKER})
    for path in ("/cases/PR-1", "/"):
        text = amy.get(path).text
        assert MARKER not in text
    assert "&lt;script&gt;" in amy.get("/cases/PR-1").text
    bad = amy.get("/cases/new/practice_review")
    again = amy.post("/cases/new/practice_review", data={
        "csrf_token": csrf_of(bad.text), "ref": "PR-2", "area": "cumberland",
        "became_aware_on": "2024-06-03", "child_ref": "C-2", "label": MARKER * 20})
    assert again.status_code == 400 and MARKER not in again.text


def test_lockout_after_repeated_failures(app: App, web: FastAPI) -> None:
    give_password(app, "amy")
    client = TestClient(web)
    for _ in range(app.accounts.settings.lockout_failures):
        page = client.get("/sign-in")
        wrong = client.post("/sign-in", data={"login": "amy", "password": "nope",
                                              "csrf_token": csrf_of(page.text)})
        assert wrong.status_code == 400 and "not right" in wrong.text
    page = client.get("/sign-in")
    locked = client.post("/sign-in", data={"login": "amy", "password": PASSWORD,
                                           "csrf_token": csrf_of(page.text)})
    assert locked.status_code == 400 and "locked" in locked.text
    assert _audit(app, "session.sign_in", "refused") == 6


def test_session_ends_on_sign_out_and_when_idle(client_for: Client, app: App) -> None:
    amy = client_for("amy")
    page = amy.get("/")
    assert page.status_code == 200
    out = amy.post("/sign-out", data={"csrf_token": csrf_of(page.text)},
                   follow_redirects=False)
    assert out.status_code == 303
    with app.db.begin_read() as conn:
        assert conn.execute(select(WebSession.ended_at)).scalar_one() is not None
    assert _audit(app, "session.sign_out") == 1
    bob = client_for("bob")
    assert bob.get("/", follow_redirects=False).status_code == 200
    assert isinstance(app.clock, FixedClock)
    import datetime as dt

    app.clock.advance(dt.timedelta(minutes=app.accounts.settings.idle_minutes + 1))
    assert bob.get("/", follow_redirects=False).status_code == 303


def test_one_time_password_must_be_changed(app: App, web: FastAPI) -> None:
    password = app.accounts.set_password("amy", "bob")
    client = TestClient(web)
    page = client.get("/sign-in")
    first = client.post("/sign-in", data={"login": "bob", "password": password,
                                          "csrf_token": csrf_of(page.text)},
                        follow_redirects=False)
    assert first.headers["location"] == "/account/password"
    assert client.get("/", follow_redirects=False).headers["location"] == "/account/password"
    form = client.get("/account/password")
    changed = client.post("/account/password", data={
        "csrf_token": csrf_of(form.text), "current_password": password,
        "new_password": PASSWORD, "confirm_password": PASSWORD}, follow_redirects=False)
    assert changed.status_code == 303
    assert client.get("/").status_code == 200
    assert _audit(app, "user.password") == 1 and _audit(app, "user.change_password") == 1


def test_a_sign_in_link_works_once(app: App, web: FastAPI) -> None:
    token, _ = app.accounts.issue_link("amy", "bob")
    client = TestClient(web)
    page = client.get(f"/sign-in/link/{token}")
    used = client.post(f"/sign-in/link/{token}", data={"csrf_token": csrf_of(page.text)},
                       follow_redirects=False)
    assert used.headers["location"] == "/account/password"
    other = TestClient(web)
    page = other.get(f"/sign-in/link/{token}")
    again = other.post(f"/sign-in/link/{token}", data={"csrf_token": csrf_of(page.text)})
    assert again.status_code == 400


def test_bad_input_is_a_page_not_a_traceback(client_for: Client) -> None:
    amy = client_for("amy")
    _open(amy)
    unknown = amy.get("/cases/PR-1/steps/no_such_step")
    assert unknown.status_code == 409 and "Traceback" not in unknown.text
    huge = amy.get("/cases/new/practice_review")
    big = amy.post("/cases/new/practice_review", data={
        "csrf_token": csrf_of(huge.text), "ref": "PR-3", "label": "x" * 20_000})
    assert big.status_code == 400
    assert amy.get("/no/such/page").status_code == 404


def test_personal_fields_restricted_for_roles_without_access(client_for: Client,
                                                             app: App) -> None:
    app.engine.open_case("practice_review", "PR-5", {
        "became_aware_on": "2024-06-03", "child_ref": "C-5", "label": "L5",
        "child_name": "Jane Marker"}, "amy", area="cumberland")
    add_user(app.db, "member", [("case_review_member", "cumberland")])
    member = client_for("member").get("/cases/PR-5")
    assert member.status_code == 200
    assert "Jane Marker" not in member.text and "Restricted" in member.text
    assert "Jane Marker" in client_for("amy").get("/cases/PR-5").text


def test_a_form_posted_twice_writes_once(client_for: Client, app: App) -> None:
    amy = client_for("amy")
    _open(amy)
    form = amy.get("/cases/PR-1/steps/notify")
    data = {"csrf_token": csrf_of(form.text), "version": "1", "notified_on": "2024-06-03"}
    assert amy.post("/cases/PR-1/steps/notify", data=data,
                    follow_redirects=False).status_code == 303
    again = amy.post("/cases/PR-1/steps/notify", data=data)
    assert again.status_code == 409
    with app.db.begin_read() as conn:
        assert conn.execute(select(Case.version)).scalar_one() == 2


def test_sessions_end_after_the_absolute_timeout_and_on_a_new_password(
        client_for: Client, app: App) -> None:
    import datetime as dt

    assert isinstance(app.clock, FixedClock)
    amy = client_for("amy")
    limit = dt.timedelta(hours=app.accounts.settings.absolute_hours)
    elapsed = dt.timedelta(0)
    for _ in range(app.accounts.settings.absolute_hours * 3 + 3):  # active, never idle
        app.clock.advance(dt.timedelta(minutes=20))
        elapsed += dt.timedelta(minutes=20)
        if amy.get("/", follow_redirects=False).status_code == 303:
            assert elapsed >= limit
            break
    else:
        raise AssertionError("the session outlived its absolute timeout")
    bob = client_for("bob")
    assert bob.get("/", follow_redirects=False).status_code == 200
    app.accounts.set_password("amy", "bob")  # an administrator resets bob's password
    assert bob.get("/", follow_redirects=False).status_code == 303


def test_a_page_makes_one_audit_record(client_for: Client, app: App) -> None:
    """The header's task count is the user's own number, not a second audited command."""
    from sqlalchemy import func, select

    from engine.core.store.models import AuditRecord

    client = client_for("chair")
    client.get("/cases")  # settle the session
    table = AuditRecord.__table__  # type: ignore[attr-defined]

    def count() -> int:
        with app.db.begin_read() as conn:
            return int(conn.scalar(select(func.count()).select_from(table)) or 0)

    before = count()
    page = client.get("/")
    assert page.status_code == 200
    with app.db.begin_read() as conn:
        actions = [r.action for r in conn.execute(
            select(table.c.action).order_by(table.c.seq.desc()).limit(count() - before))]
    assert actions == ["case.tasks"]
    before = count()
    assert client.get("/cases").status_code == 200
    assert count() - before == 1
