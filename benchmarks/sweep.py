"""Benchmark the deadline sweep and outbox delivery.

    python benchmarks/sweep.py --deadlines 100000 --json [--db URL] [--deliver 2000]

Builds M open deadlines (1% of them with an alert rung due now) on a fresh SQLite file (WAL)
or the PostgreSQL database given, then in the same run:

* ``sweep``: :meth:`Notifier.sweep` (claims the due rows from the ``next_alert_at`` index,
  writes alert rows, renders and stores one email per recipient, moves ``next_alert_at`` on);
* ``baseline``: the same rows written by plain SQL statements in one transaction (alerts by
  INSERT ... SELECT, outbox rows by INSERT ... SELECT with the subject concatenated in SQL,
  ``next_alert_at`` by one UPDATE): no rendering, no Python per row;
* ``peak_mb``: the sweep's peak Python allocation (tracemalloc, in a separate repeat of the
  sweep so it does not slow the timed one);
* ``delivery``: messages per second to a loopback aiosmtpd server over SMTP.

Prints JSON with ``--json``. The state is reset between the measured passes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import socket
import sys
import tempfile
import time
import tracemalloc
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


def baseline(db: Database) -> float:
    """The same rows by plain SQL, in one transaction."""
    raised = "raised"
    started = time.perf_counter()
    with db.write() as s:
        s.execute(text(
            "INSERT INTO alert (deadline_id, case_id, rung, kind, status, fire_at, due_at, "
            "raised_at, recipients) SELECT id, case_id, '2wd-before', 'reminder', :raised, "
            ":now, due_at, :now, :recipients FROM deadline WHERE next_alert_at <= :now"),
            {"now": NOW.astimezone(dt.UTC).replace(tzinfo=None), "raised": raised,
             "recipients": json.dumps([{"role": "business_support",
                                        "address": "support@example.org"}])})
        s.execute(text(
            "INSERT INTO outbox (dedup_key, message_id, template, alert_id, case_id, "
            "to_address, subject, body_text, body_html, status, attempts, next_attempt_at, "
            "created_at) SELECT 'alert:' || a.id || :suffix, "
            "'<sg.' || a.id || '@example.org>', 'reminder', a.id, a.case_id, "
            ":address, 'Reminder: notification for ' || c.ref, "
            "'Case ' || c.ref || ' deadline notification', '<p>Case ' || c.ref || '</p>', "
            "'pending', 0, :now, :now FROM alert a JOIN \"case\" c ON c.id = a.case_id"),
            {"now": NOW.astimezone(dt.UTC).replace(tzinfo=None),
             "suffix": ":support@example.org", "address": "support@example.org"})
        s.execute(text("UPDATE deadline SET next_alert_at = NULL WHERE next_alert_at <= :now"),
                  {"now": NOW.astimezone(dt.UTC).replace(tzinfo=None)})
    return time.perf_counter() - started


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

    reset(db, due_day_end)
    started = time.perf_counter()
    swept = notifier.sweep()
    sweep_s = time.perf_counter() - started

    reset(db, due_day_end)
    tracemalloc.start()
    notifier.sweep()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    reset(db, due_day_end)
    base_s = baseline(db)
    with db.read() as s:
        base_rows = len(list(s.scalars(select(Alert.id))))

    reset(db, due_day_end)
    notifier.sweep()
    delivery = deliver(db, notifier, args.deliver)
    report = {
        "deadlines": args.deadlines, "due": due, "database": db.display_url.split(":")[0],
        "populate_s": round(populate_s, 2),
        "sweep": {"seconds": round(sweep_s, 4), "alerts": swept.raised,
                  "messages": swept.messages, "per_s": round(swept.raised / sweep_s, 1)},
        "baseline": {"seconds": round(base_s, 4), "alerts": base_rows},
        "ratio_sweep_to_baseline": round(sweep_s / base_s, 2),
        "sweep_peak_mb": round(peak / 2**20, 2),
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
