"""Benchmark the deadline sweep and outbox delivery.

    python benchmarks/sweep.py --deadlines 100000 --json [--db URL] [--deliver 2000]

Builds M open deadlines (1% of them with an alert rung due now) on a fresh SQLite file (WAL)
or the PostgreSQL database given, then in the same run:

* ``sweep``: :meth:`Notifier.sweep` (claims the due rows from the ``next_alert_at`` index,
  plans each ladder, writes the alert rows, renders one email per recipient role and stores
  one outbox row per recipient, moves ``next_alert_at`` on);
* ``baseline``: the same rows written by plain SQL in one transaction, the floor for that
  work: the alert rows by one INSERT ... SELECT of the due deadlines (rung, kind and
  recipients as constants); the outbox rows, one per alert and recipient address (the two
  the sweep resolves), by one INSERT ... SELECT with a dedup key, a Message-ID, and a
  subject and text and HTML bodies of the rendered emails' length built by concatenating
  the case reference into fixed text; ``next_alert_at`` moved by one UPDATE. No ladder, no
  rendering, no Python per row;
* both are timed in ``--rounds`` interleaved rounds (the state reset between), wall and
  CPU time, and the medians reported: the CPU figure still means something on a busy
  machine. CPU is this process's plus, on PostgreSQL, that of the server backends serving
  the benchmark's database (read from /proc, so the server must run on this machine):
  the baseline's INSERT ... SELECT spends its CPU there;
* ``peak_mb``: the sweep's peak Python allocation (tracemalloc, in a separate repeat of the
  sweep so it does not slow the timed one); ``max_rss_mb``: the process's peak RSS;
* ``delivery``: messages per second to a loopback aiosmtpd server over SMTP.

Prints JSON with ``--json``, with the machine's load averages when it ran.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import socket
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import delete, insert, select, text, update

from engine.app import build_app
from engine.core.clock import LONDON, FixedClock, end_of_day
from engine.core.service import Engine
from engine.core.settings import NotificationSettings, Settings
from engine.core.store.database import Database
from engine.core.store.models import Alert, Case, Deadline, OutboxMessage
from notifications.service import Notifier
from notifications.transports import SmtpTransport

NOW = dt.datetime(2024, 6, 3, 9, 0, tzinfo=LONDON)  # a Monday
RECIPIENTS = {"business_support": ["support@example.org"],
              "case_review_chair": ["chair@example.org"],
              "partnership_manager": ["manager@example.org"]}


def populate(db: Database, engine: Engine, count: int, chunk: int = 20_000) -> int:
    """``count`` open 'notification' deadlines, one per case; 1% due for an alert now."""
    from engine.core.store.access_store import AccessStore

    with db.begin() as conn:  # an area and the benchmark's user, holding the roles it needs
        store = AccessStore(conn)
        store.add_area("north", "North")
        store.add_user("bench", "Bench", "bench@example.org", "LA", NOW)
        user_id = store.user_id("bench")
        assert user_id is not None
        for role in ("business_support", "case_review_chair", "partnership_manager"):
            store.grant(user_id, role, None, "bench", NOW)
    engine.open_case("practice_review", "SEED", {"became_aware_on": "2024-06-03",
                                                 "child_ref": "C0", "label": "seed"}, "bench")
    with db.write() as s:
        s.execute(delete(Deadline))
    cal = engine.calendar
    version = engine.registry.get("practice_review").version  # the one SEED registered
    today = NOW.date()
    due_day = cal.add_working_days(today, 2)  # its '2 working days before' rung: today 07:00
    later_day = cal.add_working_days(today, 40)
    later_alert = NOW + dt.timedelta(days=50)
    due_count = 0
    case_id = 2
    for start in range(0, count, chunk):
        n = min(chunk, count - start)
        cases, deadlines = [], []
        for i in range(start, start + n):
            due = i % 100 == 0
            due_count += due
            day = due_day if due else later_day
            cases.append({"id": case_id + i, "ref": f"B-{i}", "workflow": "practice_review",
                          "workflow_version": version, "state": "awaiting_notification",
                          "data": {"became_aware_on": "2024-06-01"}, "version": 1,
                          "opened_at": NOW, "updated_at": NOW, "area": "north"})
            deadlines.append({"case_id": case_id + i, "name": "notification", "cycle": 1,
                              "rule": "5 working days after became_aware_on",
                              "anchor_field": "became_aware_on", "anchor_value": "2024-06-01",
                              "due_at": end_of_day(day), "due_day": day, "status": "open",
                              "owner_role": "business_support", "started_at": NOW,
                              "next_alert_at": NOW - dt.timedelta(hours=2) if due
                              else later_alert})
        with db.write() as s:
            s.execute(insert(Case), cases)
            s.execute(insert(Deadline), deadlines)
    return due_count


def reset(db: Database, due_at: dt.datetime) -> None:
    with db.write() as s:
        s.execute(delete(OutboxMessage))
        s.execute(delete(Alert))
        s.execute(update(Deadline).where(Deadline.due_day == due_at.date())  # type: ignore[arg-type]
                  .values(next_alert_at=NOW - dt.timedelta(hours=2)))


ADDRESSES = ("bench@example.org", "support@example.org")  # whom the sweep's rung reaches
FILLER_TEXT = "x" * 700  # the rendered text body's length, about
FILLER_HTML = "x" * 1000  # and the HTML's


def baseline(db: Database) -> None:
    """The same rows by plain SQL, in one transaction."""
    raised = "raised"
    now = NOW.astimezone(dt.UTC).replace(tzinfo=None)
    recipients = json.dumps([{"role": "business_support", "address": a} for a in ADDRESSES])
    addresses = " UNION ALL ".join(f"SELECT '{a}' AS address" for a in ADDRESSES)
    with db.write() as s:
        s.execute(text(
            "INSERT INTO alert (deadline_id, case_id, rung, kind, status, fire_at, due_at, "
            "raised_at, recipients) SELECT id, case_id, '2wd-before', 'reminder', :raised, "
            ":now, due_at, :now, :recipients FROM deadline WHERE next_alert_at <= :now"),
            {"now": now, "raised": raised, "recipients": recipients})
        s.execute(text(
            "INSERT INTO outbox (dedup_key, message_id, template, alert_id, case_id, "
            "to_address, subject, body_text, body_html, status, attempts, next_attempt_at, "
            "created_at) SELECT 'alert:' || a.id || ':' || r.address, "
            "'<sg.' || a.id || '.' || r.address || '>', 'reminder', a.id, a.case_id, "
            "r.address, 'Reminder: notification for ' || c.ref || ' due by Wednesday', "
            "'Case ' || c.ref || ' deadline notification ' || :text, "
            "'<p>Case ' || c.ref || '</p>' || :html, "
            f"'pending', 0, :now, :now FROM alert a JOIN \"case\" c ON c.id = a.case_id "
            f"CROSS JOIN ({addresses}) r WHERE a.raised_at = :now"),
            {"now": now, "text": FILLER_TEXT, "html": FILLER_HTML})
        s.execute(text("UPDATE deadline SET next_alert_at = NULL WHERE next_alert_at <= :now"),
                  {"now": now})


def server_cpu(db: Database) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving this database (the benchmark's
    own database, on this machine: /proc), by process id; {} on SQLite, which runs in ours."""
    if db.is_sqlite:
        return {}
    with db.begin_read() as conn:
        pids = list(conn.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()")).scalars())
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # another host, or the backend has gone
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def timed(db: Database, work: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, wall seconds, CPU seconds of this process and of its database server)."""
    before = server_cpu(db)
    started, cpu = time.perf_counter(), time.process_time()
    result = work()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    after = server_cpu(db)
    return result, wall, cpu + sum(t - before.get(pid, 0.0) for pid, t in after.items())


def deliver(db: Database, notifier: Notifier, limit: int) -> dict[str, Any]:
    from aiosmtpd.controller import Controller

    class Sink:
        count = 0

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            Sink.count += 1
            return "250 OK"

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        notifier.transport_factory = lambda: SmtpTransport("127.0.0.1", port)
        started = time.perf_counter()
        result = notifier.dispatch(batch=100, max_batches=max(1, limit // 100))
        elapsed = time.perf_counter() - started
    finally:
        controller.stop()
    return {"messages": result.sent, "received": Sink.count, "seconds": round(elapsed, 3),
            "per_s": round(result.sent / elapsed, 1) if elapsed else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deadlines", type=int, default=10_000)
    parser.add_argument("--db", help="Database URL (default: a fresh SQLite file)")
    parser.add_argument("--deliver", type=int, default=2000,
                        help="deliver at most this many messages over SMTP")
    parser.add_argument("--rounds", type=int, default=3,
                        help="timed rounds of the sweep and the baseline (medians reported)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="sg-bench-")
    url = args.db or f"sqlite:///{folder}/bench.db"
    db = Database(url, sqlite_synchronous="NORMAL")
    db.upgrade()
    clock = FixedClock(NOW)
    notes = NotificationSettings(recipients=RECIPIENTS, transport="memory")
    app = build_app(Settings(database_url=url, notifications=notes), clock, db=db)
    engine = app.engine
    started = time.perf_counter()
    due = populate(db, engine, args.deadlines)
    populate_s = time.perf_counter() - started
    due_day_end = end_of_day(engine.calendar.add_working_days(NOW.date(), 2))
    notifier = app.notifier

    sweeps, bases = [], []
    for _ in range(args.rounds):  # interleaved, so a busy spell hits both alike
        reset(db, due_day_end)
        swept, *times = timed(db, notifier.sweep)
        sweeps.append(times)
        reset(db, due_day_end)
        bases.append(timed(db, lambda: baseline(db))[1:])
        with db.read() as s:
            base_rows = len(list(s.scalars(select(Alert.id))))
            base_messages = len(list(s.scalars(select(OutboxMessage.id))))
    sweep_s, sweep_cpu = (statistics.median(x) for x in zip(*sweeps, strict=True))
    base_s, base_cpu = (statistics.median(x) for x in zip(*bases, strict=True))

    reset(db, due_day_end)
    tracemalloc.start()
    notifier.sweep()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    reset(db, due_day_end)
    notifier.sweep()
    delivery = deliver(db, notifier, args.deliver)
    report = {
        "deadlines": args.deadlines, "due": due, "database": db.display_url.split(":")[0],
        "populate_s": round(populate_s, 2),
        "rounds": args.rounds,
        "sweep": {"seconds": round(sweep_s, 4), "cpu_s": round(sweep_cpu, 4),
                  "alerts": swept.raised, "messages": swept.messages,
                  "per_s": round(swept.raised / sweep_s, 1)},
        "baseline": {"seconds": round(base_s, 4), "cpu_s": round(base_cpu, 4),
                     "alerts": base_rows, "messages": base_messages},
        "ratio_sweep_to_baseline": round(sweep_s / base_s, 2),
        "ratio_cpu": round(sweep_cpu / base_cpu, 2) if base_cpu else None,
        "sweep_peak_mb": round(peak / 2**20, 2),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "load": [round(x, 2) for x in os.getloadavg()],
        "delivery": delivery,
    }
    db.dispose()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for key, value in report.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
