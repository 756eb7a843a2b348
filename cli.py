"""The `safeguard` command line: the root group, its global options, the one place where
errors become an ``Error: ...`` line and an exit code, and the table of commands.

The commands themselves live in ``commands/``, one module per group; a module is imported only
when its command runs or help lists it. Heavy imports (SQLAlchemy, SQLModel, transitions,
alembic) happen inside the commands, so ``safeguard --help`` starts about as fast as click
itself. Nothing here calls the engine except to check ``--now``.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from commands._common import _fail, one_line
from commands.runtime import Runtime

# Every top-level command, group or not: its name -> "module:attribute", imported on first use.
COMMANDS: dict[str, str] = {
    "init": "commands.setup:init",
    "demo": "commands.setup:demo",
    "workflow": "commands.workflow:workflow",
    "case": "commands.case:case",
    "user": "commands.admin:user",
    "area": "commands.admin:area",
    "audit": "commands.audit:audit",
    "retention": "commands.audit:retention",
    "alerts": "commands.mail:alerts",
    "notifications": "commands.mail:notifications",
    "scheduler": "commands.mail:scheduler",
    "cdop": "commands.cdop:cdop",
    "cerar": "commands.cerar:cerar",
    "mace": "commands.mace:mace",
    "plan": "commands.plan:plan",
    "figures": "commands.plan:figures",
    "status": "commands.report:status",
    "report": "commands.report:report",
    "serve": "commands.web:serve",
}


class SafeguardGroup(click.Group):
    """The root group: loads its commands from ``COMMANDS`` on demand (click's "lazily loading
    subcommands" pattern) and maps every error to one line, in one place."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        module_name, attribute = COMMANDS[cmd_name].split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{COMMANDS[cmd_name]} is not a click command")
        return command

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.ClickException as exc:  # the root's own options: one line, no usage
            _fail(exc.format_message(), exc.exit_code)

    def invoke(self, ctx: click.Context) -> Any:
        from engine.core.errors import DefinitionError, EngineError

        try:
            return super().invoke(ctx)
        except DefinitionError as exc:
            for problem in exc.problems:  # one line per problem, each an error of its own
                click.echo(f"Error: {one_line(str(problem))}", err=True)
            sys.exit(exc.exit_code)
        except EngineError as exc:
            _fail(exc.cli_text(), exc.exit_code)
        except click.ClickException as exc:  # click's bad option values: one line, no usage
            _fail(exc.format_message(), exc.exit_code)
        except (click.exceptions.Exit, click.Abort, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:  # a database error: one line, never a traceback
            if type(exc).__module__.startswith(("sqlalchemy", "psycopg", "sqlite3")):
                orig = getattr(exc, "orig", None) or exc
                text = str(orig).strip().splitlines()
                _fail(f"database: {text[0] if text else type(orig).__name__}", 1)
            _fail(_unexpected(exc), 1)


def _unexpected(exc: BaseException) -> str:
    """The one line for an error nobody planned for (nothing was committed: every command
    runs in one unit of work, rolled back when it raises)."""
    if isinstance(exc, RecursionError):
        return "the input is nested too deeply"
    if isinstance(exc, MemoryError):
        return "the input is too large"
    if isinstance(exc, UnicodeError):
        return f"the input is not valid UTF-8 text ({exc.__class__.__name__})"
    if isinstance(exc, OverflowError):
        return f"a value is out of range ({exc})"
    return f"unexpected {type(exc).__name__}: {exc}; nothing was changed"


@click.group(cls=SafeguardGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", "db_url", metavar="URL",
              help="Database URL (default: SAFEGUARD_DATABASE_URL, the config, or a SQLite "
                   "file in your data directory).")
@click.option("--as", "actor", metavar="USER", help="Act as USER (default: your login).")
@click.option("--now", metavar="ISO-DATETIME",
              help="The engine's clock (Europe/London unless an offset is given).")
@click.option("--config", metavar="FILE", help="Settings file (TOML); or SAFEGUARD_CONFIG.")
@click.version_option(package_name="safeguard")
@click.pass_context
def main(ctx: click.Context, db_url: str | None, actor: str | None, now: str | None,
         config: str | None) -> None:
    """safeguard: statutory safeguarding processes as workflows with deadlines."""
    if now is not None:
        from engine.core.clock import parse_instant

        parse_instant(now)  # a bad --now is a usage error before anything runs
    ctx.obj = Runtime(db_url, actor, now, config)
    ctx.obj.pause_collector()  # until the application is built (see Runtime)
    ctx.call_on_close(ctx.obj.close)


if __name__ == "__main__":  # pragma: no cover
    main()
