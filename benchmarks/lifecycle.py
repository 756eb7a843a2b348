"""Practice-review lifecycle throughput: the engine against plain sqlite3, in one run.

    python benchmarks/lifecycle.py --cases 1000 --json
    python benchmarks/lifecycle.py --cases 1000 --preload 100000 --json

Opens N practice reviews and fires each through to `published` (open + 7 fires, one
transaction each) on a SQLite file in WAL mode. The baseline writes the same rows (case
update with a version check, event, deadlines) with plain ``sqlite3`` and hand-written SQL on
an identical schema with identical pragmas. ``--preload M`` first fills both databases with M
other cases (with their events and deadlines) to show that the per-fire cost does not grow
with the size of the database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.app import build_app  # noqa: E402
from engine.core.clock import LONDON, FixedClock  # noqa: E402
from engine.core.settings import NotificationSettings, Settings  # noqa: E402
from engine.core.store.database import Database  # noqa: E402

OPEN = {"became_aware_on": "2024-06-03", "child_ref": "C-1", "label": "bench"}
STEPS: list[tuple[str, dict[str, str]]] = [
    ("notify", {"notified_on": "2024-06-07"}),
    ("submit_rapid_review", {"rr_submitted_on": "2024-06-20"}),
    ("commission_lcspr", {"decision_on": "2024-07-01"}),
    ("appoint_reviewer", {"reviewer": "bench", "reviewer_appointed_on": "2024-07-02"}),  # a user
    ("approve_final", {"planned_publication_on": "2024-12-02"}),
    ("send_to_panel", {"sent_to_panel_on": "2024-11-20"}),
    ("publish", {"published_on": "2024-12-02"}),
]
NOW = dt.datetime(2024, 12, 2, 9, 0, tzinfo=LONDON)


def _fresh(folder: Path, name: str, sync: str) -> str:
    path = folder / name
    url = f"sqlite:///{path}"
    db = Database(url, sync)
    db.upgrade()
    con = sqlite3.connect(path)
    with con:  # one area and a user holding the roles the lifecycle needs, everywhere
        con.execute("INSERT INTO area (code, name) VALUES ('north', 'North')")
        con.execute("INSERT INTO app_user (login, display_name, email, agency, created_at) "
                    "VALUES ('bench', 'Bench', 'b@example.org', 'LA', '2024-01-01 00:00:00')")
        for role in ("case_review_chair", "business_support", "partnership_manager"):
            con.execute("INSERT INTO role_grant (user_id, role, area, granted_at, granted_by) "
                        "VALUES (1, ?, NULL, '2024-01-01 00:00:00', 'bench')", (role,))
    con.close()
    db.dispose()
    return str(path)


def preload(path: str, count: int) -> None:
    """M finished cases with 8 events and 4 deadlines each, inserted in bulk."""
    if not count:
        return
    con = sqlite3.connect(path)
    ts = "2024-06-03 08:00:00.000000"
    with con:
        con.executemany(
            "INSERT INTO \"case\" (ref, workflow, workflow_version, state, data, version, "
            "opened_at, updated_at) VALUES (?, 'practice_review', 1, 'published', ?, 8, ?, ?)",
            ((f"OLD-{i}", json.dumps(OPEN), ts, ts) for i in range(count)))
        ids = [row[0] for row in con.execute("SELECT id FROM \"case\" WHERE ref LIKE 'OLD-%'")]
        con.executemany(
            "INSERT INTO case_event (case_id, seq, at, actor, \"trigger\", from_state, to_state,"
            " changes, note, command) VALUES (?, ?, ?, 'bench', 'x', 'a', 'b', '{}', NULL, NULL)",
            ((cid, seq, ts) for cid in ids for seq in range(1, 9)))
        con.executemany(
            "INSERT INTO deadline (case_id, name, cycle, rule, anchor_field, anchor_value, "
            "due_at, due_day, status, owner_role, started_at, met_at, closed_at) VALUES "
            "(?, ?, 1, 'r', 'f', '2024-06-03', ?, '2024-06-10', 'met', NULL, ?, ?, ?)",
            ((cid, name, ts, ts, ts, ts) for cid in ids
             for name in ("notification", "rapid_review", "publication", "send_to_panel")))
    con.close()


def run_engine(path: str, cases: int, sync: str) -> tuple[float, float]:
    db = Database(f"sqlite:///{path}", sync)
    # The application as a deployment builds it; workflow-event emails go to no one here
    # (recipients from settings, none configured), since the baseline writes no outbox rows.
    settings = Settings(database_url=db.url, sqlite_synchronous=sync,
                        notifications=NotificationSettings(transport="memory",
                                                           recipients_from="settings"))
    engine = build_app(settings, FixedClock(NOW), db=db).engine
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(cases):
        ref = f"PR-{i}"
        engine.open_case("practice_review", ref, OPEN, actor="bench")
        for trigger, values in STEPS:
            engine.fire(ref, trigger, values, actor="bench")
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    db.dispose()
    return elapsed, cpu


# The baseline: the same rows, hand-written SQL, one transaction per step.
_DEADLINES_STARTED = {  # trigger -> [(name, rule, anchor_field, due_day)]
    "open": [("notification", "5 working days after became_aware_on", "became_aware_on",
              "2024-06-10"),
             ("rapid_review", "15 working days after became_aware_on", "became_aware_on",
              "2024-06-24")],
    "commission_lcspr": [("publication", "6 calendar months after decision_on", "decision_on",
                          "2025-01-01")],
    "approve_final": [("send_to_panel", "7 working days before planned_publication_on",
                       "planned_publication_on", "2024-11-21")],
}
_DEADLINES_MET = {"notify": "notification", "submit_rapid_review": "rapid_review",
                  "send_to_panel": "send_to_panel", "publish": "publication"}
_STATES = ["awaiting_notification", "rapid_review", "awaiting_decision", "lcspr_commissioned",
           "in_review", "final_approved", "sent_to_panel", "published"]


def run_baseline(path: str, cases: int, sync: str) -> tuple[float, float]:
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute(f"PRAGMA synchronous={sync}")
    con.execute("PRAGMA foreign_keys=ON")
    ts = "2024-12-02 09:00:00.000000"
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(cases):
        ref = f"PR-{i}"
        con.execute("BEGIN IMMEDIATE")
        cur = con.execute(
            "INSERT INTO \"case\" (ref, workflow, workflow_version, state, data, version, "
            "opened_at, updated_at, area) VALUES (?, 'practice_review', 1, ?, ?, 1, ?, ?, "
            "'north')", (ref, _STATES[0], json.dumps(OPEN), ts, ts))
        case_id = cur.lastrowid
        _baseline_deadlines(con, case_id, "open", ts)
        con.execute("INSERT INTO case_event (case_id, seq, at, actor, \"trigger\", from_state, "
                    "to_state, changes, note, command) VALUES (?, 1, ?, 'bench', 'open', NULL, "
                    "?, ?, NULL, NULL)", (case_id, ts, _STATES[0], json.dumps(OPEN)))
        _baseline_gate(con, "case.open", ref, ts)
        con.execute("COMMIT")
        for step, (trigger, values) in enumerate(STEPS, start=1):
            con.execute("BEGIN IMMEDIATE")
            row = con.execute("SELECT id, state, data, version FROM \"case\" WHERE ref = ?",
                              (ref,)).fetchone()
            data = {**json.loads(row[2]), **values}
            changed = con.execute(
                "UPDATE \"case\" SET state = ?, data = ?, version = ?, updated_at = ? "
                "WHERE id = ? AND version = ?",
                (_STATES[step], json.dumps(data), row[3] + 1, ts, row[0], row[3])).rowcount
            assert changed == 1
            con.execute("SELECT id, name, status FROM deadline WHERE case_id = ?",
                        (row[0],)).fetchall()
            met = _DEADLINES_MET.get(trigger)
            if met:
                con.execute("UPDATE deadline SET status = 'met', met_at = ?, closed_at = ? "
                            "WHERE case_id = ? AND name = ? AND status = 'open'",
                            (ts, ts, row[0], met))
            _baseline_deadlines(con, row[0], trigger, ts)
            con.execute("INSERT INTO case_event (case_id, seq, at, actor, \"trigger\", "
                        "from_state, to_state, changes, note, command) VALUES (?, ?, ?, "
                        "'bench', ?, ?, ?, ?, NULL, NULL)",
                        (row[0], row[3] + 1, ts, trigger, row[1], _STATES[step],
                         json.dumps({k: [None, v] for k, v in values.items()})))
            _baseline_gate(con, f"case.fire.{trigger}", ref, ts)
            con.execute("COMMIT")
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    con.close()
    return elapsed, cpu


def _baseline_gate(con: sqlite3.Connection, action: str, ref: str, ts: str) -> None:
    """The access check's reads and the audit chain's append, as the engine does them."""
    user = con.execute("SELECT id, disabled_at FROM app_user WHERE login = 'bench'").fetchone()
    con.execute("SELECT role, area FROM role_grant WHERE user_id = ? AND revoked_at IS NULL",
                (user[0],)).fetchall()
    seq, prev = con.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    digest = hashlib.sha256(f"{prev}\n{action}{ref}{seq}".encode()).hexdigest()
    con.execute("INSERT INTO audit_record (seq, at, actor, action, outcome, case_ref, workflow, "
                "command, detail, prev_hash, hash) VALUES (?, ?, 'bench', ?, 'ok', ?, "
                "'practice_review', NULL, '{}', ?, ?)", (seq + 1, ts, action, ref, prev, digest))
    con.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (seq + 1, digest))


def _baseline_deadlines(con: sqlite3.Connection, case_id: int, trigger: str, ts: str) -> None:
    for name, rule, anchor, due in _DEADLINES_STARTED.get(trigger, []):
        con.execute("INSERT INTO deadline (case_id, name, cycle, rule, anchor_field, "
                    "anchor_value, due_at, due_day, status, owner_role, started_at) VALUES "
                    "(?, ?, 1, ?, ?, ?, ?, ?, 'open', NULL, ?)",
                    (case_id, name, rule, anchor, due, ts, due, ts))


def measure(cases: int, preloaded: int, sync: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="sg-bench-") as tmp:
        folder = Path(tmp)
        engine_db = _fresh(folder, "engine.db", sync)
        baseline_db = _fresh(folder, "baseline.db", sync)
        preload(engine_db, preloaded)
        preload(baseline_db, preloaded)
        steps = cases * (1 + len(STEPS))
        baseline_s, baseline_cpu = run_baseline(baseline_db, cases, sync)
        engine_s, engine_cpu = run_engine(engine_db, cases, sync)

    def figures(seconds: float, cpu: float) -> dict[str, float]:
        return {"seconds": round(seconds, 3), "cpu_seconds": round(cpu, 3),
                "steps_per_s": round(steps / seconds, 1),
                "ms_per_step": round(1000 * seconds / steps, 3),
                "cpu_ms_per_step": round(1000 * cpu / steps, 3)}

    return {
        "cases": cases, "preloaded_cases": preloaded, "steps": steps,
        "engine": figures(engine_s, engine_cpu), "baseline": figures(baseline_s, baseline_cpu),
        "ratio_engine_to_baseline": round(baseline_s / engine_s, 3),
        # CPU time: what a busy machine does not distort (wall time waits for other work)
        "cpu_ratio_engine_to_baseline": round(baseline_cpu / engine_cpu, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--preload", type=int, nargs="*", default=[0],
                        help="other cases already in the database (several values: one run each)")
    parser.add_argument("--synchronous", default="NORMAL", choices=["NORMAL", "FULL"],
                        help="SQLite durability for both sides (the shipped default is FULL)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    runs = [measure(args.cases, m, args.synchronous) for m in args.preload]
    result: dict[str, Any] = runs[0] if len(runs) == 1 else {"runs": runs}
    result["steps_per_s"] = runs[0]["engine"]["steps_per_s"]
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    result["sqlite_synchronous"] = args.synchronous
    result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for run in runs:
            print(f"{run['cases']} cases ({run['preloaded_cases']} preloaded): engine "
                  f"{run['engine']['steps_per_s']}/s, baseline {run['baseline']['steps_per_s']}"
                  f"/s, ratio {run['ratio_engine_to_baseline']}")
        print(f"peak RSS {result['peak_rss_mb']} MB")


if __name__ == "__main__":
    main()
