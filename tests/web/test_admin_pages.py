"""The administration pages (TestClient): users, roles in areas, one-time passwords and
links, API tokens, areas, and the audit trail with its verify button; refused and audited
for anyone but an administrator, who sees the same 404 page as for a missing address; on
SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from engine.app import App
from engine.core.store.access_store import AccessStore
from engine.core.store.account_store import AccountStore
from engine.core.store.models import AuditRecord
from tests.web.conftest import add_user, csrf_of

Client = Callable[[str], TestClient]


def records(app: App, action: str) -> list[Any]:
    with app.db.begin_read() as conn:
        return list(conn.execute(select(AuditRecord.actor, AuditRecord.outcome,  # type: ignore[call-overload]
                                        AuditRecord.detail)
                                 .where(AuditRecord.action == action)
                                 .order_by(AuditRecord.seq)))


def grants(app: App, login: str) -> dict[str, frozenset[str | None]]:
    with app.db.begin_read() as conn:
        principal = AccessStore(conn).principal(login)
    assert principal is not None
    return dict(principal.grants)


@pytest.fixture
def boss(app: App, client_for: Client) -> TestClient:
    """An administrator and nothing else; and zed, a user with no roles yet."""
    add_user(app.db, "boss", [("administrator", None)])
    add_user(app.db, "zed", [])
    return client_for("boss")


@pytest.fixture
def member(app: App, client_for: Client) -> TestClient:
    add_user(app.db, "member", [("case_review_member", "cumberland")])
    return client_for("member")


def test_the_administrator_sees_users_with_roles_and_lockout(app: App,
                                                             boss: TestClient) -> None:
    with app.db.begin() as conn:
        AccountStore(conn).set_password("zed", "x", False, app.clock.now())
        AccountStore(conn).lock("zed", app.clock.now() + dt.timedelta(minutes=15))
    page = boss.get("/admin/users")
    assert page.status_code == 200
    assert 'href="/admin/users"' in boss.get("/").text  # the header links here
    row = re.search(r'<a href="/admin/users/zed">zed</a>.*?</tr>', page.text, re.S)
    assert row and "Locked" in row.group(0)
    amy = re.search(r'<a href="/admin/users/amy">amy</a>.*?</tr>', page.text, re.S)
    assert amy and "Case review chair" in amy.group(0) and "all areas" in amy.group(0)
    assert records(app, "user.list")[-1][:2] == ("boss", "ok")


def test_grant_and_revoke_a_role_in_an_area(app: App, boss: TestClient) -> None:
    page = boss.get("/admin/users/zed")
    assert page.status_code == 200 and "holds no roles" in page.text
    granted = boss.post("/admin/users/zed/roles", data={
        "csrf_token": csrf_of(page.text), "change": "grant", "role": "case_review_chair",
        "area": "cumberland"}, follow_redirects=False)
    assert granted.status_code == 303
    assert grants(app, "zed") == {"case_review_chair": frozenset({"cumberland"})}
    shown = boss.get(granted.headers["location"])
    assert "The role has been granted." in shown.text and "Case review chair" in shown.text
    assert records(app, "user.grant")[-1][:2] == ("boss", "ok")
    revoked = boss.post("/admin/users/zed/roles", data={
        "csrf_token": csrf_of(shown.text), "change": "revoke", "role": "case_review_chair",
        "area": "cumberland"})
    assert revoked.status_code == 200 and "The role has been revoked." in revoked.text
    assert grants(app, "zed") == {}
    assert records(app, "user.revoke")[-1][:2] == ("boss", "ok")


def test_a_refused_grant_shows_the_engines_message_and_keeps_the_choice(
        app: App, boss: TestClient) -> None:
    page = boss.get("/admin/users/zed")
    bad = boss.post("/admin/users/zed/roles", data={
        "csrf_token": csrf_of(page.text), "change": "grant", "role": "auditor",
        "area": "cumberland"})
    assert bad.status_code == 400
    assert "There is a problem" in bad.text and 'href="#role"' in bad.text
    assert "auditor is a partnership-wide role" in bad.text
    assert '<option value="auditor" selected>' in bad.text
    assert grants(app, "zed") == {}


def test_one_time_password_and_sign_in_link_shown_once(app: App, boss: TestClient,
                                                       web: FastAPI) -> None:
    page = boss.get("/admin/users/zed")
    shown = boss.post("/admin/users/zed/password", data={
        "csrf_token": csrf_of(page.text), "kind": "password"})
    assert shown.status_code == 200
    found = re.search(r'<code class="secret">([^<]+)</code>', shown.text)
    assert found
    password = found.group(1)
    zed = TestClient(web)
    form = zed.get("/sign-in")
    signed = zed.post("/sign-in", data={"login": "zed", "password": password, "next": "/",
                                        "csrf_token": csrf_of(form.text)},
                      follow_redirects=False)
    assert signed.headers["location"] == "/account/password"  # they choose their own
    link = boss.post("/admin/users/zed/password", data={
        "csrf_token": csrf_of(page.text), "kind": "link"})
    assert "/sign-in/link/" in link.text and "can be used once" in link.text
    assert [r[2]["kind"] for r in records(app, "user.password")] == [
        "one-time password", "sign-in link"]
    assert password not in str(records(app, "user.password"))


def test_api_tokens_listed_and_revoked_on_the_users_page(app: App, boss: TestClient) -> None:
    ident, token = app.accounts.issue_token("boss", "zed", "dashboard")
    page = boss.get("/admin/users/zed")
    assert f"{ident}: dashboard" in page.text and token not in page.text
    revoked = boss.post(f"/admin/users/zed/tokens/{ident}/revoke",
                        data={"csrf_token": csrf_of(page.text)})
    assert "no longer works" in revoked.text and "Revoked" in revoked.text
    assert records(app, "user.token")[-1][2]["change"] == "revoked"


def test_areas_listed_and_added(app: App, boss: TestClient) -> None:
    page = boss.get("/admin/areas")
    assert page.status_code == 200 and "cumberland" in page.text
    bad = boss.post("/admin/areas", data={"csrf_token": csrf_of(page.text),
                                          "code": "West Area", "name": "West"})
    assert bad.status_code == 400 and "not a usable area code" in bad.text
    assert 'value="West Area"' in bad.text
    added = boss.post("/admin/areas", data={"csrf_token": csrf_of(page.text),
                                            "code": "west", "name": "Westmorland"})
    assert added.status_code == 200 and "The area has been added." in added.text
    assert "Westmorland" in added.text
    assert records(app, "area.add")[-1][:2] == ("boss", "ok")


def test_others_get_the_404_page_and_no_link(app: App, member: TestClient) -> None:
    missing = member.get("/nowhere")
    assert missing.status_code == 404
    for path in ("/admin/users", "/admin/users/amy", "/admin/users/nobody",
                 "/admin/areas", "/admin/audit"):
        response = member.get(path)
        assert response.status_code == 404, path
        assert response.text == missing.text, path
    assert "/admin/" not in member.get("/").text
    assert ("member", "refused") in [r[:2] for r in records(app, "user.list")]
    assert ("member", "refused") in [r[:2] for r in records(app, "audit.recent")]


def test_a_forged_post_by_a_non_administrator_is_refused_and_audited(
        app: App, boss: TestClient, member: TestClient) -> None:
    token = csrf_of(member.get("/").text)  # the member's own, valid, CSRF token
    forged = member.post("/admin/users/zed/roles", data={
        "csrf_token": token, "change": "grant", "role": "administrator", "area": ""})
    assert forged.status_code == 404
    assert grants(app, "zed") == {}
    refused = records(app, "user.grant")[-1]
    assert refused[:2] == ("member", "refused") and "administrator" in refused[2]["reason"]
    for path, data in (("/admin/users/zed/password", {"kind": "password"}),
                       ("/admin/areas", {"code": "x", "name": "X"}),
                       ("/admin/audit/verify", {})):
        assert member.post(path, data={"csrf_token": token, **data}).status_code == 404
    assert records(app, "user.password")[-1][:2] == ("member", "refused")
    assert records(app, "audit.verify")[-1][:2] == ("member", "refused")
    without = member.post("/admin/users/zed/roles", data={
        "change": "grant", "role": "administrator"})
    assert without.status_code == 403


def test_the_audit_trail_paginated_and_verified(app: App, boss: TestClient) -> None:
    for _ in range(60):
        app.admin.areas("amy")  # a record each
    page = boss.get("/admin/audit")
    assert page.status_code == 200
    assert "page 1 of 2" in page.text and 'href="/admin/audit?page=2"' in page.text
    assert page.text.count("<code>area.list</code>") == 50
    older = boss.get("/admin/audit?page=2")
    assert "Newer records" in older.text and "<code>user.bootstrap</code>" not in older.text
    ok = boss.post("/admin/audit/verify", data={"csrf_token": csrf_of(page.text)})
    assert ok.status_code == 200 and "The audit trail is intact" in ok.text
    verdict = records(app, "audit.verify")[-1]
    assert verdict[:2] == ("boss", "ok")
    assert f"Audit trail intact: {verdict[2]['records']} records" in ok.text
    with app.db.begin() as conn:  # what someone with direct database access could do
        if conn.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER audit_record_append_only_update"))
        else:
            conn.execute(text("DROP TRIGGER audit_record_append_only ON audit_record"))
        conn.execute(text("UPDATE audit_record SET actor = 'mallory' WHERE seq = 3"))
    broken = boss.post("/admin/audit/verify", data={"csrf_token": csrf_of(page.text)})
    assert "The audit trail is broken" in broken.text
    assert "The first broken record is number 3" in broken.text


def test_an_auditor_reads_the_trail_but_not_the_users(app: App, client_for: Client) -> None:
    add_user(app.db, "reader", [("auditor", None)])
    reader = client_for("reader")
    home = reader.get("/").text
    assert 'href="/admin/audit"' in home and 'href="/admin/users"' not in home
    trail = reader.get("/admin/audit")
    assert trail.status_code == 200 and 'href="/admin/users"' not in trail.text
    assert reader.get("/admin/users").status_code == 404


def _user(app: App, login: str) -> Any:
    with app.db.begin_read() as conn:
        return next(u for u in AccessStore(conn).users() if u.login == login)


def test_add_a_user_then_change_their_address_and_disable_and_enable_them(
        app: App, boss: TestClient) -> None:
    """What the CLI's 'user add', 'user update', 'user disable' and 'user enable' do, from
    the pages: each one service call, audited, the address itself kept out of the trail."""
    form = boss.get("/admin/users/new")
    assert form.status_code == 200 and 'type="email"' in form.text
    bad = boss.post("/admin/users", data={
        "csrf_token": csrf_of(form.text), "login": "jo", "display_name": "Jo Bloggs",
        "email": "not-an-address", "agency": "Police"})
    assert bad.status_code == 400 and 'href="#email"' in bad.text
    assert "not an email address" in bad.text and "Jo Bloggs" in bad.text  # values kept
    with app.db.begin_read() as conn:
        assert not any(u.login == "jo" for u in AccessStore(conn).users())
    added = boss.post("/admin/users", data={
        "csrf_token": csrf_of(form.text), "login": "jo", "display_name": "Jo Bloggs",
        "email": "jo@police.example", "agency": "Police"}, follow_redirects=False)
    assert added.status_code == 303 and added.headers["location"] == "/admin/users/jo?done=added"

    assert "Mail cannot reach this address" not in boss.get("/admin/users/jo").text
    with app.db.begin() as conn:  # as 'init' registers the first administrator
        AccessStore(conn).add_user("first", "first", "first@localhost", "(administration)",
                                   app.clock.now())
    assert "Mail cannot reach this address" in boss.get("/admin/users/first").text
    details = boss.get("/admin/users/jo/details")
    assert 'value="jo@police.example"' in details.text
    saved = boss.post("/admin/users/jo/details", data={
        "csrf_token": csrf_of(details.text), "display_name": "Jo Bloggs",
        "email": "jo.bloggs@police.example", "agency": "Police"}, follow_redirects=False)
    assert saved.headers["location"] == "/admin/users/jo?done=details"
    assert _user(app, "jo").email == "jo.bloggs@police.example"
    actor, outcome, detail = records(app, "user.update")[-1]
    assert (actor, outcome) == ("boss", "ok") and "police.example" not in str(detail)
    assert detail["changed"] == "email"  # the fields changed, not every field the form sent

    page = boss.get("/admin/users/jo")
    off = boss.post("/admin/users/jo/status", data={"csrf_token": csrf_of(page.text),
                                                    "change": "disable"})
    assert off.status_code == 200 and "The user is disabled" in off.text
    assert _user(app, "jo").disabled and "Enable jo" in off.text
    on = boss.post("/admin/users/jo/status", data={"csrf_token": csrf_of(off.text),
                                                   "change": "enable"})
    assert "enabled again" in on.text and not _user(app, "jo").disabled
    assert [r[:2] for r in records(app, "user.disable")] == [("boss", "ok")]
    assert [r[:2] for r in records(app, "user.enable")] == [("boss", "ok")]


def test_only_an_administrator_may_add_or_change_users(app: App, member: TestClient) -> None:
    assert member.get("/admin/users/new").status_code == 404
    page = member.get("/")
    for path, data in (("/admin/users", {"login": "x", "display_name": "X",
                                         "email": "x@example.org", "agency": "A"}),
                       ("/admin/users/amy/details", {"display_name": "A",
                                                     "email": "a@example.org", "agency": "A"}),
                       ("/admin/users/amy/status", {"change": "disable"})):
        refused = member.post(path, data={"csrf_token": csrf_of(page.text), **data})
        assert refused.status_code == 404, path
    assert not _user(app, "amy").disabled
    assert {r[1] for r in records(app, "user.update")} == {"refused"}
