"""Every command has help text, and the README shows every command (the manner of
sqlite-utils' tests/test_docs.py).

The command tree is walked through click itself (``list_commands`` and ``get_command``), so
the lazily loaded groups and their nested groups (``mace series``, ``mace action``) are all
reached, and a command added anywhere is checked without touching this file.

When a command counts as shown in README.md: a line of a fenced code block, or an inline code
span in the prose, holds ``safeguard``, then any global options with their values (``--db URL``,
``--as USER``, ``--now ISO-DATETIME``, ``--config FILE``), then the command's path word for word
(``mace series create``), the path ending at a space or at the end of the line or span. So
``safeguard --now 2024-06-06T07:30 scheduler run --once`` shows ``scheduler run`` (and the
group ``scheduler``), while ``safeguard case hold PR-1   # 'case release' lifts it`` does not
show ``case release``: a command is shown by an example of running it, not by a mention. A
group is shown by any example of one of its commands.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from cli import COMMANDS, main

ROOT = Path(__file__).resolve().parents[2]
GLOBAL_OPTION = r"""\s+--(?:db|as|now|config)(?:=|\s+)(?:"[^"]*"|'[^']*'|\S+)"""


def _walk(command: click.Command, path: tuple[str, ...],
          parent: click.Context | None) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        ctx = click.Context(command, info_name=path[-1] if path else "safeguard", parent=parent)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None, f"{' '.join(path)} lists {name} but cannot load it"
            yield from _walk(sub, (*path, name), ctx)


TREE = list(_walk(main, (), None))


def _full(path: tuple[str, ...]) -> str:
    return " ".join(("safeguard", *path))


def _readme_code() -> list[str]:
    """The lines of README.md's fenced code blocks and its inline code spans."""
    code, fenced = [], False
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif fenced:
            code.append(line)
        else:
            code.extend(re.findall(r"`([^`]+)`", line))
    return code


README_CODE = _readme_code()


def _shown(path: tuple[str, ...], code: list[str]) -> bool:
    words = r"\s+".join(map(re.escape, path))
    pattern = re.compile(rf"(?<![\w-])safeguard(?:{GLOBAL_OPTION})*\s+{words}(?=\s|$)")
    return any(pattern.search(line) for line in code)


def test_the_walk_reaches_nested_groups() -> None:
    paths = {path for path, _ in TREE}
    assert {("case", "advance"), ("mace", "series", "create"), ("mace", "action", "done"),
            ("init",), ("status",)} <= paths
    assert len(paths) > 80


@pytest.mark.parametrize(("path", "command"), TREE, ids=[_full(p) for p, _ in TREE])
def test_every_command_has_help(path: tuple[str, ...], command: click.Command) -> None:
    assert command.help and command.help.strip(), f"'{_full(path)}' has no help text"


@pytest.mark.parametrize("path", [p for p, _ in TREE if p], ids=[_full(p) for p, _ in TREE if p])
def test_every_command_is_shown_in_the_readme(path: tuple[str, ...]) -> None:
    assert _shown(path, README_CODE), f"README.md shows no example of '{_full(path)}'"


def test_the_matching_rule() -> None:
    code = ["safeguard --db sqlite:///x.db --now 2024-04-15T18:30 status",
            "safeguard case hold PR-1 --reason x   # 'case release' lifts it",
            ".venv/bin/safeguard demo", "safeguard cerar step-down CE-1 --to early_help"]
    assert _shown(("status",), code) and _shown(("demo",), code)
    assert _shown(("case", "hold"), code) and _shown(("case",), code)
    assert not _shown(("case", "release"), code)
    assert _shown(("cerar", "step-down"), code) and not _shown(("cerar", "step"), code)
    assert not _shown(("case", "hol"), code)


def test_a_command_without_help_is_caught() -> None:
    @click.command()
    def undocumented() -> None:
        pass

    group = click.Group("root", commands={"undocumented": undocumented})
    tree = dict(_walk(group, (), None))
    assert not tree[("undocumented",)].help


def test_the_table_names_each_command_as_it_is_called() -> None:
    ctx = click.Context(main, info_name="safeguard")
    for name in COMMANDS:
        command = main.get_command(ctx, name)
        assert command is not None and command.name == name, name


def test_a_command_loads_only_its_own_module() -> None:
    code = ("import sys, cli; from click.testing import CliRunner; "
            "CliRunner().invoke(cli.main, ['case', 'open', '--help']); "
            "print(sorted(m for m in sys.modules if m.startswith('commands.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.split() == ["['commands._common',", "'commands.case',",
                                  "'commands.runtime']"]
