"""Shared fixtures. Integration tests run on SQLite and on PostgreSQL through one parametrised
``db_url`` fixture; a PostgreSQL database per test is cloned from a migrated template.

Without a PostgreSQL server the PostgreSQL half is skipped (and pytest says so); under CI
(``CI`` set) an unreachable server is an error, so nothing skips there.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from engine.app import App, build_app
from engine.core.auditing import AuditTrail
from engine.core.calendar import WorkingCalendar
from engine.core.clock import LONDON, Clock, FixedClock
from engine.core.registry import WorkflowRegistry
from engine.core.service import Engine
from engine.core.settings import SHIPPED_WORKFLOWS, NotificationSettings, Settings
from engine.core.store.database import Database
from notifications.transports import Transport

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


@pytest.fixture(scope="session", autouse=True)
def workflow_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Parsed definitions are cached in the session's own folder (commands run in this
    process and in subprocesses alike), never in the user's cache directory."""
    folder = tmp_path_factory.mktemp("workflow-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SAFEGUARD_CACHE_DIR", str(folder))
        yield folder


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


def pg_clone(template: str, prefix: str) -> Iterator[str]:
    """A fresh PostgreSQL database cloned from ``template``, dropped afterwards."""
    from sqlalchemy import text

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin()
    with admin.connect() as conn:  # type: ignore[attr-defined]
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:  # type: ignore[attr-defined]
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()  # type: ignore[attr-defined]


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from pg_clone(request.getfixturevalue("pg_template"), "sg_test")


def cli_as(db_url: str, actor: str) -> Any:
    """``invoke(now, *args, code=0)``: the CLI on a seeded database as ``actor``, asserting
    the exit code and that no traceback escaped."""
    from click.testing import CliRunner

    from cli import main

    database = Database(db_url)
    database.upgrade()
    seed_access(database, users=TEAM)
    database.dispose()
    runner = CliRunner()

    def invoke(now: str, *args: str, code: int = 0) -> Any:
        result = runner.invoke(main, ["--db", db_url, "--as", actor, "--now", now, *args])
        assert result.exit_code == code, result.output
        assert "Traceback" not in result.output
        return result

    return invoke


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


def make_app(db: Database, clock: Clock, head_file: Path | None = None, *,
             workflows_dir: Path = SHIPPED_WORKFLOWS,
             notifications: NotificationSettings | None = None,
             transport: Callable[[], Transport] | None = None,
             audit_key: bytes | None = None, raw: dict[str, Any] | None = None) -> App:
    """The application over a test database, built by the composition root as every front
    end builds it (mail goes to an in-memory transport unless ``transport`` says)."""
    settings = Settings(database_url=db.url, audit_head_file=head_file,
                        workflows_dir=workflows_dir, audit_key=audit_key,
                        notifications=notifications or NotificationSettings(transport="memory"),
                        raw=raw or {})
    return build_app(settings, clock, db=db, transport=transport)


@pytest.fixture
def app(db: Database, clock: FixedClock, tmp_path: Path) -> App:
    return make_app(db, clock, tmp_path / "audit-head.json")


@pytest.fixture
def engine(app: App) -> Engine:
    return app.engine


@pytest.fixture
def trail(engine: Engine, db: Database) -> AuditTrail:
    """An audit chain of five records: a case opened, notified, shown, its history, a list."""
    engine.open_case("practice_review", "PR-1", {"became_aware_on": "2024-06-03",
                                                 "child_ref": "C-5", "label": "Chain"},
                     actor="amy")
    engine.fire("PR-1", "notify", {"notified_on": "2024-06-07"}, actor="amy")
    engine.case("PR-1", "amy")
    engine.history("PR-1", "bob")
    engine.cases("bob")
    return AuditTrail(db, engine.gate)


DEMO_SEED = 2023  # `safeguard demo`'s default


@dataclass(frozen=True)
class DemoYear:
    """``safeguard demo``'s year (default seed, the OS login as its manager), built once per
    test session. Read it only: its files, or its database through ``Database.begin_read()``
    and the pure report functions (``figures`` holds the annual figures already). A command or
    service call audits, which writes: take a ``demo_copy`` for that."""

    folder: Path
    url: str
    emails: Path
    counts: dict[str, int]
    figures: dict[str, Any]


def casework_figures(conn: Any, start: dt.date, end: dt.date) -> dict[str, Any]:
    """The casework sections' figures for the partnership (``section.figure`` -> value), as
    the report's sources count them."""
    from engine.apps.report.sources import CASEWORK, default_sources

    keys = {key for key, _ in CASEWORK}
    return {f"{src.key}.{k}": v for src in default_sources() if src.key in keys
            for k, _, v in src.build(src.load(conn, start, end), start, end, None).figures}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def demo_year(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoYear]:
    """The demonstration year, built once per session for the tests that only read it; the
    session fails if any test wrote to it."""
    from engine.apps.demo.year import YEAR, build_year

    folder = tmp_path_factory.mktemp("demo-year")
    result = build_year(folder, getpass.getuser(), DEMO_SEED)
    database = Database(result.url)
    with database.begin_read() as conn:
        figures = casework_figures(conn, *YEAR)
    database.dispose()
    year = DemoYear(folder, result.url, result.emails, dict(result.counts), figures)
    before = _digest(folder / "demo.db")
    yield year
    assert _digest(folder / "demo.db") == before, \
        "a test wrote to the shared demo year: use demo_copy"


@pytest.fixture
def demo_copy(demo_year: DemoYear, tmp_path: Path) -> DemoYear:
    """A private copy of the demo year (database, audit head file, emails) to change."""
    folder = tmp_path / "demo"
    shutil.copytree(demo_year.folder, folder,
                    ignore=shutil.ignore_patterns("*.db-wal", "*.db-shm", "*.lock"))
    return DemoYear(folder, f"sqlite:///{folder / 'demo.db'}", folder / "outbox",
                    dict(demo_year.counts), dict(demo_year.figures))
