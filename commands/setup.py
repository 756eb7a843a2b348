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
@click.option("--serve", is_flag=True,
              help="Then serve it in the web application, with a sign-in for every role.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
def demo(folder: str | None, seed: int, serve: bool, host: str, port: int) -> None:
    """Build a fresh demo database holding a partnership year, then show the dashboard
    (and with --serve, serve it on the web)."""
    _runtime().resume_collector()  # a long command that builds its own applications
    from engine.apps.demo.year import demo_app, demo_sign_ins, run_demo

    you = _runtime().os_login
    result = run_demo(folder, click.echo, you, seed)
    if not serve:
        return
    import uvicorn

    from web.app import create_app

    app = demo_app(result)
    password, people = demo_sign_ins(app, you)
    click.echo(f"\nSign in as any of these, password {password} (this demo database only):")
    width = max(len(login) for login, _ in people)
    for login, what in people:
        click.echo(f"  {login:<{width}}  {what}")
    click.echo(f"Serving the demonstration at http://{host}:{port}/ (Ctrl+C stops); its "
               "clock stands at the year's last evening, 15 April 2024 18:30.")
    try:
        uvicorn.run(create_app(app, serving=True), host=host, port=port, log_level="warning")
    finally:
        app.close()
