"""A database URL per test module, on SQLite and on PostgreSQL: for CLI tests that set up one
world and run many commands (and hypothesis examples) against it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import PG_ADMIN_URL, _pg_admin


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def module_db_url(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty database (PostgreSQL: a clone of the migrated template) for the module."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'd.db'}"
        return
    from sqlalchemy import text

    template = request.getfixturevalue("pg_template")
    name = f"sg_mod_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin()
    with admin.connect() as conn:  # type: ignore[attr-defined]
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:  # type: ignore[attr-defined]
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()  # type: ignore[attr-defined]
