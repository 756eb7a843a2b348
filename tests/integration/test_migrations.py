"""The migrations and the models agree, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import engine.core.store.models
from engine.core.store import SCHEMA_REVISION
from engine.core.store.database import Database


def test_schema_revision_is_the_migrations_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(
        Path(engine.core.store.models.__file__).with_name("migrations")))
    assert ScriptDirectory.from_config(config).get_heads() == [SCHEMA_REVISION]


def test_upgraded_database_matches_the_models(db: Database) -> None:
    assert db.schema_revision() == SCHEMA_REVISION
    with db.read_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_upgrade_is_harmless_to_repeat(db: Database) -> None:
    assert db.upgrade() == SCHEMA_REVISION


def test_downgrade_to_the_engine_schema_and_back(sqlite_url: str) -> None:
    from alembic import command

    database = Database(sqlite_url)
    database.upgrade()
    config = Config()
    config.set_main_option("script_location", str(
        Path(engine.core.store.models.__file__).with_name("migrations")))
    with database.write_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0001_initial")
    assert database.schema_revision() == "0001_initial"
    assert database.upgrade() == SCHEMA_REVISION
    database.dispose()


@pytest.mark.postgres
def test_postgresql_sessions_run_without_jit_unless_the_url_says(pg_url: str) -> None:
    """The report's aggregates are estimated costly and run short: PostgreSQL's JIT spent
    longer compiling them than running them, so our sessions turn it off; a deployment that
    sets its own server options in the URL keeps them."""
    plain = Database(pg_url)
    own = Database(pg_url + "?options=-c%20jit%3Don%20-c%20work_mem%3D8MB")
    try:
        with plain.begin_read() as conn:
            assert conn.exec_driver_sql("SHOW jit").scalar() == "off"
        with plain.begin() as conn:  # the write engine too
            assert conn.exec_driver_sql("SHOW jit").scalar() == "off"
        with own.begin_read() as conn:
            assert conn.exec_driver_sql("SHOW jit").scalar() == "on"
            assert conn.exec_driver_sql("SHOW work_mem").scalar() == "8MB"
    finally:
        plain.dispose()
        own.dispose()
