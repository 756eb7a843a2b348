"""Shared fixtures. Integration tests run on SQLite and on PostgreSQL through one parametrised
``db_url`` fixture; a PostgreSQL database per test is cloned from a migrated template.

Without a PostgreSQL server the PostgreSQL half is skipped (and pytest says so); under CI
(``CI`` set) an unreachable server is an error, so nothing skips there.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.core.calendar import WorkingCalendar
from engine.core.clock import LONDON, FixedClock
from engine.core.loader import WorkflowRegistry
from engine.core.service import Engine
from engine.core.settings import SHIPPED_WORKFLOWS
from engine.core.store.database import Database

PG_ADMIN_URL = os.environ.get(
    "SAFEGUARD_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


AREA = "cumberland"
# Test users holding every role, for every area; the OS login too, for CLI runs without --as.
# The CERAR/MACE scenarios' coordinator, chair and manager likewise (the access tests narrow it).
EVERYONE = ("amy", "bob", getpass.getuser(), "coord", "chair", "mgr")
TEAM = EVERYONE


def seed_access(db: Database, users: tuple[str, ...] = EVERYONE, area: str = AREA) -> None:
    """One area and users who hold every role everywhere (the access tests make their own)."""
    from engine.core.roles import ROLES
    from engine.core.store.access_store import AccessStore

    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    with db.begin() as conn:
        store = AccessStore(conn)
        if area not in [code for code, _ in store.areas()]:
            store.add_area(area, area.title())
        for login in users:
            if store.user_exists(login):
                continue
            store.add_user(login, login.title(), f"{login}@example.org", "Test agency", now)
            user_id = store.user_id(login)
            assert user_id is not None
            for role in ROLES:
                store.grant(user_id, role, None, "tests", now)


def london(text: str) -> dt.datetime:
    """'2024-06-03 09:00' as an aware Europe/London datetime."""
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=LONDON)


def _pg_admin() -> object:
    from sqlalchemy import create_engine

    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated template database; each PostgreSQL test gets a clone of it."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    admin = _pg_admin()
    try:
        with admin.connect() as conn:  # type: ignore[attr-defined]
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        message = f"PostgreSQL not reachable at {PG_ADMIN_URL}: {str(exc.orig).strip()}"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI must run every test: start PostgreSQL)")
        pytest.skip(message)
    name = f"sg_tmpl_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:  # type: ignore[attr-defined]
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db = Database(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    db.upgrade()
    db.dispose()
    yield name
    with admin.connect() as conn:  # type: ignore[attr-defined]
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()  # type: ignore[attr-defined]


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    from sqlalchemy import text

    template = request.getfixturevalue("pg_template")
    name = f"sg_test_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin()
    with admin.connect() as conn:  # type: ignore[attr-defined]
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:  # type: ignore[attr-defined]
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()  # type: ignore[attr-defined]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'safeguard.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return str(request.getfixturevalue("sqlite_url"))


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    database.upgrade()
    seed_access(database)
    yield database
    database.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(london("2024-06-03 09:00"))


@pytest.fixture(scope="session")
def registry() -> WorkflowRegistry:
    return WorkflowRegistry.from_directory(SHIPPED_WORKFLOWS)


@pytest.fixture(scope="session")
def calendar() -> WorkingCalendar:
    return WorkingCalendar()


@pytest.fixture
def engine(db: Database, registry: WorkflowRegistry, clock: FixedClock,
           calendar: WorkingCalendar, tmp_path: Path) -> Engine:
    return Engine(db, registry, clock, calendar, tmp_path / "audit-head.json")
