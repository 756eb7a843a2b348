"""``safeguard init`` (create or upgrade the database) and ``safeguard demo`` (the
demonstration year)."""

from __future__ import annotations

import click

from commands._common import COUNT, _runtime


@click.command()
def init() -> None:
    """Create the database or upgrade it to the latest schema (safe to repeat)."""
    runtime = _runtime()
    if runtime.settings.demo_mode:  # refused before the database is even made
        from engine.core.errors import DeploymentError

        raise DeploymentError("demo mode exists only in databases made by 'safeguard demo': "
                              "remove [access] demo_mode from the configuration")
    app = runtime.app(check_schema=False)
    db = app.db
    before = db.schema_revision()
    after = db.upgrade()
    app.admin.record_deployment(runtime.settings)
    state = "already at" if before == after else "upgraded to" if before else "created at"
    click.echo(f"Database {db.display_url}: {state} schema {after}.")
    if app.admin.bootstrap(runtime.os_login):
        click.echo(f"Registered {runtime.os_login} as the first administrator: add users with "
                   "'safeguard user add' and grant roles with 'safeguard user grant'.")


@click.command()
@click.option("--out", "folder", type=click.Path(file_okay=False), default=None,
              help="Folder for the demo database and its emails (default: your data "
                   "directory).")
@click.option("--seed", default=2023, show_default=True, type=COUNT,
              help="The same seed builds the same year.")
def demo(folder: str | None, seed: int) -> None:
    """Build a fresh demo database holding a partnership year, then show the dashboard."""
    from engine.apps.demo.year import run_demo

    run_demo(folder, click.echo, _runtime().os_login, seed)
