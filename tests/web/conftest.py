"""The web application over a test database: users with passwords, and a signed-in client."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from engine.app import App
from engine.core.store.access_store import AccessStore
from engine.core.store.database import Database
from web import create_app

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_user(db: Database, login: str, grants: list[tuple[str, str | None]]) -> None:
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    with db.begin() as conn:
        store = AccessStore(conn)
        for code in {a for _, a in grants if a}:
            if code not in [c for c, _ in store.areas()]:
                store.add_area(code, code.title())
        store.add_user(login, login.title(), f"{login}@example.org", "Test agency", now)
        user_id = store.user_id(login)
        assert user_id is not None
        for role, area in grants:
            store.grant(user_id, role, area, "tests", now)


def give_password(app: App, login: str, password: str = PASSWORD) -> None:
    """As an administrator would, then as the user choosing their own password."""
    from engine.core.store.account_store import AccountStore

    with app.db.begin() as conn:
        AccountStore(conn).set_password(login, app.accounts.hasher.hash(password), False,
                                        app.clock.now())


@pytest.fixture
def web(app: App) -> FastAPI:
    return create_app(app)


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def sign_in(client: TestClient, login: str, password: str = PASSWORD) -> TestClient:
    page = client.get("/sign-in")
    response = client.post("/sign-in", data={"login": login, "password": password,
                                             "csrf_token": csrf_of(page.text), "next": "/"},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return client


@pytest.fixture
def client_for(app: App, web: FastAPI) -> Callable[[str], TestClient]:
    def make(login: str) -> TestClient:
        give_password(app, login)
        return sign_in(TestClient(web, raise_server_exceptions=False), login)

    return make
