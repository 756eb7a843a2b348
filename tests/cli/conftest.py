"""A database URL per test module, on SQLite and on PostgreSQL: for CLI tests that set up one
world and run many commands (and hypothesis examples) against it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import pg_clone


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def module_db_url(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty database (PostgreSQL: a clone of the migrated template) for the module."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'd.db'}"
        return
    yield from pg_clone(request.getfixturevalue("pg_template"), "sg_mod")
