"""Do commands grow with what is stored? Time them on the demo year with N years of history.

    python benchmarks/scale.py --cases 100000 [--db URL] [--out FOLDER] [--rounds 3] --json

Builds a database whose last year is the demonstration year (``engine.apps.demo.year``: the
same people, cases, alerts and emails as ``safeguard demo``; on SQLite in ``--out``, or in the
PostgreSQL database ``--db`` names, whose tables are dropped first) and adds ``--cases`` N
closed practice reviews of earlier years (1 January 2013 to 31 March 2023), each with 5 events
(open, notify, submit the rapid review, the Panel's response, close without review), 3 met
deadlines, 5 alerts and 6 audit records (open, advance x4, show) appended to the audit chain
with valid hashes. They are written in bulk (Core multi-row inserts, ids assigned here), not
through the CLI. The OS login is the database's administrator and partnership manager for
every area (as in the demo).

It prints JSON: ``now`` (the demo's "today", in the last year), ``case_ref`` (an open case),
``year_from`` and ``year_to`` (the last year's reporting period), ``cases`` (all stored),
``seconds`` (to build), and, unless ``--no-time``, ``commands``: for ``status``,
``case list --overdue``, ``case show``, ``report annual --format html`` and ``audit verify``
run as whole processes (``python -m`` the CLI, as a user would), the median over ``--rounds``
of wall seconds, CPU seconds (the child's user + system time, from its rusage, so a figure
taken on a busy machine still means something) and peak RSS in MB, with the exit code.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HISTORY_FROM = dt.datetime(2013, 1, 1, 9, 0, tzinfo=dt.UTC)
HISTORY_TO = dt.datetime(2023, 3, 1, 9, 0, tzinfo=dt.UTC)
STEPS = (  # trigger, from, to, days after the case opened, fields recorded
    ("open", None, "awaiting_notification", 0, ("became_aware_on", "child_ref", "label")),
    ("notify", "awaiting_notification", "rapid_review", 3, ("notified_on",)),
    ("submit_rapid_review", "rapid_review", "awaiting_decision", 18, ("rr_submitted_on",)),
    ("record_panel_response", "awaiting_decision", "awaiting_decision", 30,
     ("panel_response", "panel_response_on")),
    ("close_without_review", "awaiting_decision", "closed", 40,
     ("decision_on", "decision_rationale")),
)
CLOCKS = (("notification", 5, "notified_on"), ("rapid_review", 15, "rr_submitted_on"),
          ("deferral_review", 30, "panel_response_on"))
RUNGS = (("2wd-before", "reminder", -2), ("due", "due", 0), ("1wd-after", "overdue", 1),
         ("3wd-after", "escalation", 3), ("5wd-before", "reminder", -5))


def build(url: str | None, out: Path, cases: int, you: str) -> dict[str, Any]:
    """The demo year, then ``cases`` closed cases of earlier years in bulk."""
    from sqlalchemy import func, select

    from engine.app import build_app
    from engine.apps.demo import year as demo
    from engine.core.clock import LONDON, FixedClock
    from engine.core.store.models import Case

    cases_t = Case.__table__  # type: ignore[attr-defined]
    now = dt.datetime.combine(demo.END, dt.time(18, 30), tzinfo=LONDON)
    started = time.perf_counter()
    emails = out / "outbox"
    if url is None or url.startswith("sqlite"):
        result = demo.build_year(out, you)
        url = result.url
    else:
        reset_postgres(url)
        emails.mkdir(parents=True, exist_ok=True)
        demo.fill_year(url, emails, you)  # the same year as on SQLite, every part of it
    app = build_app(demo.demo_settings(url, emails), FixedClock(now))
    try:
        if cases:
            add_history(app, cases)
        if app.db.dialect == "postgresql":
            # Fresh statistics, as autovacuum gathers soon after a bulk load: timed at once,
            # the report's aggregates were planned on none and ran 10x slower. (SQLite keeps
            # none unless asked, in a deployment too.)
            with app.db.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        with app.db.begin_read() as conn:
            total = int(conn.scalar(select(func.count()).select_from(cases_t)) or 0)
            case_ref = conn.scalar(select(cases_t.c.ref).where(
                cases_t.c.closed_at.is_(None), cases_t.c.workflow == "practice_review")
                .order_by(cases_t.c.id).limit(1))
    finally:
        app.close()  # mirrors the chain's head to the head file
    return {"db": url, "now": now.isoformat(), "case_ref": case_ref,
            "year_from": demo.YEAR[0].isoformat(), "year_to": demo.YEAR[1].isoformat(),
            "cases": total, "history_cases": cases,
            "seconds": round(time.perf_counter() - started, 2)}


def reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def add_history(app: Any, count: int, chunk: int = 2_000,
                between: tuple[dt.datetime, dt.datetime] = (HISTORY_FROM, HISTORY_TO),
                ) -> None:
    """``count`` closed practice reviews opened over ``between`` (by default the years
    before the demo year)."""
    from sqlalchemy import Table, func, insert, select, text

    from engine.apps.demo import year as demo
    from engine.core.audit import entry_hash
    from engine.core.store.models import (
        Alert,
        AuditHead,
        AuditRecord,
        Case,
        CaseEvent,
        Deadline,
    )

    CASES: Table = Case.__table__  # type: ignore[attr-defined]
    EVENTS: Table = CaseEvent.__table__  # type: ignore[attr-defined]
    DEADLINES: Table = Deadline.__table__  # type: ignore[attr-defined]
    ALERTS: Table = Alert.__table__  # type: ignore[attr-defined]
    AUDIT: Table = AuditRecord.__table__  # type: ignore[attr-defined]
    HEAD: Table = AuditHead.__table__  # type: ignore[attr-defined]

    def _next_id(conn: Any, table: Table) -> int:
        return int(conn.scalar(select(func.max(table.c.id))) or 0) + 1

    key = app.engine.gate.key
    since, span = between[0], (between[1] - between[0]).total_seconds()
    with app.db.begin() as conn:
        ids = {t.name: _next_id(conn, t) for t in (CASES, EVENTS, DEADLINES, ALERTS, AUDIT)}
        seq, prev = conn.execute(select(HEAD.c.seq, HEAD.c.hash)).one()
        seq, prev = int(seq), str(prev)
    for first in range(0, count, chunk):
        rows: dict[str, list[dict[str, Any]]] = {"case": [], "case_event": [], "deadline": [],
                                                 "alert": [], "audit_record": []}
        for n in range(first, min(count, first + chunk)):
            opened = since + dt.timedelta(seconds=span * n / count)
            case_id, ref = ids["case"], f"PR-H{opened.year}-{n + 1:06d}"
            ids["case"] += 1
            day = {trigger: (opened + dt.timedelta(days=d)) for trigger, _, _, d, _ in STEPS}
            data = {"became_aware_on": opened.date().isoformat(), "child_ref": f"C-H{n:06d}",
                    "label": f"Historic review {n + 1}",
                    "notified_on": day["notify"].date().isoformat(),
                    "rr_submitted_on": day["submit_rapid_review"].date().isoformat(),
                    "panel_response": "agree",
                    "panel_response_on": day["record_panel_response"].date().isoformat(),
                    "decision_on": day["close_without_review"].date().isoformat(),
                    "decision_rationale": "learning taken forward in a thematic review"}
            closed = day["close_without_review"]
            rows["case"].append({
                "id": case_id, "ref": ref, "workflow": "practice_review", "workflow_version": 1,
                "state": "closed", "data": data, "version": len(STEPS), "opened_at": opened,
                "updated_at": closed, "closed_at": closed, "area": demo.AREAS[n % 2][0],
                "legal_hold": None, "erased_at": None})
            for k, (trigger, src, dst, _, fields) in enumerate(STEPS, start=1):
                rows["case_event"].append({
                    "id": ids["case_event"], "case_id": case_id, "seq": k, "at": day[trigger],
                    "actor": "support", "trigger": trigger, "from_state": src, "to_state": dst,
                    "changes": {f: [None, data[f]] for f in fields}, "note": None,
                    "command": "case open" if trigger == "open" else "case advance"})
                ids["case_event"] += 1
            for name, days, _met in CLOCKS:
                due = opened + dt.timedelta(days=days)
                deadline_id = ids["deadline"]
                ids["deadline"] += 1
                rows["deadline"].append({
                    "id": deadline_id, "case_id": case_id, "name": name, "cycle": 1,
                    "rule": f"{days} working days after became_aware_on",
                    "anchor_field": "became_aware_on", "anchor_value": data["became_aware_on"],
                    "due_at": due, "due_day": due.date(), "status": "met",
                    "owner_role": "business_support", "started_at": opened,
                    "met_at": opened + dt.timedelta(days=days - 1), "closed_at": closed,
                    "next_alert_at": None, "key": None})
                if name != "notification":
                    continue
                for rung, kind, offset in RUNGS:
                    fire = due + dt.timedelta(days=offset)
                    rows["alert"].append({
                        "id": ids["alert"], "deadline_id": deadline_id, "case_id": case_id,
                        "rung": rung, "kind": kind,
                        "status": "raised" if offset <= 0 else "skipped",
                        "fire_at": fire, "due_at": due, "raised_at": fire,
                        "recipients": [{"login": "support", "role": "business_support"}]})
                    ids["alert"] += 1
            actions = [("case.open", "case open", day["open"])]
            actions += [("case.advance", "case advance", day[t]) for t, *_ in STEPS[1:]]
            actions.append(("case.show", "case show", closed + dt.timedelta(days=2)))
            for action, command, at in actions:
                seq += 1
                detail: dict[str, Any] = {}
                digest = entry_hash(seq, at, "support", action, "ok", ref, "practice_review",
                                    command, detail, prev, key)
                rows["audit_record"].append({
                    "id": ids["audit_record"], "seq": seq, "at": at, "actor": "support",
                    "action": action, "outcome": "ok", "case_ref": ref,
                    "workflow": "practice_review", "command": command, "detail": detail,
                    "prev_hash": prev, "hash": digest})
                ids["audit_record"] += 1
                prev = digest
        with app.db.begin() as conn:
            for table in (CASES, EVENTS, DEADLINES, ALERTS, AUDIT):
                conn.execute(insert(table), rows[table.name])
            conn.execute(HEAD.update().where(HEAD.c.id == 1).values(seq=seq, hash=prev))
    if app.db.dialect == "postgresql":  # ids were given: move the sequences past them
        with app.db.begin() as conn:
            for table in (CASES, EVENTS, DEADLINES, ALERTS, AUDIT):
                conn.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                    f"(SELECT max(id) FROM \"{table.name}\"))"))


COMMANDS: dict[str, list[str]] = {
    "status": ["status"],
    "case list --overdue": ["case", "list", "--overdue"],
    "case show": ["case", "show", "{case_ref}"],
    "report annual": ["report", "annual", "--from", "{year_from}", "--to", "{year_to}",
                      "--format", "html"],
    "audit verify": ["audit", "verify"],
}


def run_command(argv: list[str], env: dict[str, str]) -> dict[str, Any]:
    """One whole process: wall seconds, the child's CPU seconds and peak RSS (rusage)."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", "import cli; cli.main()", *argv],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                            cwd=ROOT)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
            "peak_mb": usage.ru_maxrss / 1024, "exit": proc.returncode,
            "error": err.decode(errors="replace").strip().splitlines()[-1:] or None}


def time_commands(info: dict[str, Any], rounds: int) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in COMMANDS}
    for _ in range(rounds):  # interleaved, so machine load spreads over every command
        for name, args in COMMANDS.items():
            argv = ["--db", info["db"], "--now", info["now"],
                    *(a.format(**info) for a in args)]
            runs[name].append(run_command(argv, env))
    out: dict[str, Any] = {}
    for name, samples in runs.items():
        out[name] = {k: round(statistics.median(s[k] for s in samples), 3)
                     for k in ("wall", "cpu", "peak_mb")}
        out[name]["exit"] = max(s["exit"] for s in samples)
        if out[name]["exit"]:
            out[name]["error"] = samples[-1]["error"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=0, help="closed cases of earlier years")
    parser.add_argument("--db", help="a PostgreSQL URL (its tables are dropped); default a "
                                     "SQLite file in --out")
    parser.add_argument("--out", help="folder for the SQLite file and the emails")
    parser.add_argument("--rounds", type=int, default=1, help="timing rounds (median)")
    parser.add_argument("--no-time", action="store_true", help="only build the database")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--time-only", metavar="JSON", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.time_only:  # a lean process (no SQLAlchemy loaded): its children's RSS is theirs
        info = json.loads(args.time_only)
        print(json.dumps(time_commands(info, args.rounds)))
        return
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="safeguard-scale-"))
    info = build(args.db, out, args.cases, getpass.getuser())
    if not args.no_time:
        timed = subprocess.run([sys.executable, __file__, "--rounds", str(args.rounds),
                                "--time-only", json.dumps(info)], check=True,
                               capture_output=True, text=True)
        info["commands"] = json.loads(timed.stdout)
        info["load"] = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        for key, value in info.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
