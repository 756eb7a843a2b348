"""The JSON API (/api/v1) over the services, with tokens issued by the CLI: the same
permission checks and audit records as the pages, errors as problem+json, on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from cli import main
from engine.app import App
from engine.core.store.models import AuditRecord, Case
from tests.web.conftest import add_user

API = "/api/v1"


def token_for(app: App, login: str, *extra: str) -> str:
    """``safeguard user token LOGIN`` as the administrator (the OS login in the tests)."""
    result = CliRunner().invoke(main, ["--db", app.db.url, "user", "token", login, *extra])
    assert result.exit_code == 0, result.output
    token = result.stdout.splitlines()[0].strip()
    assert token.startswith("sgt_")
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def records(app: App, action: str | None = None) -> list[Any]:
    query = select(AuditRecord.seq, AuditRecord.actor, AuditRecord.action,  # type: ignore[call-overload]
                   AuditRecord.outcome, AuditRecord.case_ref, AuditRecord.command,
                   AuditRecord.detail).order_by(AuditRecord.seq)
    if action:
        query = query.where(AuditRecord.action == action)
    with app.db.begin_read() as conn:
        return list(conn.execute(query))


def assert_problem(response: Any, status: int, kind: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert set(body) == {"type", "title", "status", "detail"} and body["status"] == status
    assert body["detail"] and "\n" not in body["detail"]
    if kind:
        assert body["type"] == f"/api/v1/problems/{kind}"
    return dict(body)


@pytest.fixture
def client(web: FastAPI) -> TestClient:
    return TestClient(web, raise_server_exceptions=False)


def _open(app: App, ref: str = "PR-1") -> None:
    app.engine.open_case("practice_review", ref, {
        "became_aware_on": "2024-06-03", "child_ref": "C-1", "label": "Review 1",
        "child_name": "Jo Example"}, "amy", area="cumberland")


def test_list_show_and_fire_as_the_tokens_user_each_audited(app: App,
                                                            client: TestClient) -> None:
    _open(app)
    _open(app, "PR-2")
    auth = bearer(token_for(app, "amy", "--name", "case dashboard"))
    listed = client.get(f"{API}/cases", params={"limit": 1}, headers=auth)
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert page["total"] == 2 and [c["ref"] for c in page["cases"]] == ["PR-1"]
    assert page["cases"][0]["next_deadline"]["name"] == "notification"
    assert client.get(f"{API}/cases", params={"limit": 1, "offset": 1},
                      headers=auth).json()["cases"][0]["ref"] == "PR-2"
    shown = client.get(f"{API}/cases/PR-1", headers=auth).json()
    assert (shown["state"], shown["version"]) == ("awaiting_notification", 1)
    assert "notify" in [s["name"] for s in shown["steps"] if s["allowed"]]
    assert shown["events"][0]["trigger"] and shown["data"]["child_ref"] == "C-1"
    before = len(records(app))
    fired = client.post(f"{API}/cases/PR-1/fire", headers=auth, json={
        "trigger": "notify", "data": {"notified_on": "2024-06-04"}, "expected_version": 1,
        "note": "sent by the partnership"})
    assert fired.status_code == 200, fired.text
    assert (fired.json()["state"], fired.json()["version"]) == ("rapid_review", 2)
    added = records(app)[before:]
    assert [(r.actor, r.action, r.outcome, r.case_ref, r.command) for r in added] == [
        ("amy", "case.advance", "ok", "PR-1", "api fire notify")]
    reads = records(app, "case.show")
    assert reads[-1].command == "api case" and reads[-1].actor == "amy"
    assert records(app, "case.list")[-1].command == "api cases"


def test_tasks_cerar_register_and_mace_meetings(app: App, client: TestClient) -> None:
    _open(app)
    app.cerar.open("C-9", "2024-06-03", "police", "cumberland", "coord")
    auth = bearer(token_for(app, "amy"))
    tasks = client.get(f"{API}/tasks", headers=auth)
    assert tasks.status_code == 200
    assert ("PR-1", "notification") in [(t["ref"], t["deadline"])
                                        for t in tasks.json()["tasks"]]
    register = client.get(f"{API}/cerar", headers=auth)
    assert [c["child_ref"] for c in register.json()["children"]] == ["C-9"]
    assert_problem(client.get(f"{API}/cerar", params={"level": "severe"}, headers=auth), 400)
    meetings = client.get(f"{API}/mace/meetings", headers=auth)
    assert meetings.status_code == 200 and meetings.json() == {"meetings": []}


def test_no_token_a_wrong_one_and_a_revoked_one_are_401(app: App, client: TestClient,
                                                        web: FastAPI) -> None:
    _open(app)
    body = assert_problem(client.get(f"{API}/cases"), 401, "unauthorized")
    assert "Bearer" in body["detail"]
    assert client.get(f"{API}/cases").headers["www-authenticate"] == "Bearer"
    assert_problem(client.get(f"{API}/cases", headers=bearer("sgt_made-up")), 401)
    assert records(app, "api.authenticate")[-1].outcome == "refused"
    token = token_for(app, "amy")
    assert client.get(f"{API}/cases/PR-1", headers=bearer(token)).status_code == 200
    listed = CliRunner().invoke(main, ["--db", app.db.url, "user", "token", "amy", "--list",
                                       "--json"])
    assert listed.exit_code == 0, listed.output
    assert "sgt_" not in listed.output  # only the hash is kept
    ident = str(max(t["id"] for t in json.loads(listed.stdout)))
    revoked = CliRunner().invoke(main, ["--db", app.db.url, "user", "token", "amy",
                                        "--revoke", ident])
    assert revoked.exit_code == 0, revoked.output
    assert [r.detail.get("change") for r in records(app, "user.token")] == [
        "issued", "listed", "revoked"]
    assert_problem(client.get(f"{API}/cases/PR-1", headers=bearer(token)), 401)
    again = CliRunner().invoke(main, ["--db", app.db.url, "user", "token", "amy",
                                      "--revoke", ident])
    assert again.exit_code == 2 and "no live token" in again.output


def test_a_browser_session_cookie_is_not_enough(app: App, client_for: Any) -> None:
    """No cookies on the API, so no cross-site request can use a signed-in browser."""
    _open(app)
    amy = client_for("amy")
    assert amy.get("/cases/PR-1").status_code == 200
    assert_problem(amy.post(f"{API}/cases/PR-1/fire", json={
        "trigger": "notify", "data": {"notified_on": "2024-06-04"}}), 401)


def test_forbidden_is_403_and_invisible_is_404_like_missing(app: App,
                                                            client: TestClient) -> None:
    _open(app)
    add_user(app.db, "member", [("case_review_member", "cumberland")])
    add_user(app.db, "west", [("case_review_chair", "westmorland")])
    member, west = bearer(token_for(app, "member")), bearer(token_for(app, "west"))
    assert client.get(f"{API}/cases/PR-1", headers=member).status_code == 200
    refused = assert_problem(client.post(f"{API}/cases/PR-1/fire", headers=member, json={
        "trigger": "notify", "data": {"notified_on": "2024-06-04"}}), 403, "forbidden")
    assert "member may not fire 'notify'" in refused["detail"]
    hidden = assert_problem(client.get(f"{API}/cases/PR-1", headers=west), 404, "not-found")
    missing = assert_problem(client.get(f"{API}/cases/PR-9", headers=west), 404)
    assert hidden["detail"].replace("PR-1", "X") == missing["detail"].replace("PR-9", "X")
    fire_hidden = assert_problem(client.post(f"{API}/cases/PR-1/fire", headers=west, json={
        "trigger": "notify", "data": {"notified_on": "2024-06-04"}}), 404)
    assert fire_hidden["detail"] == hidden["detail"]
    assert client.get(f"{API}/cases", headers=west).json()["total"] == 0
    assert_problem(client.get(f"{API}/mace/meetings", headers=west), 403)
    refusals = [(r.actor, r.action) for r in records(app) if r.outcome == "refused"]
    assert ("member", "case.advance") in refusals and ("west", "case.show") in refusals
    with app.db.begin_read() as conn:
        assert conn.execute(select(Case.state)).scalar_one() == "awaiting_notification"


def test_stale_version_and_wrong_state_are_409_and_write_nothing(app: App,
                                                                 client: TestClient) -> None:
    _open(app)
    auth = bearer(token_for(app, "amy"))
    app.engine.correct("PR-1", {"label": "Review one"}, "bob", "typo")
    before = len(records(app))
    stale = assert_problem(client.post(f"{API}/cases/PR-1/fire", headers=auth, json={
        "trigger": "notify", "data": {"notified_on": "2024-06-04"}, "expected_version": 1}),
        409, "version-conflict")
    assert "changed by someone else" in stale["detail"]
    assert_problem(client.post(f"{API}/cases/PR-1/fire", headers=auth, json={
        "trigger": "publish", "data": {}}), 409, "state-conflict")
    assert len(records(app)) == before  # conflicts are not refusals: nothing recorded
    with app.db.begin_read() as conn:
        assert conn.execute(select(Case.version)).scalar_one() == 2


@pytest.mark.parametrize(("body", "words"), [
    ({"trigger": "notify", "data": {"notified_on": "2024-13-45"}}, "notified_on"),
    ({"data": {}}, "trigger"),
    ({"trigger": "notify", "data": {"notified_on": 5}}, "notified_on"),
    ({"trigger": "notify", "data": {"notified_on": "x" * 20_000}}, "notified_on"),
    ({"trigger": "notify", "expected_version": 0}, "expected_version"),
])
def test_bad_input_is_400_with_one_line(app: App, client: TestClient, body: dict[str, Any],
                                        words: str) -> None:
    _open(app)
    auth = bearer(token_for(app, "amy"))
    problem = assert_problem(client.post(f"{API}/cases/PR-1/fire", headers=auth, json=body),
                             400, "bad-request")
    assert words in problem["detail"]
    with app.db.begin_read() as conn:
        assert conn.execute(select(Case.version)).scalar_one() == 1


def test_unknown_filter_and_address_are_problems(app: App, client: TestClient) -> None:
    auth = bearer(token_for(app, "amy"))
    assert "no state 'nowhere'" in assert_problem(client.get(
        f"{API}/cases", params={"state": "nowhere"}, headers=auth), 400)["detail"]
    assert_problem(client.get(f"{API}/cases", params={"limit": 0}, headers=auth), 400)
    assert_problem(client.get(f"{API}/nothing-here", headers=auth), 404)


def test_the_openapi_schema_documents_the_api_only(client: TestClient) -> None:
    schema = client.get(f"{API}/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/cases", "/cases/{ref}", "/cases/{ref}/fire", "/tasks", "/cerar",
            "/mace/meetings"} <= set(paths)
    assert schema.json()["servers"] == [{"url": "/api/v1"}]
    fire = paths["/cases/{ref}/fire"]["post"]
    assert {"400", "401", "403", "404", "409"} <= set(fire["responses"])
    assert "422" not in fire["responses"]  # bad input is a 400 problem
    assert "application/problem+json" in fire["responses"]["409"]["content"]
    assert schema.json()["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "Case" in schema.json()["components"]["schemas"]
    assert client.get("/openapi.json").status_code == 404  # the pages have none


def test_hostile_requests_are_problems_too(app: App, client: TestClient) -> None:
    _open(app)
    auth = bearer(token_for(app, "amy"))
    many = {f"f{n}": "x" for n in range(500)}
    assert_problem(client.post(f"{API}/cases/PR-1/fire", headers=auth, json={
        "trigger": "notify", "data": many}), 400)
    assert_problem(client.post(f"{API}/cases/PR-1/fire", headers=auth,
                               content=b"{" * 2_000_000), 413)
    assert_problem(client.post(f"{API}/cases/PR-1/fire", headers=auth, content=b"{not json"),
                   400)
    assert_problem(client.delete(f"{API}/cases", headers=auth), 405)
    with app.db.begin_read() as conn:
        assert conn.execute(select(Case.version)).scalar_one() == 1
    app.cerar.open("C-9", "2024-06-03", "police", "cumberland", "coord")
    via = assert_problem(client.post(f"{API}/cases/CE-C-9/fire", headers=auth, json={
        "trigger": "record_missing_episode", "data": {"episode": "M1"}}), 400)
    assert "safeguard cerar missing" in via["detail"]  # a domain's trigger: its own route
