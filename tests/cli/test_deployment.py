"""Settings that grant power come from the deployment: a ``--config`` file that turns on demo
mode or points at other workflow definitions is refused, and ``--as`` stays for
administrators (the probe's escalation: a support officer granting themselves administrator
through ``--config e.toml --as root``)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli import main

NOW = "2024-06-03T09:00"


@pytest.fixture
def deployment(tmp_path: Path) -> Path:
    db = tmp_path / "d.db"
    for args in (["init"], ["area", "add", "north", "--name", "North"],
                 ["user", "add", "business.support.north", "--name", "B", "--email",
                  "b@example.org", "--agency", "LA"],
                 ["user", "grant", "business.support.north", "business_support", "--area",
                  "north"]):
        result = _run(db, "root", *args)
        assert result.exit_code == 0, result.output
    return db


def _run(db: Path, login: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--db", f"sqlite:///{db}", "--now", NOW, *args],
                              env={"LOGNAME": login, "USER": login})


def _dump(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return list(conn.iterdump())


def test_demo_mode_from_a_file_is_refused(deployment: Path, tmp_path: Path) -> None:
    config = tmp_path / "e.toml"
    config.write_text("[access]\ndemo_mode = true\n")
    before = _dump(deployment)
    result = _run(deployment, "business.support.north", "--config", str(config), "--as",
                  "root", "user", "grant", "business.support.north", "administrator")
    assert result.exit_code == 3 and "demo" in result.stderr, result.output
    assert _dump(deployment) == before
    # without the file, --as is for administrators only (and the refusal is audited)
    plain = _run(deployment, "business.support.north", "--as", "root", "user", "list")
    assert plain.exit_code == 3 and "--as is for administrators" in plain.stderr


def test_init_refuses_demo_mode(tmp_path: Path) -> None:
    config = tmp_path / "e.toml"
    config.write_text("[access]\ndemo_mode = true\n")
    result = _run(tmp_path / "new.db", "root", "--config", str(config), "init")
    assert result.exit_code == 3 and "safeguard demo" in result.stderr
    assert not (tmp_path / "new.db").exists()


def test_edited_workflows_from_a_file_are_refused(deployment: Path, tmp_path: Path) -> None:
    edited = tmp_path / "edited"
    shutil.copytree(Path(__file__).resolve().parents[2] / "workflows", edited)
    config = tmp_path / "w.toml"
    config.write_text(f'[workflows]\ndirectory = "{edited}"\n')
    before = _dump(deployment)
    result = _run(deployment, "business.support.north", "--config", str(config),
                  "case", "list")
    assert result.exit_code == 3 and "[workflows] directory" in result.stderr, result.output
    assert _dump(deployment) == before
    again = _run(deployment, "root", "--config", str(config), "init")
    assert again.exit_code == 3


def test_administrators_may_still_act_as(deployment: Path) -> None:
    result = _run(deployment, "root", "--as", "business.support.north", "case", "list")
    assert result.exit_code == 0, result.output
