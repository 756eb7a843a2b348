"""Settings that grant power come from the deployment: a ``--config`` file that turns on demo
mode or points at other workflow definitions is refused, and ``--as`` stays for
administrators (the probe's escalation: a support officer granting themselves administrator
through ``--config e.toml --as root``). On SQLite and PostgreSQL."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli import main
from tests.cli.dbstate import dump

NOW = "2024-06-03T09:00"


SETUP = (["init"], ["area", "add", "north", "--name", "North"],
         ["user", "add", "business.support.north", "--name", "B", "--email",
          "b@example.org", "--agency", "LA"],
         ["user", "grant", "business.support.north", "business_support", "--area", "north"],
         ["user", "grant", "root", "business_support", "--area", "north"],
         ["case", "open", "practice_review", "--ref", "PR-1", "--area", "north", "--set",
          "became_aware_on=2024-06-03", "--set", "child_ref=C-1", "--set", "label=L"])


@pytest.fixture
def deployment(db_url: str) -> str:
    for args in SETUP:
        result = _run(db_url, "root", *args)
        assert result.exit_code == 0, result.output
    return db_url


def _run(db: str, login: str, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["--db", db, "--now", NOW, *args],
                              env={"LOGNAME": login, "USER": login, **(env or {})})


def test_demo_mode_from_a_file_is_refused(deployment: str, tmp_path: Path) -> None:
    config = tmp_path / "e.toml"
    config.write_text("[access]\ndemo_mode = true\n")
    before = dump(deployment)
    result = _run(deployment, "business.support.north", "--config", str(config), "--as",
                  "root", "user", "grant", "business.support.north", "administrator")
    assert result.exit_code == 3 and "demo" in result.stderr, result.output
    assert dump(deployment) == before
    # the same file named by SAFEGUARD_CONFIG, and the export route of the probe
    for args in (("user", "grant", "business.support.north", "administrator"),
                 ("case", "export", "PR-1", "--out", "-")):
        result = _run(deployment, "business.support.north", "--as", "root", *args,
                      env={"SAFEGUARD_CONFIG": str(config)})
        assert result.exit_code == 3 and "demo" in result.stderr, result.output
        assert result.stdout == ""
    assert dump(deployment) == before
    # without the file, --as is for administrators only (and the refusal is audited)
    plain = _run(deployment, "business.support.north", "--as", "root", "user", "list")
    assert plain.exit_code == 3 and "--as is for administrators" in plain.stderr


def test_init_refuses_demo_mode(db_url: str, tmp_path: Path) -> None:
    config = tmp_path / "e.toml"
    config.write_text("[access]\ndemo_mode = true\n")
    sqlite_file = Path(db_url.removeprefix("sqlite:///"))
    before = None if db_url.startswith("sqlite") else dump(db_url)
    result = _run(db_url, "root", "--config", str(config), "init")
    assert result.exit_code == 3 and "safeguard demo" in result.stderr
    if before is None:
        assert not sqlite_file.exists()
    else:  # PostgreSQL: a migrated, empty database stays as it was
        assert dump(db_url) == before


def test_edited_workflows_from_a_file_are_refused(deployment: str, tmp_path: Path) -> None:
    edited = tmp_path / "edited"
    shutil.copytree(Path(__file__).resolve().parents[2] / "workflows", edited)
    config = tmp_path / "w.toml"
    config.write_text(f'[workflows]\ndirectory = "{edited}"\n')
    before = dump(deployment)
    result = _run(deployment, "business.support.north", "--config", str(config),
                  "case", "list")
    assert result.exit_code == 3 and "[workflows] directory" in result.stderr, result.output
    assert dump(deployment) == before
    again = _run(deployment, "root", "--config", str(config), "init")
    assert again.exit_code == 3


def test_administrators_may_still_act_as(deployment: str) -> None:
    result = _run(deployment, "root", "--as", "business.support.north", "case", "list")
    assert result.exit_code == 0, result.output


def test_a_command_without_the_deployments_audit_key_is_refused(db_url: str) -> None:
    keyed = {"SAFEGUARD_AUDIT_KEY": "the deployment's key"}
    for args in SETUP:
        result = _run(db_url, "root", *args, env=keyed)
        assert result.exit_code == 0, result.output
    before = dump(db_url)
    for env in ({}, {"SAFEGUARD_AUDIT_KEY": "a key of my own"}):
        for args in (("case", "correct", "PR-1", "--set", "label=X", "--note", "n"),
                     ("case", "show", "PR-1")):
            result = _run(db_url, "business.support.north", *args, env=env)
            assert result.exit_code == 3 and "audit key" in result.stderr, result.output
            assert result.stderr.count("\n") == 1 and result.stdout == ""
    assert dump(db_url) == before
    assert _run(db_url, "business.support.north", "case", "show", "PR-1",
                env=keyed).exit_code == 0


def _refused_on_one_line(db: str, *args: str, env: dict[str, str] | None = None) -> str:
    before = dump(db)
    result = _run(db, "root", *args, env=env)
    assert result.exit_code == 3, result.output
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: ")
    assert dump(db) == before
    return result.stderr


def test_a_settings_file_others_can_write_is_refused(deployment: str, tmp_path: Path) -> None:
    config = tmp_path / "s.toml"
    config.write_text("[notifications]\nsweep_minutes = 5\n")
    config.chmod(0o666)
    message = _refused_on_one_line(deployment, "--config", str(config), "case", "list")
    assert "writable by others" in message and "chmod go-w" in message
    _refused_on_one_line(deployment, "case", "list", env={"SAFEGUARD_CONFIG": str(config)})
    config.chmod(0o644)
    assert _run(deployment, "root", "--config", str(config), "case", "list").exit_code == 0


def test_the_workflows_folder_others_can_write_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "workflows"
    shutil.copytree(Path(__file__).resolve().parents[2] / "workflows", folder)
    config = tmp_path / "w.toml"
    config.write_text(f'[workflows]\ndirectory = "{folder}"\n')
    (folder / "practice_review.yaml").chmod(0o646)
    result = _run(f"sqlite:///{tmp_path / 'd.db'}", "root", "--config", str(config), "init")
    assert result.exit_code == 3 and "workflow definition" in result.stderr, result.output
    assert not (tmp_path / "d.db").exists()
    (folder / "practice_review.yaml").chmod(0o644)
    folder.chmod(0o777)
    result = _run(f"sqlite:///{tmp_path / 'd.db'}", "root", "--config", str(config), "init")
    assert result.exit_code == 3 and "workflows folder" in result.stderr, result.output


@pytest.mark.skipif(os.getuid() != 0, reason="changing a file's owner or group needs root")
def test_a_settings_file_of_another_user_or_a_shared_group_is_refused(
        deployment: str, tmp_path: Path) -> None:
    config = tmp_path / "s.toml"
    config.write_text("[notifications]\nsweep_minutes = 5\n")
    config.chmod(0o664)  # group-writable: fine while the group is root's own
    assert _run(deployment, "root", "--config", str(config), "case", "list").exit_code == 0
    os.chown(config, 0, grp.getgrnam("users").gr_gid)  # a group others are in
    assert "writable by others" in _refused_on_one_line(deployment, "--config", str(config),
                                                        "case", "list")
    config.chmod(0o644)
    os.chown(config, pwd.getpwnam("nobody").pw_uid, 0)
    message = _refused_on_one_line(deployment, "--config", str(config), "case", "list")
    assert "belongs to 'nobody'" in message


def test_a_file_that_readdresses_case_emails_is_refused(deployment: str, tmp_path: Path) -> None:
    """The probe's route for case references to leave the partnership: a file of one's own
    sending every role's emails to another address (or linking elsewhere)."""
    for text in ('[notifications]\nrecipients_from = "settings"\n'
                 '[notifications.recipients]\ncase_review_chair = ["x@elsewhere.example"]\n',
                 '[notifications]\nbase_url = "https://elsewhere.example"\n',
                 '[web]\nbase_url = "https://elsewhere.example"\n'):
        config = tmp_path / "mail.toml"
        config.write_text(text)
        message = _refused_on_one_line(deployment, "--config", str(config), "case", "advance",
                                       "PR-1", "notify", "--set", "notified_on=2024-06-04")
        assert "[notifications] recipients" in message and "[web] base_url" in message
