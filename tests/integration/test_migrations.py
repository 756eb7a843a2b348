"""The migrations and the models agree, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

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
