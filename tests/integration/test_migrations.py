"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import engine.store.models
from engine.store import SCHEMA_REVISION
from engine.store.database import Database


def test_code_expects_the_head_revision() -> None:
    config = Config()
    config.set_main_option("script_location", str(
        Path(engine.store.models.__file__).with_name("migrations")))
    assert ScriptDirectory.from_config(config).get_heads() == [SCHEMA_REVISION]


def test_migrated_schema_matches_the_models(db: Database) -> None:
    with db.read_engine.connect() as conn:
        context = MigrationContext.configure(conn)
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_upgrade_twice_is_harmless(db: Database) -> None:
    assert db.upgrade() == SCHEMA_REVISION
    assert db.schema_revision() == SCHEMA_REVISION
