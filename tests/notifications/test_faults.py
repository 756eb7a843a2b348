"""Fault tests, each printing what was produced and what was lost.

* two and three scheduler processes (``safeguard ... scheduler run --once``) at once on one
  PostgreSQL database over the same due deadlines: they load their code, then are let go
  together, and the test checks that at least two of them did part of the work;
* ``kill -9`` of a scheduler at random points: each trial must kill a running scheduler
  (return code -9); one that finished its morning's work before the kill point is not a
  trial, and the next morning is tried instead, a bounded number of times;
* the SMTP server down for a while, then back;
* an SMTP server that refuses some recipients.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.core.calendar import WorkingCalendar
from engine.core.clock import LONDON, FixedClock
from engine.core.ladder import plan_rungs
from engine.core.registry import WorkflowRegistry
from engine.core.service import Engine
from engine.core.settings import SHIPPED_WORKFLOWS
from engine.core.store.database import Database
from engine.core.store.models import Alert, Deadline, OutboxMessage
from notifications.service import Notifier
from notifications.transports import SmtpTransport
from tests.conftest import london, seed_access
from tests.notifications.conftest import OPEN_FIELDS, RECIPIENTS, SmtpServer, settings

CLI = [sys.executable, "-c", "import cli; cli.main()"]
# The same command, but it loads what a scheduler run needs, says "ready" and waits for a line
# on stdin before it starts: processes let go together then really run at the same time.
GATED_CLI = [sys.executable, "-c",
             "import sys, cli, engine.core.service, notifications.service, psycopg; "
             "print('ready', flush=True); sys.stdin.readline(); cli.main()"]
AWARE = ["2024-06-03", "2024-06-04", "2024-06-05"]


def _populate(url: str, cases: int) -> tuple[Database, Engine]:
    db = Database(url)
    db.upgrade()
    seed_access(db)
    engine = Engine(db, WorkflowRegistry.from_directory(SHIPPED_WORKFLOWS),
                    FixedClock(london("2024-06-03 09:00")), WorkingCalendar())
    for i in range(cases):
        engine.open_case("practice_review", f"PR-{i}",
                         {**OPEN_FIELDS, "became_aware_on": AWARE[i % 3]}, actor="amy")
    return db, engine


def _config(tmp_path: Path, port: int) -> Path:
    lines = ['[notifications]', 'transport = "smtp"', 'sender = "safeguard@example.org"',
             'recipients_from = "settings"',
             "backoff_seconds = 60", "[notifications.recipients]"]
    lines += [f"{role} = {addresses!r}".replace("'", '"') for role, addresses in
              RECIPIENTS.items()]
    lines += ["[smtp]", 'host = "127.0.0.1"', f"port = {port}", "timeout = 5"]
    path = tmp_path / "sg.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _spawn(url: str, config: Path, now: str, batch: int = 5,
           gated: bool = False) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SAFEGUARD_DATABASE_URL": url}
    return subprocess.Popen(
        [*(GATED_CLI if gated else CLI), "--config", str(config), "--now", now, "scheduler",
         "run", "--once", "--batch", str(batch)], env=env,
        cwd=Path(__file__).resolve().parents[2], stdin=subprocess.PIPE if gated else None,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _alerts(db: Database) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(Alert)) or 0)


def _expected_rungs(db: Database, engine: Engine, now: dt.datetime) -> int:
    """Rungs of open deadlines that have fallen due by ``now`` (raised or skipped)."""
    count = 0
    with db.read() as session:
        for d in session.scalars(select(Deadline)):
            clock = engine.registry.get("practice_review").clocks[d.name]
            count += sum(1 for p in plan_rungs(clock.alerts, d.due_at, d.due_day,
                                               engine.calendar) if p.at <= now)
    return count


def _tally(db: Database) -> tuple[int, int, int, int]:
    """(alerts recorded, outbox rows, outbox rows sent, addressed recipients of raised)"""
    with db.read() as session:
        alerts = int(session.scalar(select(func.count()).select_from(Alert)) or 0)
        rows = int(session.scalar(select(func.count()).select_from(OutboxMessage)) or 0)
        sent = int(session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.status == "sent")) or 0)  # type: ignore[arg-type]
        wanted = sum(len(a.recipients) for a in session.scalars(
            select(Alert).where(Alert.status == "raised")))  # type: ignore[arg-type]
    return alerts, rows, sent, wanted


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.parametrize("processes", [2, 3])
def test_concurrent_schedulers_produce_each_email_once(
        pg_url: str, smtp: SmtpServer, tmp_path: Path, processes: int) -> None:
    db, engine = _populate(pg_url, 30)
    config = _config(tmp_path, smtp.box.port)
    days = ["2024-06-06T07:30", "2024-06-11T07:30", "2024-06-14T07:30"]
    import json

    # per round, each process's (alerts raised, messages sent), from its own summary line
    shares: list[list[tuple[int, int]]] = []
    for now in days:
        procs = [_spawn(pg_url, config, now, gated=True) for _ in range(processes)]
        for proc in procs:  # every one has loaded its code ...
            line = proc.stdout.readline()  # type: ignore[union-attr]
            assert line == b"ready\n", (line, proc.communicate(timeout=60)[1].decode())
        for proc in procs:  # ... before any is let go
            proc.stdin.write(b"go\n")  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
        shares.append([])
        for proc in procs:
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err.decode()
            summary = json.loads(out.decode().strip().splitlines()[-1])
            shares[-1].append((summary["raised"], summary["sent"]))
    print(f"(alerts raised, messages sent) by each process, per round: {shares}")
    alerts, rows, sent, wanted = _tally(db)
    expected = _expected_rungs(db, engine, london("2024-06-14 07:30"))
    ids = smtp.box.message_ids()
    duplicates = sum(n - 1 for n in Counter(ids).values())
    print(f"{processes} schedulers: rungs due {expected}, alerts {alerts}; emails wanted "
          f"{wanted}, outbox {rows}, sent {sent}, received {len(ids)}, duplicates "
          f"{duplicates}, lost {wanted - len(set(ids))}")
    assert alerts == expected and rows == wanted == sent == len(ids)
    assert duplicates == 0
    # The processes really ran side by side, or this test checked one scheduler, not several:
    # in some round every one of them did part of the work, in some round at least two swept
    # alerts (each claiming other deadlines), and in some round at least two sent messages.
    busy = [sum(1 for raised, sent in r if raised or sent) for r in shares]
    sweeping = [sum(1 for raised, _ in r if raised) for r in shares]
    sending = [sum(1 for _, sent in r if sent) for r in shares]
    assert max(busy) == processes and max(sweeping) >= 2 and max(sending) >= 2, shares
    db.dispose()


@pytest.mark.postgres
@pytest.mark.slow
def test_kill_minus_nine_loses_nothing(pg_url: str, smtp: SmtpServer, tmp_path: Path) -> None:
    db, engine = _populate(pg_url, 45)
    config = _config(tmp_path, smtp.box.port)
    rng = random.Random(4)
    # Six kills are wanted; a morning whose scheduler finished before its kill point is not a
    # trial (it is reported), and the next morning is tried instead.
    wanted_kills = 6
    mornings = ["2024-06-06T07:30", "2024-06-10T07:30", "2024-06-11T07:30",
                "2024-06-12T07:30", "2024-06-13T07:30", "2024-06-17T07:30",
                "2024-06-18T07:30", "2024-06-19T07:30", "2024-06-20T07:30",
                "2024-06-21T07:30", "2024-06-24T07:30", "2024-06-25T07:30"]
    points: list[str] = []
    finished_first: list[str] = []
    last = mornings[0]
    for now in mornings:
        if len(points) == wanted_kills:
            break
        last = now
        # kill at a random point: after some alerts are written (mid-sweep), or after some
        # messages reached the server (mid-delivery, possibly between send and mark)
        phase = rng.choice(["sweep", "delivery"])
        threshold = rng.randint(1, 8)
        alerts0, received0 = _alerts(db), len(smtp.box.messages)
        proc = _spawn(pg_url, config, now, batch=3)
        deadline = time.monotonic() + 120  # a bound on a hang, not a speed requirement
        done = 0
        while proc.poll() is None and time.monotonic() < deadline:
            done = (_alerts(db) - alerts0 if phase == "sweep"
                    else len(smtp.box.messages) - received0)
            if done >= threshold:
                break
            time.sleep(0.005)
        assert done >= threshold or proc.poll() is not None, (
            f"{now}: the scheduler did {done} of {threshold} in 120 s: {phase} hung?")
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=60)
        if proc.returncode == -signal.SIGKILL:  # it was running, and died of the kill
            points.append(f"{now[:10]} {phase}>={threshold}")
        else:
            assert proc.returncode == 0, err.decode()
            finished_first.append(f"{now[:10]} {phase}>={threshold}")
    print(f"kill -9 points: {points}; finished before the kill point: {finished_first}")
    assert len(points) == wanted_kills, (
        f"only {len(points)} of {wanted_kills} schedulers were killed while running: "
        f"{finished_first} finished first")
    kills = len(points)
    before = _tally(db)
    print(f"kill -9: before the restart: alerts {before[0]}, outbox {before[1]}, "
          f"sent {before[2]}")
    # a restart after the lease (5 minutes) picks up everything a killed process held
    final_at = dt.datetime.fromisoformat(last).replace(tzinfo=LONDON) + dt.timedelta(
        minutes=30)
    final = _spawn(pg_url, config, final_at.strftime("%Y-%m-%dT%H:%M"), batch=50)
    _, err = final.communicate(timeout=120)
    assert final.returncode == 0, err.decode()
    alerts, rows, sent, wanted = _tally(db)
    expected = _expected_rungs(db, engine, final_at)
    ids = smtp.box.message_ids()
    duplicates = sum(n - 1 for n in Counter(ids).values())
    lost = wanted - len(set(ids))
    print(f"kill -9: {kills} killed; rungs due {expected}, alerts "
          f"{alerts}; emails wanted {wanted}, sent {sent}, received {len(ids)} "
          f"({len(set(ids))} distinct), resent with the same Message-ID {duplicates}, "
          f"lost {lost}")
    assert alerts == expected and rows == wanted == sent
    assert lost == 0
    # A process killed after the server accepted a message but before marking it sent
    # leaves it 'sending'; it is sent again once, with the same Message-ID.
    assert duplicates <= kills
    db.dispose()


def test_smtp_down_then_back_loses_nothing(engine: Engine, clock: FixedClock, db: Database,
                                           smtp: SmtpServer) -> None:
    for i in range(6):
        engine.open_case("practice_review", f"PR-{i}", OPEN_FIELDS, actor="amy")
    port = smtp.box.port
    notifier = Notifier(engine, settings(transport="smtp", backoff_seconds=60),
                        lambda: SmtpTransport("127.0.0.1", port, timeout=5))
    clock.set(london("2024-06-06 08:00"))
    produced = notifier.sweep().messages
    smtp.stop()
    down = notifier.dispatch()
    assert down.sent == 0 and down.retrying == 1 and down.released == produced - 1
    clock.advance(dt.timedelta(minutes=30))
    assert notifier.dispatch().retrying == 1  # still down
    smtp.start()
    clock.advance(dt.timedelta(minutes=30))
    back = notifier.dispatch()
    ids = smtp.box.message_ids()
    print(f"SMTP down then back: produced {produced}, delivered {len(ids)}, "
          f"lost {produced - len(set(ids))}, duplicates {len(ids) - len(set(ids))}")
    assert back.sent == produced == len(set(ids)) == len(ids)
    assert notifier.counts() == {"sent": produced}


def test_smtp_refusing_some_recipients(engine: Engine, clock: FixedClock, db: Database,
                                       smtp: SmtpServer) -> None:
    for i in range(3):
        engine.open_case("practice_review", f"PR-{i}", OPEN_FIELDS, actor="amy")
    port = smtp.box.port
    smtp.box.refuse.add("manager@example.org")
    notifier = Notifier(engine, settings(transport="smtp"),
                        lambda: SmtpTransport("127.0.0.1", port, timeout=5))
    clock.set(london("2024-06-13 08:00"))  # escalations: chair and manager
    produced = notifier.sweep().messages
    result = notifier.dispatch()
    refused = notifier.messages("amy", ["failed"])
    print(f"SMTP refusing one address: produced {produced}, sent {result.sent}, "
          f"dead-lettered {result.failed}, lost {produced - result.sent - result.failed}")
    assert result.failed == len(refused) == 3
    assert all(r.to_address == "manager@example.org" and "550" in (r.last_error or "")
               for r in refused)
    assert result.sent == produced - 3 == len(smtp.box.messages)
    smtp.box.refuse.clear()  # the mailbox is fixed: put them back
    assert notifier.retry("amy", all_failed=True) == 3
    assert notifier.dispatch().sent == 3
    assert notifier.counts() == {"sent": produced}
