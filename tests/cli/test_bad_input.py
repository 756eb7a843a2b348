"""Bad input anywhere on the command line, in a settings file or in a workflow definition:
one ``Error: ...`` line on stderr, exit 1, 2 or 3, never a traceback, and nothing written.

The listed cases are the ones an independent probe found crashing; the hypothesis tests fuzz
the parsed options and the YAML around them. All of it runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli import main
from tests.cli.dbstate import dump

NOW = "2024-06-03T09:00"
SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


World = tuple[Path, str]  # a folder for input files, the database URL


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, module_db_url: str) -> World:
    folder = tmp_path_factory.mktemp("bad-input")
    db = module_db_url
    runner = CliRunner()
    for args in (["init"], ["area", "add", "north", "--name", "North"],
                 ["user", "grant", "root", "business_support", "--area", "north"],
                 ["case", "open", "practice_review", "--ref", "PR-1", "--area", "north",
                  "--set", "became_aware_on=2024-06-03", "--set", "child_ref=C-1",
                  "--set", "label=fuzz"]):
        result = runner.invoke(main, ["--db", db, "--as", "root", "--now", NOW,
                                      *args], env={"LOGNAME": "root", "USER": "root"})
        assert result.exit_code == 0, result.output
    return folder, db


def _check(world: World, args: list[str]) -> Result:
    _folder, db = world
    before = dump(db)
    result = CliRunner().invoke(main, ["--db", db, "--as", "root", *args],
                                env={"LOGNAME": "root", "USER": "root"})
    assert result.exit_code in (1, 2, 3), (args, result.output)
    assert isinstance(result.exception, SystemExit), (args, result.exc_info)
    lines = result.stderr.splitlines()
    assert lines and all(line.startswith("Error: ") for line in lines), (args, result.stderr)
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert dump(db) == before, args
    return result


def _write(world: World, name: str, data: bytes | str) -> str:
    path = world[0] / name
    path.write_bytes(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    return str(path)


LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
    for p, c in zip("abcdefgh", "bcdefghi", strict=True))

CASES: dict[str, Callable[[World], list[str]]] = {
    "far-future date": lambda w: ["--now", NOW, "case", "correct", "PR-1",
                                  "--set", "became_aware_on=9999-12-31"],
    "annual report over all time": lambda w: ["--now", NOW, "report", "annual",
                                              "--from", "0001-01-01", "--to", "9999-12-31"],
    "huge id": lambda w: ["notifications", "show", "99999999999999999999"],
    "user update, not an address": lambda w: ["user", "update", "root", "--email", "root"],
    "user update, nothing to change": lambda w: ["user", "update", "root"],
    "user update, no such user": lambda w: ["user", "update", "nobody", "--name", "N"],
    "user enable, no such user": lambda w: ["user", "enable", "nobody"],
    "5,000-digit id": lambda w: ["notifications", "show", "9" * 5000],
    "unknown subdivision": lambda w: ["--config", _write(w, "s.toml",
                                      '[calendar]\nsubdivision = "XXX"\n'), "status"],
    "unknown scheme": lambda w: ["--db", "mysql://x@y/z", "status"],
    "billion laughs": lambda w: ["workflow", "validate", _write(w, "laughs.yaml", LAUGHS)],
    "recursive alias": lambda w: ["workflow", "validate",
                                  _write(w, "loop.yaml", "a: &a [*a]\n")],
    "not utf-8": lambda w: ["workflow", "validate", _write(w, "bytes.yaml", b"a: \xff\xfe\n")],
    "5,000-digit number in yaml": lambda w: ["workflow", "validate",
                                             _write(w, "big.yaml", f"version: {'9' * 5000}\n")],
    "huge rule": lambda w: ["workflow", "validate", _write(
        w, "rule.yaml", Path("workflows/practice_review.yaml").read_text().replace(
            "5 working days after", "99999999999999999999 working days after"))],
    "digest hour": lambda w: ["--config", _write(w, "h.toml",
                              "[notifications]\ndigest_hour = 99\n"), "status"],
    "negative attempts": lambda w: ["--config", _write(w, "m.toml",
                                    "[notifications]\nmax_attempts = -1\n"), "status"],
    "sweep every second": lambda w: ["--config", _write(w, "z.toml",
                                     "[notifications]\nsweep_minutes = 0\n"), "status"],
    "missing workflows folder": lambda w: ["--config", _write(
        w, "f.toml", '[workflows]\ndirectory = "/nonexistent/folder"\n'), "status"],
    "time that does not exist": lambda w: ["--now", "2024-03-31T01:30", "status"],
    "time that happens twice": lambda w: ["--now", "2024-10-27T01:30", "status"],
    "bad option value": lambda w: ["case", "history", "PR-1", "--expect-version", "x"],
    "CR/LF echoed": lambda w: ["--now", NOW, "case", "show", "X\r\nError: forged"],
    "PostgreSQL unreachable": lambda w: ["--db", "postgresql+psycopg://u:s3cret@127.0.0.1:1/x",
                                         "status"],
    "huge page": lambda w: ["--now", NOW, "case", "list", "--limit", "9" * 30],
    "huge outbox page": lambda w: ["notifications", "list", "--limit", "9" * 30],
    "CR in a note": lambda w: ["--now", NOW, "case", "correct", "PR-1", "--set", "label=y",
                               "--note", "a\rError: forged"],
    "terminal escape in a field": lambda w: ["--now", NOW, "case", "correct", "PR-1", "--set",
                                             "label=\x1b[2J", "--note", "n"],
    "a note past its bound": lambda w: ["--now", NOW, "case", "correct", "PR-1", "--set",
                                        "label=y", "--note", "x" * 2001],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_probe_cases_fail_on_one_line(world: World, name: str) -> None:
    _check(world, CASES[name](world))


def test_nonexistent_and_ambiguous_times_name_both_instants(world: World) -> None:
    spring = _check(world, ["--now", "2024-03-31T01:30", "status"])
    assert "2024-03-31T01:30+00:00 or 2024-03-31T01:30+01:00" in spring.stderr
    autumn = _check(world, ["--now", "2024-10-27T01:30", "status"])
    assert "2024-10-27T01:30+00:00 or 2024-10-27T01:30+01:00" in autumn.stderr
    ok = CliRunner().invoke(main, ["--db", world[1], "--as", "root", "--now",
                                   "2024-10-27T01:30+00:00", "status"])
    assert ok.exit_code == 0, ok.output


def test_a_database_that_cannot_be_reached_is_one_line_without_the_password(
        world: World) -> None:
    result = _check(world, CASES["PostgreSQL unreachable"](world))
    assert "cannot open the database at postgresql+psycopg://u:***@127.0.0.1:1/x" \
        in result.stderr and "s3cret" not in result.stderr and "\\n" not in result.stderr


def test_control_characters_are_escaped(world: World) -> None:
    result = _check(world, ["--now", NOW, "case", "show", "X\r\nError: forged"])
    assert result.stderr.count("\n") == 1 and "\\r\\n" in result.stderr


text = st.text(min_size=1, max_size=40).filter(lambda s: "\x00" not in s)
junk = st.one_of(text, st.integers().map(str), st.just("9" * 5000),
                 st.dates().map(str), st.datetimes().map(lambda d: d.isoformat()))


@SETTINGS
@given(value=junk, option=st.sampled_from([
    ("--now", "{}", "status"),
    ("--now", NOW, "case", "correct", "PR-1", "--set", "became_aware_on={}"),
    ("--now", NOW, "report", "annual", "--from", "{}", "--to", "2024-12-31"),
    ("notifications", "show", "{}"),
    ("--now", NOW, "case", "show", "{}"),
    ("--now", NOW, "case", "history", "PR-1", "--expect-version", "{}"),
    ("--db", "{}", "status"),
]))
def test_fuzzed_options(world: World, value: str, option: tuple[str, ...]) -> None:
    args = [part.replace("{}", value) for part in option]
    _folder, db = world
    before = dump(db)
    result = CliRunner().invoke(main, ["--db", db, "--as", "root", *args])
    if result.exit_code == 0:
        return  # a value that happens to be valid
    assert result.exit_code in (1, 2, 3), (args, result.output)
    assert isinstance(result.exception, SystemExit), (args, result.exc_info)
    lines = result.stderr.splitlines()
    assert lines and all(line.startswith("Error: ") for line in lines), (args, result.stderr)
    if result.exit_code == 2:
        assert dump(db) == before


yaml_scalar = st.one_of(text, st.integers(), st.booleans(), st.none(), st.floats())
yaml_value = st.recursive(yaml_scalar, lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(text, inner, max_size=4), max_leaves=20)


@SETTINGS
@given(doc=st.one_of(
    text,
    st.dictionaries(st.sampled_from(["workflow", "version", "states", "transitions", "clocks",
                                     "fields", "open", "parameters", "access"]), yaml_value,
                    max_size=6).map(lambda d: __import__("yaml").safe_dump(d)),
))
def test_fuzzed_yaml(tmp_path_factory: pytest.TempPathFactory, doc: str) -> None:
    path = tmp_path_factory.mktemp("yaml") / "fuzz.yaml"  # no database: runs once
    path.write_bytes(doc.encode("utf-8", "surrogatepass"))
    result = CliRunner().invoke(main, ["workflow", "validate", str(path)])
    assert result.exit_code in (0, 1, 2), (doc, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        (doc, result.exc_info)
    if result.exit_code:
        assert all(line.startswith("Error: ") for line in result.stderr.splitlines()), doc


@SETTINGS
@given(key=st.sampled_from(["notifications.max_attempts", "notifications.lease_seconds",
                            "notifications.sweep_minutes", "notifications.digest_hour",
                            "smtp.port", "smtp.timeout", "calendar.subdivision",
                            "access.demo_mode", "database.sqlite_synchronous",
                            "calendar.closure_days"]),
       value=st.one_of(st.integers(), text.map(lambda s: '"' + s.replace("\\", "").replace(
           '"', "") + '"'), st.just("[1, 2]"), st.just("true")))
def test_fuzzed_settings(world: World, key: str, value: object) -> None:
    table, name = key.split(".")
    lines = f"[{table}]\n{name} = {value}\n"
    path = _write(world, "fuzz.toml", lines)
    result = CliRunner().invoke(main, ["--db", world[1], "--as", "root",
                                       "--config", path, "--now", NOW, "status"])
    if result.exit_code == 0:
        return
    assert result.exit_code in (1, 2, 3), (lines, result.output)
    assert isinstance(result.exception, SystemExit), (lines, result.exc_info)
    assert all(line.startswith("Error: ") for line in result.stderr.splitlines()), lines


def _several_problems(folder: Path) -> Path:
    """practice_review.yaml with three unrelated mistakes, each on its own line."""
    text = re.sub(r"\nversion: \d+\n", "\nversion: x\n",
                  Path("workflows/practice_review.yaml").read_text(), count=1)
    for old, new in (("\nversion: x\n", "\nversion: x\n"), ("to: published", "to: publishd"),
                     ("5 working days after", "5 wurking days after")):
        assert old in text
        text = text.replace(old, new, 1)
    path = folder / "practice_review.yaml"
    path.write_text(text)
    return path


def test_validate_reports_every_problem_on_a_line_of_its_own(tmp_path: Path) -> None:
    path = _several_problems(tmp_path)
    result = CliRunner().invoke(main, ["workflow", "validate", str(path)])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    lines = result.stderr.splitlines()
    assert all(line.startswith(f"Error: {path}:") for line in lines), result.stderr
    for where in (": version: ", "].to: unknown state 'publishd'",
                  ": clocks.notification.rule: cannot read rule"):
        assert any(where in line for line in lines), (where, result.stderr)
    assert result.stdout == ""


def test_a_folder_with_a_broken_definition_is_refused(tmp_path: Path) -> None:
    """Loading refuses too, with the same lines: no command runs on a broken definition."""
    _several_problems(tmp_path)
    config = tmp_path / "w.toml"
    config.write_text(f'[workflows]\ndirectory = "{tmp_path}"\n')
    db = tmp_path / "new.db"
    for args in (["workflow", "list"], ["--db", f"sqlite:///{db}", "init"]):
        result = CliRunner().invoke(main, ["--config", str(config), *args])
        assert result.exit_code == 2, result.output
        lines = result.stderr.splitlines()
        assert len(lines) >= 3 and all(line.startswith("Error: ") for line in lines)
        assert any("unknown state 'publishd'" in line for line in lines)
    assert not db.exists()
