"""Practice-review lifecycle throughput: the engine against plain sqlite3 (and, with
``--spiff``, SpiffWorkflow), in one run.

    python benchmarks/lifecycle.py --cases 1000 --json
    python benchmarks/lifecycle.py --cases 1000 --preload 100000 --json
    python benchmarks/lifecycle.py --cases 1000 --spiff --json

Opens N practice reviews and fires each through to `published` (open + 7 fires, one
transaction each) on a SQLite file in WAL mode, through the application as ``build_app``
makes it (no audit head file: neither side mirrors the head outside the database).

The baseline is the floor for that work: the same statements, hand-written on plain
``sqlite3`` on an identical schema with identical pragmas, one ``BEGIN IMMEDIATE`` ...
``COMMIT`` per command. Each command reads the actor's live grants (one join) and checks a
role; an open reads the areas, records the workflow version's text the first time, inserts the
case, its deadlines and its event; a fire reads the case with its deadlines (one join), moves
it with a version check, meets or starts deadlines, inserts the event, and for the reviewer's
appointment checks the user exists and involves them. Every command appends one audit record
as the engine does: detail, command and key id included, its hash over the same JSON body
(so the baseline's chain verifies), in two statements from the head it last wrote. What the
engine computes (deadline dates, met times) the baseline has as constants, and it skips what
writes nothing (the transition machine, the view returned, notifications with no recipient).
After the run every table of the two databases is compared, ids included: the run stops if
the baseline wrote other rows than the engine.

``--spiff`` adds a third side: the same lifecycle on SpiffWorkflow (SpiffArena's parser and
serializer configuration), the BPMN process of ``practice_review.bpmn`` (parsed once), each
instance serialized to JSON in one row of its own WAL database between commands, one
transaction per command (``_SpiffSide`` says what it does). It does less than the engine (no
access check, deadlines, events, audit chain, involvement or value checks), though its JSON
also carries the process definition (SpiffArena stores that apart: about 12% of Spiff's
step). ``cpu_ratio_engine_to_spiff`` is Spiff's CPU time over the engine's (above 1, the
engine is faster); ``ratio_engine_to_spiff`` is the same in wall time. After the run every
stored instance must be finished with every value, else the run stops.

The sides take turns of ``--chunk`` cases (50; which goes first rotates), so that on a
shared machine a burst of other work weighs on all alike.
``--preload M`` first fills the engine's and the baseline's databases with M other cases
(with their events and deadlines) to show that the per-fire cost does not grow with the size
of the database. CPU time (``cpu_ratio_engine_to_baseline``) is the figure a busy machine
does not distort.
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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.app import build_app  # noqa: E402
from engine.core.clock import LONDON, FixedClock  # noqa: E402
from engine.core.registry import WorkflowRegistry  # noqa: E402
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


class _EngineSide:
    """The application as a deployment builds it, on its own database."""

    def __init__(self, path: str, sync: str) -> None:
        self.db = Database(f"sqlite:///{path}", sync)
        # Workflow-event emails go to no one here (recipients from settings, none
        # configured), since the baseline writes no outbox rows.
        settings = Settings(database_url=self.db.url, sqlite_synchronous=sync,
                            notifications=NotificationSettings(transport="memory",
                                                               recipients_from="settings"))
        self.engine = build_app(settings, FixedClock(NOW), db=self.db).engine

    def run(self, cases: range) -> None:
        engine = self.engine
        for i in cases:
            ref = f"PR-{i}"
            engine.open_case("practice_review", ref, OPEN, actor="bench")
            for trigger, values in STEPS:
                engine.fire(ref, trigger, values, actor="bench")

    def close(self) -> None:
        self.db.dispose()


# The baseline: the engine's statements, hand-written on plain sqlite3 (see the docstring).
_TS = "2024-12-02 09:00:00.000000"  # NOW in UTC, as the engine's columns store it
_DUE = {  # deadline -> (rule, anchor field, anchor value, due_at, due_day, owner, met_at)
    "notification": ("5 working days after became_aware_on", "became_aware_on", "2024-06-03",
                     "2024-06-10 23:00:00.000000", "2024-06-10", "business_support",
                     "2024-06-06 23:00:00.000000"),
    "rapid_review": ("15 working days after became_aware_on", "became_aware_on", "2024-06-03",
                     "2024-06-24 23:00:00.000000", "2024-06-24", "case_review_chair",
                     "2024-06-19 23:00:00.000000"),
    "publication": ("6 calendar months after decision_on", "decision_on", "2024-07-01",
                    "2025-01-02 00:00:00.000000", "2025-01-01", "case_review_chair",
                    "2024-12-02 00:00:00.000000"),
    "send_to_panel": ("7 working days before planned_publication_on", "planned_publication_on",
                      "2024-12-02", "2024-11-22 00:00:00.000000", "2024-11-21",
                      "business_support", "2024-11-20 00:00:00.000000"),
}
_STARTS = {"open": ["notification", "rapid_review"], "commission_lcspr": ["publication"],
           "approve_final": ["send_to_panel"]}
_MEETS = {"notify": "notification", "submit_rapid_review": "rapid_review",
          "send_to_panel": "send_to_panel", "publish": "publication"}
_STATES = ["awaiting_notification", "rapid_review", "awaiting_decision", "lcspr_commissioned",
           "in_review", "final_approved", "sent_to_panel", "published"]
_CHAIR, _SUPPORT, _MANAGER = "case_review_chair", "business_support", "partnership_manager"
_ROLES = {  # the roles that may open the case or fire the trigger (any one of them)
    "open": (_SUPPORT, _CHAIR, _MANAGER), "notify": (_SUPPORT, _CHAIR),
    "submit_rapid_review": (_CHAIR,), "commission_lcspr": (_CHAIR, _MANAGER),
    "appoint_reviewer": (_CHAIR, _MANAGER), "approve_final": (_CHAIR,),
    "send_to_panel": (_SUPPORT, _CHAIR), "publish": (_SUPPORT, _CHAIR)}
_INVOLVES = {"appoint_reviewer": ("reviewer", "reviewer")}  # trigger -> (field, kind)
_GRANTS = ("SELECT app_user.disabled_at, role_grant.role, role_grant.area FROM app_user "
           "LEFT OUTER JOIN role_grant ON role_grant.user_id = app_user.id AND "
           "role_grant.revoked_at IS NULL WHERE app_user.login = ?")
_CASE_WITH_DEADLINES = (
    "SELECT c.id, c.ref, c.workflow, c.workflow_version, c.state, c.data, c.version, "
    "c.opened_at, c.updated_at, c.area, c.closed_at, c.legal_hold, c.erased_at, d.id, "
    "d.case_id, d.name, d.cycle, d.rule, d.anchor_value, d.due_at, d.due_day, d.status, "
    "d.owner_role, d.started_at, d.met_at, d.\"key\" FROM \"case\" AS c LEFT OUTER JOIN "
    "deadline AS d ON d.case_id = c.id WHERE c.ref = ? ORDER BY c.id, d.started_at, d.id")
_INSERT_DEADLINE = (
    "INSERT INTO deadline (case_id, name, cycle, rule, anchor_field, anchor_value, due_at, "
    "due_day, status, owner_role, started_at, met_at, closed_at, next_alert_at, \"key\") "
    "VALUES (?, ?, 1, ?, ?, ?, ?, ?, 'open', ?, ?, NULL, NULL, NULL, NULL)")
_MEET_DEADLINE = ("UPDATE deadline SET rule = ?, anchor_value = ?, due_at = ?, due_day = ?, "
                  "status = 'met', met_at = ?, closed_at = ?, next_alert_at = NULL "
                  "WHERE id = ?")
_INSERT_EVENT = ("INSERT INTO case_event (case_id, seq, at, actor, \"trigger\", from_state, "
                 "to_state, changes, note, command) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)")
_MOVE_HEAD = ("UPDATE audit_head SET seq = ?, hash = ?, key_id = '' WHERE id = 1 AND seq = ? "
              "AND hash = ? AND key_id = ''")
_INSERT_AUDIT = ("INSERT INTO audit_record (seq, at, actor, action, outcome, case_ref, "
                 "workflow, command, detail, prev_hash, hash, key_id) VALUES "
                 "(?, ?, ?, ?, 'ok', ?, 'practice_review', ?, ?, ?, ?, '')")


def _connect(path: str, sync: str) -> sqlite3.Connection:
    """A connection that leaves transactions to its caller, with the engine's pragmas."""
    con = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=30000",
                   f"synchronous={sync}"):
        con.execute(f"PRAGMA {pragma}")
    return con


class _Baseline:
    """One connection, the head of the audit chain it last wrote, and the commands."""

    def __init__(self, path: str, sync: str, workflow: tuple[int, str, str]) -> None:
        self.con = _connect(path, sync)
        self.version, self.digest, self.text = workflow
        self.registered = False  # the workflow version's text, recorded by the first open
        self.head: tuple[int, str] | None = None

    @staticmethod
    def allow(rows: list[Any], roles: tuple[str, ...], area: str) -> None:
        """The actor (their grants, read once per command) holds one of ``roles`` in the
        case's area or in all areas."""
        if not rows or rows[0][0] is not None or not any(
                role in roles and where in (None, area) for _, role, where in rows):
            raise PermissionError(roles)

    def audit(self, actor: str, action: str, ref: str, detail: dict[str, Any]) -> None:
        """Append to the chain: from the head this connection last wrote, moved only if it
        still is that (two statements); the first time, the head row is read."""
        cached = self.head is not None
        if self.head is None:
            self.head = self.con.execute("SELECT seq, hash, key_id FROM audit_head "
                                         "WHERE id = 1").fetchone()[:2]
        seq, prev = self.head[0] + 1, self.head[1]
        body = json.dumps({"seq": seq, "at": NOW.astimezone(dt.UTC).isoformat(
            timespec="microseconds"), "actor": actor, "action": action, "outcome": "ok",
            "case_ref": ref, "workflow": "practice_review", "command": action.replace(".", " "),
            "detail": detail}, sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(f"{prev}\n{body}".encode()).hexdigest()
        if cached and self.con.execute(_MOVE_HEAD, (seq, digest, seq - 1, prev)).rowcount != 1:
            raise RuntimeError("the audit head moved")  # one writer here: it never does
        self.con.execute(_INSERT_AUDIT, (seq, _TS, actor, action, ref,
                                         action.replace(".", " "), json.dumps(detail), prev,
                                         digest))
        if not cached:
            self.con.execute("UPDATE audit_head SET seq = ?, hash = ?, key_id = '' "
                             "WHERE id = 1", (seq, digest))
        self.head = (seq, digest)

    def run(self, cases: range) -> None:
        for i in cases:
            ref = f"PR-{i}"
            self.open(ref, OPEN, "bench")
            for step, (trigger, values) in enumerate(STEPS, start=1):
                self.fire(ref, step, trigger, values, "bench")

    def close(self) -> None:
        self.con.close()

    def start(self, case_id: int, trigger: str) -> None:
        self.con.executemany(_INSERT_DEADLINE, [
            (case_id, name, rule, anchor, value, due_at, due_day, owner, _TS)
            for name in _STARTS.get(trigger, ())
            for rule, anchor, value, due_at, due_day, owner, _ in (_DUE[name],)])

    def open(self, ref: str, values: dict[str, str], actor: str) -> None:
        con = self.con
        con.execute("BEGIN IMMEDIATE")
        grants = con.execute(_GRANTS, (actor,)).fetchall()
        areas = [code for code, _ in con.execute("SELECT code, name FROM area ORDER BY code")]
        self.allow(grants, _ROLES["open"], areas[0])
        if not self.registered:
            if con.execute("SELECT digest FROM workflow_version WHERE name = "
                           "'practice_review' AND version = ?", (self.version,)).fetchone() \
                    is None:
                con.execute("INSERT INTO workflow_version (name, version, digest, "
                            "source_text, registered_at) VALUES ('practice_review', ?, ?, ?, "
                            "?)", (self.version, self.digest, self.text, _TS))
            self.registered = True
        case_id = con.execute(
            "INSERT INTO \"case\" (ref, workflow, workflow_version, state, data, version, "
            "opened_at, updated_at, closed_at, area) VALUES (?, 'practice_review', ?, ?, ?, 1, "
            "?, ?, NULL, ?)", (ref, self.version, _STATES[0], json.dumps(values), _TS, _TS,
                               areas[0])).lastrowid
        assert case_id is not None
        self.start(case_id, "open")
        con.execute(_INSERT_EVENT, (case_id, 1, _TS, actor, "open", None, _STATES[0],
                                    json.dumps({k: [None, v] for k, v in values.items()}),
                                    "case open"))
        self.audit(actor, "case.open", ref, {"area": areas[0], "fields": sorted(values)})
        con.execute("COMMIT")

    def fire(self, ref: str, step: int, trigger: str, values: dict[str, str],
             actor: str) -> None:
        con = self.con
        con.execute("BEGIN IMMEDIATE")
        grants = con.execute(_GRANTS, (actor,)).fetchall()
        rows = con.execute(_CASE_WITH_DEADLINES, (ref,)).fetchall()
        self.allow(grants, _ROLES[trigger], rows[0][9])
        case_id, state, old, version = rows[0][0], rows[0][4], json.loads(rows[0][5]), rows[0][6]
        deadlines = {row[15]: row[13] for row in rows if row[13] is not None}
        data = {**old, **values}
        if con.execute("UPDATE \"case\" SET state = ?, data = ?, version = ?, updated_at = ?, "
                       "closed_at = NULL WHERE id = ? AND version = ?",
                       (_STATES[step], json.dumps(data), version + 1, _TS, case_id,
                        version)).rowcount != 1:
            raise RuntimeError("the case moved")
        met = _MEETS.get(trigger)
        if met:
            rule, _, value, due_at, due_day, _, met_at = _DUE[met]
            con.executemany(_MEET_DEADLINE, [(rule, value, due_at, due_day, met_at, _TS,
                                              deadlines[met])])
        self.start(case_id, trigger)
        con.execute(_INSERT_EVENT, (case_id, version + 1, _TS, actor, trigger, state,
                                    _STATES[step], json.dumps({k: [old.get(k), v] for k, v
                                                               in values.items()}),
                                    "case advance"))
        if trigger in _INVOLVES:
            field, kind = _INVOLVES[trigger]
            login = values[field]
            if con.execute("SELECT login, display_name, email, disabled_at FROM app_user "
                           "WHERE login = ?", (login,)).fetchone() is None:
                raise LookupError(login)
            if con.execute("SELECT id FROM case_involvement WHERE case_id = ? AND login = ? "
                           "AND kind = ?", (case_id, login, kind)).fetchone() is None:
                con.execute("INSERT INTO case_involvement (case_id, login, kind, since) "
                            "VALUES (?, ?, ?, ?)", (case_id, login, kind, _TS))
        self.audit(actor, "case.advance", ref, {"steps": [{
            "case": ref, "trigger": trigger, "from": state, "to": _STATES[step],
            "fields": sorted(values)}]})
        con.execute("COMMIT")


def _workflow() -> tuple[int, str, str]:
    """(version, digest, text) of the practice review definition, as the engine records it."""
    definition = WorkflowRegistry.from_directory(ROOT / "workflows").get("practice_review")
    return (definition.version, definition.digest,
            Path(definition.source).read_text(encoding="utf-8"))


# SpiffWorkflow with SpiffArena's parser and serializer configuration: a BPMN process parsed
# once, each instance serialized to JSON between commands (one row; SpiffArena spreads it over
# task rows). Imported only with --spiff (a dev dependency).
BPMN = Path(__file__).with_name("practice_review.bpmn")


class SpiffProcess:
    """The practice-review BPMN process parsed (once per run), and the serializer."""

    def __init__(self, bpmn: Path = BPMN) -> None:
        from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
        from SpiffWorkflow.bpmn.specs.mixins import EndEventMixin
        from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser
        from SpiffWorkflow.spiff.serializer import DEFAULT_CONFIG

        parser = SpiffBpmnParser(validator=VALIDATOR)
        parser.add_bpmn_file(str(bpmn))
        self.spec = parser.get_spec("practice_review")
        self.subprocess_specs = parser.get_subprocess_specs("practice_review")
        # the state of a finished instance: its end event's name (the engine's last state)
        self.end: str = next(spec.bpmn_name for spec in self.spec.task_specs.values()
                             if isinstance(spec, EndEventMixin))
        self.serializer = BpmnWorkflowSerializer(
            BpmnWorkflowSerializer.configure(DEFAULT_CONFIG))


class _SpiffSide:
    """The lifecycle on SpiffWorkflow: one row per case (ref, state, the instance as
    ``BpmnWorkflowSerializer`` JSON) in its own WAL database with the baseline's pragmas, one
    ``BEGIN IMMEDIATE`` ... ``COMMIT`` per command. Open creates the ``BpmnWorkflow`` with the
    values as its data, runs the engine steps and inserts the row; a fire reads the row,
    deserializes it, completes the ready user task named after the trigger with the step's
    values (none ready by that name: an error), runs the engine steps, serializes and
    updates the row. The state stored is the name of the ready user task (the engine's
    state: see practice_review.bpmn), or of the end event once finished.

    That is less work than the engine's: no access check, deadlines, events, audit chain or
    involvement, no values parsed or checked (and no --preload rows). The JSON holds the
    process definition too (SpiffArena keeps it apart), about 12% of a step's CPU here."""

    def __init__(self, path: str, sync: str, process: SpiffProcess) -> None:
        from SpiffWorkflow import TaskState
        from SpiffWorkflow.bpmn import BpmnWorkflow

        self.workflow, self.ready = BpmnWorkflow, TaskState.READY
        self.process = process
        self.con = _connect(path, sync)
        self.con.execute("CREATE TABLE IF NOT EXISTS process_instance (id INTEGER PRIMARY KEY,"
                         " ref TEXT NOT NULL UNIQUE, state TEXT NOT NULL, "
                         "serialization TEXT NOT NULL)")

    def run(self, cases: range) -> None:
        for i in cases:
            ref = f"PR-{i}"
            self.open(ref, OPEN)
            for trigger, values in STEPS:
                self.fire(ref, trigger, values)

    def close(self) -> None:
        self.con.close()

    def state(self, workflow: Any) -> str:
        task = workflow.get_next_task(state=self.ready, manual=True)
        if task is not None:
            return str(task.task_spec.bpmn_name)
        if not workflow.is_completed():
            raise RuntimeError("the instance waits for nothing yet is not finished")
        return self.process.end

    @contextmanager
    def _command(self) -> Iterator[sqlite3.Connection]:
        """One command's transaction (as the baseline's): rolled back if the command fails."""
        con = self.con
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    def open(self, ref: str, values: dict[str, str]) -> None:
        with self._command() as con:
            workflow = self.workflow(self.process.spec, self.process.subprocess_specs)
            workflow.task_tree.set_data(**values)  # the root's data flows to every task
            workflow.do_engine_steps()
            con.execute("INSERT INTO process_instance (ref, state, serialization) VALUES "
                        "(?, ?, ?)", (ref, self.state(workflow),
                                      self.process.serializer.serialize_json(workflow)))

    def fire(self, ref: str, trigger: str, values: dict[str, str]) -> None:
        with self._command() as con:
            row = con.execute("SELECT id, serialization FROM process_instance WHERE ref = ?",
                              (ref,)).fetchone()
            if row is None:
                raise LookupError(f"no case {ref}")
            workflow = self.process.serializer.deserialize_json(row[1])
            task = workflow.get_next_task(state=self.ready, manual=True, spec_name=trigger)
            if task is None:
                raise LookupError(f"case {ref} has no ready task '{trigger}'")
            task.set_data(**values)
            task.run()
            workflow.do_engine_steps()
            con.execute("UPDATE process_instance SET state = ?, serialization = ? WHERE id = ?",
                        (self.state(workflow), self.process.serializer.serialize_json(workflow),
                         row[0]))


def spiff_done(path: str, cases: int, process: SpiffProcess) -> None:
    """Every case's stored instance is finished, in the last state, with every value: else
    the Spiff side skipped work and its figures would mean nothing."""
    con = sqlite3.connect(path)
    try:
        rows = con.execute("SELECT ref, state, serialization FROM process_instance").fetchall()
    finally:
        con.close()
    expected = {**OPEN, **{k: v for _, values in STEPS for k, v in values.items()}}
    if len(rows) != cases:
        sys.exit(f"the Spiff side stored {len(rows)} cases, not {cases}")
    for ref, state, serialization in rows:
        workflow = process.serializer.deserialize_json(serialization)
        if state != _STATES[-1] or not workflow.is_completed() or workflow.data != expected:
            sys.exit(f"the Spiff side did not finish case {ref} (state {state}): bring it in "
                     "line with the engine")


def same_rows(engine_db: str, baseline_db: str) -> None:
    """Every table of the two databases holds the same rows (ids included): otherwise the
    baseline no longer does the engine's work, and the ratio would mean nothing. Compared
    in SQLite (EXCEPT both ways), so a preloaded database is not read into memory."""
    con = sqlite3.connect(engine_db)
    try:
        con.execute("ATTACH DATABASE ? AS baseline", (baseline_db,))
        tables = [r[0] for r in con.execute(
            "SELECT name FROM main.sqlite_master WHERE type = 'table' ORDER BY name")]
        for table in tables:
            ours, theirs = f'main."{table}"', f'baseline."{table}"'
            counts = [con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                      for t in (ours, theirs)]
            differ = con.execute(f"SELECT * FROM (SELECT * FROM {ours} EXCEPT SELECT * FROM "
                                 f"{theirs}) UNION ALL SELECT * FROM (SELECT * FROM {theirs} "
                                 f"EXCEPT SELECT * FROM {ours}) LIMIT 2").fetchall()
            if counts[0] != counts[1] or differ:
                sys.exit(f"the baseline wrote other rows than the engine in '{table}' "
                         f"({counts[0]} vs {counts[1]} rows; differing: {differ}): bring the "
                         "baseline in line with the engine")
    finally:
        con.close()


def timed(sides: dict[str, _EngineSide | _Baseline | _SpiffSide], cases: int, chunk: int,
          ) -> dict[str, tuple[float, float]]:
    """(wall, CPU) seconds of each side over ``cases`` cases, run in turns of ``chunk``
    cases (the first side first, then the next first, ...): a busy shared machine's changes
    fall on all sides alike, not on whichever ran while they lasted."""
    totals = {name: [0.0, 0.0] for name in sides}
    chunk = chunk or cases
    order = list(sides)
    for turn, low in enumerate(range(0, cases, chunk)):
        names = order[turn % len(order):] + order[:turn % len(order)]
        for name in names:
            start, cpu = time.perf_counter(), time.process_time()
            sides[name].run(range(low, min(low + chunk, cases)))
            totals[name][0] += time.perf_counter() - start
            totals[name][1] += time.process_time() - cpu
    return {name: (wall, cpu) for name, (wall, cpu) in totals.items()}


def measure(cases: int, preloaded: int, sync: str, chunk: int,
            spiff: SpiffProcess | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="sg-bench-") as tmp:
        folder = Path(tmp)
        engine_db = _fresh(folder, "engine.db", sync)
        baseline_db = _fresh(folder, "baseline.db", sync)
        preload(engine_db, preloaded)
        preload(baseline_db, preloaded)
        steps = cases * (1 + len(STEPS))
        sides: dict[str, _EngineSide | _Baseline | _SpiffSide] = {
            "baseline": _Baseline(baseline_db, sync, _workflow()),
            "engine": _EngineSide(engine_db, sync)}
        spiff_db = str(folder / "spiff.db")
        if spiff is not None:
            sides["spiff"] = _SpiffSide(spiff_db, sync, spiff)
        try:
            times = timed(sides, cases, chunk)
        finally:
            for side in sides.values():
                side.close()
        (baseline_s, baseline_cpu), (engine_s, engine_cpu) = times["baseline"], times["engine"]
        same_rows(engine_db, baseline_db)
        if spiff is not None:
            spiff_done(spiff_db, cases, spiff)

    def figures(seconds: float, cpu: float) -> dict[str, float]:
        return {"seconds": round(seconds, 3), "cpu_seconds": round(cpu, 3),
                "steps_per_s": round(steps / seconds, 1),
                "ms_per_step": round(1000 * seconds / steps, 3),
                "cpu_ms_per_step": round(1000 * cpu / steps, 3)}

    result = {
        "cases": cases, "preloaded_cases": preloaded, "steps": steps, "chunk": chunk,
        "engine": figures(engine_s, engine_cpu), "baseline": figures(baseline_s, baseline_cpu),
        "ratio_engine_to_baseline": round(baseline_s / engine_s, 3),
        # CPU time: what a busy machine does not distort (wall time waits for other work)
        "cpu_ratio_engine_to_baseline": round(baseline_cpu / engine_cpu, 3),
    }
    if "spiff" in times:  # above 1: the engine is faster than SpiffWorkflow
        spiff_s, spiff_cpu = times["spiff"]
        result.update({"spiff": figures(spiff_s, spiff_cpu),
                       "ratio_engine_to_spiff": round(spiff_s / engine_s, 3),
                       "cpu_ratio_engine_to_spiff": round(spiff_cpu / engine_cpu, 3)})
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--preload", type=int, nargs="*", default=[0],
                        help="other cases already in the database (several values: one run each)")
    parser.add_argument("--synchronous", default="NORMAL", choices=["NORMAL", "FULL"],
                        help="SQLite durability for both sides (the shipped default is FULL)")
    parser.add_argument("--chunk", type=int, default=50,
                        help="cases each side runs in its turn (0: each side all at once)")
    parser.add_argument("--spiff", action="store_true",
                        help="also time the lifecycle on SpiffWorkflow (a dev dependency)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    spiff = None
    if args.spiff:
        try:
            spiff = SpiffProcess()
        except ImportError:
            sys.exit("--spiff needs SpiffWorkflow: pip install 'spiffworkflow>=3.1,<4' "
                     "(in the dev extra)")
    runs = [measure(args.cases, m, args.synchronous, args.chunk, spiff) for m in args.preload]
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
            if "spiff" in run:
                print(f"  SpiffWorkflow {run['spiff']['steps_per_s']}/s: the engine "
                      f"{run['ratio_engine_to_spiff']}x in wall time, "
                      f"{run['cpu_ratio_engine_to_spiff']}x in CPU time")
        print(f"peak RSS {result['peak_rss_mb']} MB")


if __name__ == "__main__":
    main()
