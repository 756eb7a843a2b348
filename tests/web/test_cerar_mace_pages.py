"""The CERAR, MACE, dashboard and annual report pages over the services (TestClient), on
SQLite and PostgreSQL: each page for the roles that may use it and the not-found page for
others; each form changes what it should with exactly one audit record; a form without its
CSRF token, or with bad input, writes nothing."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from engine.app import App
from engine.apps.report.render import render
from engine.apps.report.service import annual_report
from engine.core.clock import FixedClock
from engine.core.store.models import AuditRecord, Case, MaceDecision, MissingEpisode
from tests.web.conftest import add_user, csrf_of

Client = Callable[[str], TestClient]
MARKER = "<script>alert('x')</script>"
MEETING = "MACE-North-2024-06-05"


def _audit(app: App, action: str, outcome: str = "ok") -> int:
    with app.db.begin_read() as conn:
        return int(conn.execute(select(func.count()).select_from(AuditRecord).where(
            AuditRecord.action == action, AuditRecord.outcome == outcome)).scalar_one())


def _count(app: App, model: type) -> int:
    with app.db.begin_read() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


def _records(client: TestClient) -> int:
    app: App = client.app.state.safeguard  # type: ignore[attr-defined]
    return _count(app, AuditRecord)


def _post(client: TestClient, form_path: str, data: dict[str, str],
          action: str | None = None) -> object:
    """Post the form at ``form_path``; a form that succeeds writes exactly one audit record
    (its command's: the page it came from and the one it goes to are reads)."""
    page = client.get(form_path)
    assert page.status_code == 200, page.text
    before = _records(client)
    response = client.post(action or form_path, data={"csrf_token": csrf_of(page.text),
                                                       **data}, follow_redirects=False)
    if response.status_code == 303:
        assert _records(client) == before + 1
    return response


@pytest.fixture
def coordinator(app: App, client_for: Client) -> TestClient:
    add_user(app.db, "coordinator", [("cerar_coordinator", "cumberland")])
    return client_for("coordinator")


def _register(client: TestClient, child: str = "C-1", agency: str = "police") -> object:
    return _post(client, "/cerar/new", {
        "child_ref": child, "concern_received_on": "2024-06-03", "referring_agency": agency,
        "area": "cumberland", "child_name": "", "note": ""})


def test_register_a_child_record_an_episode_and_its_interview(app: App,
                                                              coordinator: TestClient) -> None:
    register = coordinator.get("/cerar")
    assert register.status_code == 200 and 'href="/cerar/new"' in register.text
    opened = _register(coordinator, agency=MARKER)
    assert opened.status_code == 303  # type: ignore[attr-defined]
    assert opened.headers["location"] == "/cerar/CE-C-1?done=opened"  # type: ignore[attr-defined]
    assert _audit(app, "cerar.open") == 1
    child = coordinator.get("/cerar/CE-C-1")
    assert child.status_code == 200 and "Record a missing episode" in child.text
    assert MARKER not in child.text and "&lt;script&gt;" in coordinator.get(
        "/cases/CE-C-1").text
    assert "C-1" in coordinator.get("/cerar").text
    went = _post(coordinator, "/cerar/CE-C-1/missing", {
        "missing_from": "2024-06-01T22:00", "returned_at": "2024-06-02T09:00", "note": ""})
    assert went.status_code == 303 and _audit(app, "cerar.missing") == 1  # type: ignore[attr-defined]
    child = coordinator.get("/cerar/CE-C-1")
    # The 72-hour deadline, in words, and the form that meets it.
    assert "M1" in child.text and "due 5 June 2024 at 09:00" in child.text
    assert 'href="/cerar/CE-C-1/rhi/M1"' in child.text
    assert "1 open" in coordinator.get("/cerar").text
    rhi = _post(coordinator, "/cerar/CE-C-1/rhi/M1", {
        "rhi_outcome": "held", "rhi_at": "2024-06-03T08:30", "reason": ""})
    assert rhi.status_code == 303 and _audit(app, "cerar.rhi") == 1  # type: ignore[attr-defined]
    child = coordinator.get("/cerar/CE-C-1")
    assert "Held 3 June 2024 at 08:30" in child.text and "/rhi/M1" not in child.text


def test_level_change_form_and_history(app: App, coordinator: TestClient,
                                       client_for: Client) -> None:
    _register(coordinator)
    app.cerar.fire("CE-C-1", "screen", {"screened_on": "2024-06-03"}, "mgr")
    app.cerar.fire("CE-C-1", "assess", {"assessed_on": "2024-06-03", "risk_level": "high"},
                   "mgr")
    add_user(app.db, "manager", [("cerar_manager", "cumberland")])
    manager = client_for("manager")
    assert "/cerar/CE-C-1/level" not in coordinator.get("/cerar/CE-C-1").text  # not theirs
    changed = _post(manager, "/cerar/CE-C-1/level", {
        "risk_level": "medium", "level_change_reason": "engaging with youth work"})
    assert changed.status_code == 303 and _audit(app, "cerar.level") == 1  # type: ignore[attr-defined]
    page = manager.get("/cerar/CE-C-1").text
    assert "High to Medium" in page and "engaging with youth work" in page
    same = _post(manager, "/cerar/CE-C-1/level", {
        "risk_level": "medium", "level_change_reason": "again"})
    assert same.status_code == 400 and 'href="#risk_level"' in same.text  # type: ignore[attr-defined]
    assert _audit(app, "cerar.level") == 1


def test_bad_input_shows_the_error_summary_keeps_values_and_writes_nothing(
        app: App, coordinator: TestClient) -> None:
    bad = _post(coordinator, "/cerar/new", {
        "child_ref": "Jayden Smith", "concern_received_on": "2024-06-03",
        "referring_agency": "police kept", "area": "cumberland"})
    assert bad.status_code == 400  # type: ignore[attr-defined]
    assert "There is a problem" in bad.text and 'href="#child_ref"' in bad.text  # type: ignore[attr-defined]
    assert "police kept" in bad.text  # type: ignore[attr-defined]
    assert _count(app, Case) == 0 and _audit(app, "cerar.open") == 0
    _register(coordinator)
    backwards = _post(coordinator, "/cerar/CE-C-1/missing", {
        "missing_from": "2024-06-02T09:00", "returned_at": "2024-06-01T22:00"})
    assert backwards.status_code == 400 and 'href="#returned_at"' in backwards.text  # type: ignore[attr-defined]
    assert "2024-06-02T09:00" in backwards.text  # type: ignore[attr-defined]
    assert _count(app, MissingEpisode) == 0 and _audit(app, "cerar.missing") == 0


def test_csrf_missing_or_wrong_is_refused_and_nothing_written(app: App,
                                                             coordinator: TestClient) -> None:
    for token in (None, "wrong"):
        data = {"child_ref": "C-1", "concern_received_on": "2024-06-03",
                "referring_agency": "police", "area": "cumberland"}
        if token:
            data["csrf_token"] = token
        assert coordinator.post("/cerar/new", data=data).status_code == 403
        assert coordinator.post("/mace/series", data={"name": "North"}).status_code == 403
    assert _count(app, Case) == 0


def _series(client: TestClient, **over: str) -> object:
    return _post(client, "/mace/series/new", {
        "name": "North", "every": "2w", "weekday": "wednesday", "time": "10:00",
        "starts_on": "", "duration": "120", "chair": "chair", "members": "amy, bob",
        "location": "", "on_holiday": "next", "area": "cumberland", **over},
        action="/mace/series")


def test_a_meeting_from_series_to_decision_and_action(app: App, coordinator: TestClient,
                                                      client_for: Client) -> None:
    _register(coordinator)
    app.cerar.fire("CE-C-1", "screen", {"screened_on": "2024-06-03"}, "mgr")
    app.cerar.fire("CE-C-1", "assess", {"assessed_on": "2024-06-03", "risk_level": "high"},
                   "mgr")
    bad = _series(coordinator, members="amy, nobody")
    assert bad.status_code == 400 and 'href="#members"' in bad.text  # type: ignore[attr-defined]
    assert _audit(app, "mace.series.create") == 0
    made = _series(coordinator)
    assert made.status_code == 303 and _audit(app, "mace.series.create") == 1  # type: ignore[attr-defined]
    month = coordinator.get(made.headers["location"])  # type: ignore[attr-defined]
    assert month.status_code == 200 and f'href="/mace/{MEETING}"' in month.text
    assert 'href="/mace?month=2024-05"' in month.text and 'month=2024-07"' in month.text
    assert "MACE-North-2024-06-19" in month.text
    assert coordinator.get("/mace?month=2024-13").status_code == 400
    page = coordinator.get(f"/mace/{MEETING}")
    assert "draft" in page.text and "C-1" in page.text  # the draft agenda, by reference
    published = coordinator.post(f"/mace/{MEETING}/publish",
                                 data={"csrf_token": csrf_of(page.text)},
                                 follow_redirects=False)
    assert published.status_code == 303 and _audit(app, "mace.publish") == 1
    ics = coordinator.get(f"/mace/{MEETING}/invitation.ics")
    assert ics.headers["content-type"].startswith("text/calendar")
    assert ics.content == app.mace.invitation(MEETING, "coordinator")[1]
    assert isinstance(app.clock, FixedClock)
    app.clock.set(dt.datetime(2024, 6, 5, 11, 0, tzinfo=dt.UTC))  # the meeting's day
    coordinator = client_for("coordinator")  # signed in again: the old session is idle
    nobody = _post(coordinator, f"/mace/{MEETING}/hold", {"held_on": "2024-06-05"})
    assert nobody.status_code == 400 and _audit(app, "mace.hold") == 0  # type: ignore[attr-defined]
    held = _post(coordinator, f"/mace/{MEETING}/hold", {
        "held_on": "2024-06-05", "present-1": "chair", "agency-1": "police",
        "present-2": "amy", "agency-2": "education", "apologies": "health"})
    assert held.status_code == 303 and _audit(app, "mace.hold") == 1  # type: ignore[attr-defined]
    no_level = _post(coordinator, f"/mace/{MEETING}/decide", {
        "case": "CE-C-1", "decision": "level_changed", "reason": "kept"})
    assert no_level.status_code == 400 and 'href="#level"' in no_level.text  # type: ignore[attr-defined]
    assert _count(app, MaceDecision) == 0
    decided = _post(coordinator, f"/mace/{MEETING}/decide", {
        "case": "CE-C-1", "decision": "review_done", "reason": "attending college"})
    assert decided.status_code == 303 and _audit(app, "mace.decide") == 1  # type: ignore[attr-defined]
    assert app.engine.case("CE-C-1", "amy").data["reviewed_on"] == "2024-06-05"
    action = _post(coordinator, f"/mace/{MEETING}/actions", {
        "summary": "Disruption visit to the park", "owner": "amy", "agency": "police",
        "due_on": "2024-06-19", "child": "CE-C-1"})
    assert action.status_code == 303 and _audit(app, "mace.action.add") == 1  # type: ignore[attr-defined]
    page = coordinator.get(f"/mace/{MEETING}")
    for text in ("police", "Apologies", "Reviewed", "A1: Disruption visit to the park"):
        assert text in page.text
    done = coordinator.post(f"/mace/{MEETING}/actions/A1/done",
                            data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert done.status_code == 303 and _audit(app, "mace.action.done") == 1


def test_an_action_dropped_with_its_reason(app: App, coordinator: TestClient,
                                          client_for: Client) -> None:
    add_user(app.db, "member", [("mace_member", "cumberland")])
    _register(coordinator)
    _series(coordinator, members="member, amy")
    page = coordinator.get(f"/mace/{MEETING}")
    coordinator.post(f"/mace/{MEETING}/publish", data={"csrf_token": csrf_of(page.text)})
    assert isinstance(app.clock, FixedClock)
    app.clock.set(dt.datetime(2024, 6, 5, 11, 0, tzinfo=dt.UTC))  # the meeting's day
    app.mace.hold(MEETING, "coordinator", [("police", "chair")])
    app.mace.add_action(MEETING, "Disruption visit to the park", "amy", "police",
                        dt.date(2024, 6, 19), "coordinator")
    coordinator, member = client_for("coordinator"), client_for("member")
    drop = f"/mace/{MEETING}/actions/A1/drop"
    assert f'href="{drop}"' in coordinator.get(f"/mace/{MEETING}").text
    # Bad input: the error summary, the reason's field marked, nothing written.
    empty = _post(coordinator, drop, {"reason": ""})
    assert empty.status_code == 400 and "There is a problem" in empty.text  # type: ignore[attr-defined]
    assert 'href="#reason"' in empty.text  # type: ignore[attr-defined]
    for token in (None, "wrong"):
        data = {"reason": "no longer needed", **({"csrf_token": token} if token else {})}
        assert coordinator.post(drop, data=data).status_code == 403
    assert _audit(app, "mace.action.drop") == 0
    assert [a.status for a in app.mace.actions("coordinator")] == ["open"]
    # A member (who may mark it done) is offered no drop, and a forged one is refused.
    shown = member.get(f"/mace/{MEETING}")
    assert "A1: Disruption visit to the park" in shown.text and "Mark done" in shown.text
    assert "/drop" not in shown.text and member.get(drop).status_code == 404
    forged = member.post(drop, data={"csrf_token": csrf_of(shown.text),
                                     "reason": "no longer needed"}, follow_redirects=False)
    assert forged.status_code == 403 and _audit(app, "mace.action.drop", "refused") == 1
    assert [a.status for a in app.mace.actions("coordinator")] == ["open"]

    dropped = _post(coordinator, drop, {"reason": MARKER})
    assert dropped.status_code == 303 and _audit(app, "mace.action.drop") == 1  # type: ignore[attr-defined]
    assert dropped.headers["location"] == f"/mace/{MEETING}?done=action_dropped"  # type: ignore[attr-defined]
    after = coordinator.get(dropped.headers["location"])  # type: ignore[attr-defined]
    assert "The action has been dropped" in after.text and f'href="{drop}"' not in after.text
    assert "Dropped: &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in after.text
    assert MARKER not in after.text
    case = coordinator.get(f"/cases/{MEETING}")
    assert "Dropped: &lt;script&gt;" in case.text and MARKER not in case.text
    assert coordinator.get(drop).status_code == 404  # no longer open


def test_pages_for_their_roles_and_not_found_for_others(app: App, coordinator: TestClient,
                                                        client_for: Client) -> None:
    add_user(app.db, "pm", [("partnership_manager", "cumberland")])
    add_user(app.db, "admin", [("administrator", None)])
    pm, admin = client_for("pm"), client_for("admin")
    home = coordinator.get("/").text
    for link in ('href="/cerar"', 'href="/mace"', 'href="/dashboard"'):
        assert link in home
    assert 'href="/reports/annual"' not in home
    assert coordinator.get("/dashboard").status_code == 200
    assert coordinator.get("/reports/annual?from=2023-04-01&to=2024-03-31").status_code == 404
    assert coordinator.get("/reports/annual.csv").status_code == 404
    assert 'href="/reports/annual"' in pm.get("/").text
    for path in ("/cerar", "/mace", "/dashboard", "/reports/annual", "/mace/series/new"):
        response = admin.get(path)
        assert response.status_code == 404, path
        assert "Page not found" in response.text
    assert 'href="/cerar"' not in admin.get("/").text
    _register(coordinator)
    assert admin.get("/cerar/CE-C-1").status_code == 404
    assert admin.get("/cerar/CE-C-1/missing").status_code == 404
    assert coordinator.get("/cerar/CE-NONE").status_code == 404
    assert pm.get("/mace/series/new").status_code == 404  # only coordinators create series
    forged = pm.post("/cerar/CE-C-1/missing", data={
        "csrf_token": csrf_of(pm.get("/").text), "missing_from": "2024-06-01T22:00",
        "returned_at": "2024-06-02T09:00"})
    assert forged.status_code == 403 and _audit(app, "cerar.missing", "refused") == 1
    assert _count(app, MissingEpisode) == 0


def test_dashboard_and_annual_report(app: App, coordinator: TestClient,
                                     client_for: Client) -> None:
    _register(coordinator)
    _series(coordinator)
    board = coordinator.get("/dashboard")
    assert board.status_code == 200
    assert "Next MACE meeting" in board.text and MEETING in board.text
    assert "Not yet published" in board.text  # its agenda, due today
    assert f'<td><a href="/cases/{MEETING}">{MEETING}</a></td><td>Agenda</td>' in board.text
    add_user(app.db, "pm", [("partnership_manager", "cumberland")])
    pm = client_for("pm")
    report = pm.get("/reports/annual?from=2024-04-01&to=2024-06-30")
    assert report.status_code == 200 and "<svg" in report.text
    assert 'href="/reports/annual.csv?from=2024-04-01&amp;to=2024-06-30"' in report.text
    expected = annual_report(app.engine, "pm", dt.date(2024, 4, 1), dt.date(2024, 6, 30))
    csv = pm.get("/reports/annual.csv?from=2024-04-01&to=2024-06-30")
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text == render(expected, "csv")
    data = json.loads(pm.get("/reports/annual.json?from=2024-04-01&to=2024-06-30").text)
    assert data == json.loads(render(expected, "json"))
    bad = pm.get("/reports/annual?from=2024-06-30&to=2024-04-01")
    assert bad.status_code == 400 and "There is a problem" in bad.text
    assert pm.get("/reports/annual").status_code == 200  # the last financial year


def test_a_member_sees_the_published_agenda_and_no_forms(app: App, coordinator: TestClient,
                                                        client_for: Client) -> None:
    add_user(app.db, "member", [("mace_member", "cumberland")])
    _register(coordinator)
    _series(coordinator, members="member, amy")
    member = client_for("member")
    assert 'href="/mace"' in member.get("/").text and 'href="/dashboard"' in member.get(
        "/").text
    before = member.get(f"/mace/{MEETING}")
    assert before.status_code == 200 and "The agenda is not yet published" in before.text
    assert "C-1" not in before.text  # no draft for members: the children are need-to-know
    assert "/publish" not in before.text and "Create a series" not in member.get(
        "/mace?month=2024-06").text
    assert member.get("/cerar/CE-C-1").status_code == 404  # not yet on an agenda of theirs
    page = coordinator.get(f"/mace/{MEETING}")
    coordinator.post(f"/mace/{MEETING}/publish", data={"csrf_token": csrf_of(page.text)})
    after = member.get(f"/mace/{MEETING}")
    assert 'href="/cerar/CE-C-1"' in after.text and "/hold" not in after.text
    assert member.get("/cerar/CE-C-1").status_code == 200
    forged = member.post(f"/mace/{MEETING}/publish", data={"csrf_token": csrf_of(after.text)})
    assert forged.status_code in (403, 409)


def test_each_page_is_one_audited_read(app: App, coordinator: TestClient) -> None:
    _register(coordinator)
    _series(coordinator)
    for path, action in (("/cerar", "cerar.list"), ("/cerar/CE-C-1", "cerar.show"),
                         ("/mace?month=2024-06", "mace.meetings"),
                         (f"/mace/{MEETING}", "mace.show"), ("/dashboard", "status")):
        before, mine = _records(coordinator), _audit(app, action)
        assert coordinator.get(path).status_code == 200
        assert (_records(coordinator), _audit(app, action)) == (before + 1, mine + 1), path
