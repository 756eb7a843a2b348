"""Persistence: SQLModel tables, the database handle and Alembic migrations.

No module-level engine or session: a :class:`~engine.core.store.database.Database` is made by
whoever needs one (the CLI, a test) from a URL.
"""

# The Alembic revision the code expects; a test keeps it equal to the migrations' head.
SCHEMA_REVISION = "0012_mace_action_drop"
