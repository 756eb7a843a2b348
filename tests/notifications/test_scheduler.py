"""The scheduler service and the upgrade of existing deadlines."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from engine.core.store.database import Database
from notifications.scheduler import build_scheduler
from notifications.service import Notifier


def test_jobs_sweep_deliver_and_digest_on_working_days(notifier: Notifier) -> None:
    scheduler = build_scheduler(notifier, lambda _: None)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"sweep", "dispatch", "digest"}
    digest = str(jobs["digest"].trigger)
    assert "day_of_week='mon-fri'" in digest and "hour='7'" in digest
    assert str(jobs["digest"].trigger.timezone) == "Europe/London"
    assert jobs["sweep"].trigger.interval.total_seconds() == 300


@pytest.mark.slow
def _wait_for(proc: subprocess.Popen[bytes], marker: bytes) -> bytes:
    """What the process writes until ``marker`` (at most a minute: a loaded machine)."""
    out = b""
    deadline = time.monotonic() + 60
    stdout = proc.stdout.fileno()  # type: ignore[union-attr]
    while marker not in out and time.monotonic() < deadline:
        readable, _, _ = select.select([stdout], [], [], 0.05)  # wait for output, not a nap
        chunk = os.read(stdout, 65536) if readable else b""
        if readable and not chunk:
            break  # the process closed its output: it has stopped
        out += chunk
    assert marker in out, out
    return out


def test_scheduler_runs_in_the_foreground(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sg.db'}"
    env = {**os.environ, "SAFEGUARD_DATABASE_URL": url, "SAFEGUARD_EML_DIR": str(tmp_path)}
    root = Path(__file__).resolve().parents[2]
    cli = [sys.executable, "-c", "import cli; cli.main()"]
    subprocess.run([*cli, "init"], env=env, cwd=root, check=True, capture_output=True,
                   timeout=60)
    # Started as a shell starts a background job: with SIGINT ignored, which the child
    # inherits; the scheduler still stops on Ctrl-C.
    proc = subprocess.Popen([*cli, "scheduler", "run"], env=env, cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    out = b""
    try:
        out = _wait_for(proc, b"sweep:")
        assert b"scheduler: running" in out and b"sweep: 0 deadlines" in out, out
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            rest, err = proc.communicate()
            raise AssertionError(f"the scheduler did not stop on Ctrl-C; it wrote "
                                 f"{out + rest!r} and {err[-2000:]!r}") from None
    assert proc.returncode == 0
    # A service manager's SIGTERM stops it cleanly too.
    proc = subprocess.Popen([*cli, "scheduler", "run"], env=env, cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _wait_for(proc, b"sweep:")
    proc.send_signal(signal.SIGTERM)
    rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and b"scheduler: stopped" in rest, rest
    refused = subprocess.run([*cli, "--now", "2024-06-03", "scheduler", "run"], env=env,
                             cwd=root, capture_output=True, timeout=60)
    assert refused.returncode != 0 and b"--now needs --once" in refused.stderr


def test_upgrade_gives_open_deadlines_a_first_sweep(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    config = Config()
    config.set_main_option("script_location", str(
        Path(__file__).resolve().parents[2] / "engine" / "core" / "store" / "migrations"))
    with db.write_engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001_initial")
        conn.execute(text(
            "INSERT INTO \"case\" (id, ref, workflow, workflow_version, state, data, version, "
            "opened_at, updated_at) VALUES (1, 'R', 'practice_review', 1, 's', '{}', 1, "
            "'2024-06-03 08:00:00', '2024-06-03 08:00:00')"))
        conn.execute(text(
            "INSERT INTO deadline (case_id, name, cycle, rule, anchor_value, due_at, status, "
            "started_at) VALUES (1, 'notification', 1, 'r', '2024-06-03', "
            "'2024-06-10 23:00:00', 'open', '2024-06-03 08:00:00'), (1, 'rapid_review', 1, "
            "'r', '2024-06-03', '2024-06-24 23:00:00', 'met', '2024-06-03 08:00:00')"))
    db.upgrade()
    with db.read_engine.connect() as conn:
        rows = conn.execute(text("SELECT status, next_alert_at FROM deadline ORDER BY id"))
        assert [(s, str(n)) for s, n in rows] == [("open", "2024-06-03 08:00:00"),
                                                   ("met", "None")]
    db.dispose()
