"""Journey 3 over HTTP (TestClient): a reminder email's "Open case" link, followed while
signed out, leads through sign-in to the case, where the deadline is met. Also the 500 page
(a reference, no detail) and ``serve``'s refusal of several workers on SQLite."""

from __future__ import annotations

import datetime as dt
import email
import re
from email import policy
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from engine.core.clock import FixedClock
from engine.core.settings import NotificationSettings
from engine.core.store.database import Database
from notifications.transports import EmlFolderTransport
from tests.conftest import london, make_app
from tests.web.conftest import PASSWORD, csrf_of, give_password
from web import create_app


def test_the_reminder_link_leads_through_sign_in_to_the_case(db: Database,
                                                              tmp_path: Path) -> None:
    clock = FixedClock(london("2024-06-03 09:00"))
    folder = tmp_path / "eml"
    notes = NotificationSettings(transport="eml", eml_dir=folder,
                                 base_url="http://safeguard.example")
    app = make_app(db, clock, notifications=notes,
                   transport=lambda: EmlFolderTransport(folder))
    app.engine.open_case("practice_review", "PR-7", {
        "became_aware_on": "2024-06-03", "child_ref": "C-7", "label": "L"}, "amy",
        area="cumberland")
    clock.set(london("2024-06-06 08:00"))
    app.notifier.sweep()
    app.notifier.dispatch()
    links = set()
    for path in sorted(folder.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        links |= set(re.findall(r"http://safeguard\.example/cases/PR-7\b", body.get_content()))
    assert links, "no reminder email with the case's link"
    link = urlsplit(links.pop()).path
    give_password(app, "amy")
    client = TestClient(create_app(app))
    to_sign_in = client.get(link, follow_redirects=False)
    assert to_sign_in.status_code == 303
    page = client.get(to_sign_in.headers["location"])
    landed = client.post("/sign-in", data={"login": "amy", "password": PASSWORD,
                                           "next": "/cases/PR-7",
                                           "csrf_token": csrf_of(page.text)})
    assert landed.url.path == "/cases/PR-7" and "Case PR-7" in landed.text
    form = client.get("/cases/PR-7/steps/notify")
    met = client.post("/cases/PR-7/steps/notify", data={
        "csrf_token": csrf_of(form.text), "version": "1", "notified_on": "2024-06-06"})
    assert met.status_code == 200 and "Met" in met.text
    assert app.engine.case("PR-7", "amy").deadlines[0].status == "met"


def test_an_unexpected_error_is_a_500_page_with_a_reference(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(db, FixedClock(dt.datetime(2024, 6, 3, 9, tzinfo=dt.UTC)))
    give_password(app, "amy")
    client = TestClient(create_app(app), raise_server_exceptions=False)
    page = client.get("/sign-in")
    client.post("/sign-in", data={"login": "amy", "password": PASSWORD,
                                  "csrf_token": csrf_of(page.text)})

    def broken(*args: object) -> None:
        raise RuntimeError("secret detail C-1 Jane")

    monkeypatch.setattr(app.casework, "page", broken)
    response = client.get("/cases/PR-1")
    assert response.status_code == 500
    assert "reference" in response.text and "secret detail" not in response.text
    assert "Traceback" not in response.text


def test_serve_refuses_several_workers_on_sqlite(sqlite_url: str) -> None:
    from cli import main

    database = Database(sqlite_url)
    database.upgrade()
    database.dispose()
    result = CliRunner().invoke(main, ["--db", sqlite_url, "serve", "--workers", "2"])
    assert result.exit_code == 2 and "PostgreSQL" in result.output
