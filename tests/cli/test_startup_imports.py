"""A plain command imports only what it uses: no web framework, migrations, templates,
password hasher, charts, scheduler or domain it does not run (checked in fresh interpreters;
the time itself is measured by benchmarks/startup.py, not here)."""

from __future__ import annotations

import gc
import getpass
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main

ROOT = Path(__file__).resolve().parents[2]
NOW = "2024-06-03T09:00"
# What only some commands need: serve, init/migrate, mail, web sign-in, reports, scheduler,
# PostgreSQL, meeting invitations; and YAML, once the definitions are cached.
HEAVY = ("fastapi", "starlette", "uvicorn", "alembic", "jinja2", "argon2", "matplotlib",
         "docx", "markdown_it", "apscheduler", "psycopg", "icalendar", "smtplib", "yaml")
# The project's own packages a plain command does not run.
UNUSED = ("engine.domains", "engine.apps.demo", "notifications", "web")
_MODULES_AFTER = """
import json, sys
import cli
try:
    cli.main(sys.argv[1:], prog_name="safeguard", standalone_mode=False)
finally:
    print(json.dumps(sorted(sys.modules)))
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, str]]:
    """A SQLite database with one case, and the environment of a deployment whose workflow
    definitions have been cached by an earlier command."""
    folder = tmp_path_factory.mktemp("startup")
    url = f"sqlite:///{folder / 'd.db'}"
    env = dict(os.environ, PYTHONPATH=str(ROOT), SAFEGUARD_CACHE_DIR=str(folder / "cache"))
    runner = CliRunner(env={"SAFEGUARD_CACHE_DIR": env["SAFEGUARD_CACHE_DIR"]})
    for args in [("init",), ("area", "add", "cumberland", "--name", "Cumberland"),
                 ("user", "grant", getpass.getuser(), "business_support"),
                 ("case", "open", "practice_review", "--ref", "PR-1", "--set",
                  "became_aware_on=2024-06-03", "--set", "child_ref=C-1", "--set",
                  "label=Start-up test")]:
        result = runner.invoke(main, ["--db", url, "--now", NOW, *args])
        assert result.exit_code == 0, result.output
    _modules_after(env, "workflow", "list")  # caches the definitions (this process has them)
    return url, env


def _modules_after(env: dict[str, str], *args: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", _MODULES_AFTER, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("args", [("case", "show", "PR-1"), ("case", "show", "PR-1", "--json"),
                                  ("status",), ("case", "list"), ("workflow", "list"),
                                  ("--help",)])
def test_a_plain_command_loads_no_heavy_library(world: tuple[str, dict[str, str]],
                                                args: tuple[str, ...]) -> None:
    url, env = world
    loaded = _modules_after(env, "--db", url, "--now", NOW, *args)
    tops = {name.split(".")[0] for name in loaded}
    assert "click" in tops
    assert not tops & set(HEAVY), sorted(tops & set(HEAVY))
    ours = [name for name in loaded if name.split(".")[0] in UNUSED
            or name.startswith(tuple(f"{package}." for package in UNUSED))]
    assert not ours, ours


@pytest.mark.parametrize("args", [("notifications", "list"), ("alerts", "list")])
def test_listing_mail_loads_no_template_engine_or_smtp(world: tuple[str, dict[str, str]],
                                                       args: tuple[str, ...]) -> None:
    url, env = world
    tops = {name.split(".")[0] for name in _modules_after(env, "--db", url, "--now", NOW,
                                                          *args)}
    assert "notifications" in tops
    assert not tops & set(HEAVY), sorted(tops & set(HEAVY))


def test_the_guard_sees_a_heavy_import(world: tuple[str, dict[str, str]]) -> None:
    """The checks above can fail: a command that renders an email loads the template
    engine."""
    url, env = world
    loaded = _modules_after(env, "--db", url, "--now", NOW, "notifications", "preview",
                            "reminder", "--case", "PR-1")
    assert "jinja2" in {name.split(".")[0] for name in loaded}


_COLLECTOR_AFTER = """
import gc, sys
import cli
try:
    cli.main(sys.argv[1:], prog_name="safeguard", standalone_mode=False)
finally:
    print(gc.isenabled(), gc.get_freeze_count() > 0)
"""


@pytest.mark.parametrize(("args", "frozen"), [(("case", "show", "PR-1"), True),
                                              (("case", "show", "PR-404"), True),
                                              (("workflow", "list"), False)])
def test_the_collector_is_paused_only_while_a_command_starts(
        world: tuple[str, dict[str, str]], args: tuple[str, ...], frozen: bool) -> None:
    """Collection resumes once the application is built (its start-up objects frozen out
    of later collections) or, for a command that builds none, when the command ends."""
    url, env = world
    done = subprocess.run([sys.executable, "-c", _COLLECTOR_AFTER, "--db", url, "--now", NOW,
                           *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.strip().splitlines()[-1] == f"True {frozen}", done.stderr


def test_a_caller_that_turned_the_collector_off_keeps_it_off(
        world: tuple[str, dict[str, str]]) -> None:
    url, env = world
    runner = CliRunner(env={"SAFEGUARD_CACHE_DIR": env["SAFEGUARD_CACHE_DIR"]})
    gc.disable()
    try:
        result = runner.invoke(main, ["--db", url, "--now", NOW, "case", "show", "PR-1"])
        assert result.exit_code == 0, result.output
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert runner.invoke(main, ["--db", url, "--now", NOW, "case", "show", "PR-1"]).exit_code \
        == 0
    assert gc.isenabled()
