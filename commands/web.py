"""``safeguard serve``: the web application on the configured database."""

from __future__ import annotations

import click

from commands._common import _runtime


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes (several only with PostgreSQL).")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the web application (sign in with 'safeguard user password LOGIN')."""
    import os

    import uvicorn

    from engine.core.errors import UsageError

    runtime = _runtime()
    app = runtime.app()  # the schema is checked before anything is served
    if workers > 1 and app.db.dialect != "postgresql":
        raise UsageError("several workers need PostgreSQL; SQLite serves with --workers 1")
    click.echo(f"Serving safeguard at http://{host}:{port}/ (Ctrl+C stops)")
    if workers == 1:
        from web.app import create_app

        uvicorn.run(create_app(app, serving=True), host=host, port=port, log_level="warning")
        return
    os.environ["SAFEGUARD_DATABASE_URL"] = app.settings.database_url
    if runtime.config:
        os.environ["SAFEGUARD_CONFIG"] = runtime.config
    if runtime.now:
        os.environ["SAFEGUARD_NOW"] = runtime.now
    app.close()
    uvicorn.run("web.serve:factory", factory=True, host=host, port=port, workers=workers,
                log_level="warning")
