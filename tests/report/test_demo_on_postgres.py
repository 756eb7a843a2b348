"""The demonstration year on PostgreSQL: the same year as on SQLite, part for part.

A partnership deploys on PostgreSQL, and the scale and web benchmarks build their PostgreSQL
databases with this same year; a copy of the year's steps there once missed the business
plan and the child deaths without anything failing."""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.apps.demo.year import YEAR, fill_year
from engine.core.store.database import Database
from engine.core.store.models import Case
from tests.conftest import DEMO_SEED, DemoYear, casework_figures

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _cases_by_workflow(url: str) -> dict[str, int]:
    table = Case.__table__  # type: ignore[attr-defined]
    database = Database(url)
    try:
        with database.begin_read() as conn:
            return {workflow: int(n) for workflow, n in conn.execute(
                select(table.c.workflow, func.count()).group_by(table.c.workflow))}
    finally:
        database.dispose()


def test_the_demo_year_on_postgresql_is_the_year_built_on_sqlite(
        demo_year: DemoYear, pg_url: str, tmp_path: Path) -> None:
    emails = tmp_path / "outbox"
    emails.mkdir()
    counts = fill_year(pg_url, emails, getpass.getuser(), DEMO_SEED)
    assert counts == demo_year.counts
    on_sqlite = _cases_by_workflow(demo_year.url)
    assert {"business_plan_action", "child_death_review", "cerar"} <= set(on_sqlite)
    assert _cases_by_workflow(pg_url) == on_sqlite
    database = Database(pg_url)
    try:
        with database.begin_read() as conn:
            assert casework_figures(conn, *YEAR) == demo_year.figures
    finally:
        database.dispose()
    assert len(list(emails.glob("*.eml"))) == len(list(demo_year.emails.glob("*.eml")))
