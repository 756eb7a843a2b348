"""The models and the migrations agree, and the code expects the migrations' head."""

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


def test_models_match_migrations(db: Database) -> None:
    with db.write_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def test_schema_revision_is_the_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(
        Path(engine.core.store.models.__file__).with_name("migrations")))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_REVISION
