"""What the command modules share: the runtime of the current command, printing (text or
JSON), the options several groups take, and small checks made before anything is changed.

Like every command module it imports only click (and the runtime) at the top: the engine,
SQLAlchemy and the notifications package are imported inside the functions, so ``--help``
stays fast.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import click

from commands.runtime import Runtime

if TYPE_CHECKING:
    from engine.app import App


_LONGEST_MESSAGE = 2000


def one_line(message: str) -> str:
    """``message`` as one printable line: line breaks and other control characters are
    escaped (so a CR/LF in the input cannot forge a second line), and it is cut at a length
    a terminal can show."""
    out = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
                  for ch in message)
    return out if len(out) <= _LONGEST_MESSAGE else out[:_LONGEST_MESSAGE] + "..."


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"Error: {one_line(message)}", err=True)
    sys.exit(code)


def _runtime() -> Runtime:
    runtime = click.get_current_context().find_object(Runtime)
    assert runtime is not None
    return runtime


def _emit(as_json: bool, data: Any, text: Callable[[], str]) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        click.echo(text())


def _assignments(pairs: Sequence[str]) -> dict[str, str]:
    from engine.core.fields import parse_assignments

    return parse_assignments(pairs)


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
set_option = click.option("--set", "assignments", multiple=True, metavar="FIELD=VALUE",
                          help="A case field value (repeatable).")
workflow_option = click.option("--workflow", "-w", help="The workflow, when a reference is "
                               "used in more than one.")


def _app() -> App:
    """The current command's application (closed by the root group when the command ends)."""
    return _runtime().app()


def _day(text: str | None) -> Any:
    """An ISO date option (None: the engine's today, Europe/London)."""
    from engine.core.clock import london_date, parse_date

    return parse_date(text) if text else london_date(_runtime().clock().now())


def _check_writable(out: str | None) -> None:
    """Refuse an output path that cannot be written before anything is changed or recorded."""
    import os
    from pathlib import Path

    if out in (None, "-"):
        return
    folder = Path(str(out)).expanduser().resolve().parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        from engine.core.errors import UsageError

        raise UsageError(f"cannot write {out}: {folder} is not a folder you can write to")


# Whole numbers a user types (ids, versions, batch sizes): within a database integer.
ID = click.IntRange(1, 2**63 - 1)
COUNT = click.IntRange(0, 2**31 - 1)
LIMIT = click.IntRange(1, 2**31 - 1)  # a page of rows

day_option = click.option("--on", "on", metavar="DATE", help="The day (default: today).")
