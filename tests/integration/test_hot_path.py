"""The hot path's shortcuts keep the engine's behaviour: statements on the driver's cursor read
and write what SQLAlchemy would; the audit head cached by one process stays right when another
appends; a server's background head mirror writes the head file only after the database is
synced, and never ahead of it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from engine.app import App
from engine.core import casework as casework_module
from engine.core.auditing import AuditTrail
from engine.core.clock import FixedClock
from engine.core.gate import read_head_file
from engine.core.service import Engine
from engine.core.store.access_store import _MOVE_HEAD_FROM, AUDIT, AccessStore
from engine.core.store.cases import _CASE_COLUMNS, _WITH_DEADLINES, CASES, DEADLINES, CaseStore
from engine.core.store.database import Database
from engine.core.store.driver import Hot
from tests.conftest import AREA, make_app

OPEN = {"became_aware_on": "2024-06-03", "child_ref": "C-7", "label": "Hot"}


def _review(engine: Engine, ref: str = "PR-1") -> None:
    engine.open_case("practice_review", ref, OPEN, actor="amy")
    engine.fire(ref, "notify", {"notified_on": "2024-06-07"}, actor="amy")


def test_a_hot_read_returns_what_sqlalchemy_returns(engine: Engine, db: Database) -> None:
    _review(engine)
    with db.begin_read() as conn:
        through_sqlalchemy = [tuple(r) for r in conn.execute(_WITH_DEADLINES, {"ref": "PR-1"})]
        on_the_driver = Hot(_WITH_DEADLINES).rows(conn, {"ref": "PR-1"})
    assert on_the_driver == through_sqlalchemy
    assert len(on_the_driver) == 2  # the case with its two deadlines
    row = on_the_driver[0]
    assert isinstance(row[5], dict) and row[5]["child_ref"] == "C-7"  # JSON decoded
    assert row[7].tzinfo is dt.UTC  # aware UTC datetimes, as the column type gives them


def test_hot_writes_read_back_through_sqlalchemy(engine: Engine, db: Database) -> None:
    _review(engine)
    engine.fire("PR-1", "submit_rapid_review", {"rr_submitted_on": "2024-06-20",
                                                "rr_recommendation": "lcspr"}, actor="amy")
    with db.begin_read() as conn:
        found = CaseStore(conn).find_with_deadlines("PR-1")
        events = CaseStore(conn).event_rows(found[0][0].id)
    case, deadlines = found[0]
    assert case.version == 3 and case.state == "awaiting_decision"
    assert case.data["rr_recommendation"] == "lcspr"
    statuses = {d.name: d.status for d in deadlines}
    assert statuses["notification"] == "met" and statuses["rapid_review"] == "met"
    assert [e.trigger for e in events] == ["open", "notify", "submit_rapid_review"]
    assert events[-1].changes["rr_recommendation"] == [None, "lcspr"]
    assert all(e.at.tzinfo is dt.UTC for e in events)


def test_two_gates_appending_in_turn_keep_one_chain(db: Database, tmp_path: Path) -> None:
    """Each gate caches the head it left; the other's records make that cache stale, and the
    next record is then made on the head as it is (read again), so the chain stays whole."""
    head = tmp_path / "two-gates-head.json"
    clock = FixedClock(dt.datetime(2024, 6, 3, 9, 0, tzinfo=dt.UTC))
    first, second = make_app(db, clock, head), make_app(db, clock, head)
    _review(first.engine, "PR-1")
    _review(second.engine, "PR-2")
    first.engine.case("PR-2", "amy")  # made on the head the second gate moved
    second.engine.case("PR-1", "amy")
    with db.begin_read() as conn:
        seqs = list(conn.scalars(select(AUDIT.c.seq).order_by(AUDIT.c.seq)))
    assert seqs == list(range(1, 7))
    verdict = AuditTrail(db, first.engine.gate).verify("amy")
    assert verdict.ok, verdict.message


def test_the_background_mirror_syncs_before_it_names_a_read(engine: Engine, db: Database,
                                                            tmp_path: Path) -> None:
    _review(engine)
    head_file = engine.gate.head_file
    assert head_file is not None
    before = read_head_file(head_file)
    order: list[str] = []

    def sync() -> None:
        order.append(f"sync (file at {read_head_file(head_file)})")
        db.sync_wal()

    engine.gate.mirror_in_background(sync)
    try:
        engine.case("PR-1", "amy")  # a read: its commit did not wait for the disk
    finally:
        engine.gate.drain()
    with db.begin_read() as conn:
        in_database = AccessStore(conn).head()
    assert read_head_file(head_file) == in_database
    if db.is_sqlite:  # synced first, while the file still named the earlier record
        assert order == [f"sync (file at {before})"]
    else:  # PostgreSQL commits reads as it always did: nothing to sync
        assert order == []


def test_a_change_is_mirrored_without_a_sync(engine: Engine, db: Database) -> None:
    """A change's commit waited for the disk itself: the mirror only writes the file."""
    calls: list[int] = []
    engine.gate.mirror_in_background(lambda: calls.append(1))
    try:
        _review(engine)
    finally:
        engine.gate.drain()
    with db.begin_read() as conn:
        assert read_head_file(engine.gate.head_file) == AccessStore(conn).head()
    assert calls == []


def test_the_header_count_counted_in_the_database_matches_the_task_list(
        app: App, db: Database) -> None:
    """A user whose roles need no involvement has their tasks counted in SQL; the number is
    the task list's length, for a role held in one area as for one held everywhere."""
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    with db.begin() as conn:
        store = AccessStore(conn)
        store.add_area("westmorland_furness", "Westmorland and Furness")
        for login, area in (("west", "westmorland_furness"), ("east", AREA),
                            ("everywhere", None)):
            store.add_user(login, login.title(), f"{login}@example.org", "LA", now)
            user_id = store.user_id(login)
            assert user_id is not None
            store.grant(user_id, "case_review_chair", area, "tests", now)
            store.grant(user_id, "business_support", None if area else AREA, "tests", now)
    engine = app.engine
    engine.open_case("practice_review", "PR-E", OPEN, actor="amy", area=AREA)
    engine.open_case("practice_review", "PR-W", OPEN, actor="amy", area="westmorland_furness")
    engine.fire("PR-W", "notify", {"notified_on": "2024-06-07"}, actor="amy")
    for login in ("west", "east", "everywhere", "amy"):
        listed = app.casework.tasks(login)
        assert app.casework.task_count(login) == len(listed), login
        assert app.casework.page("PR-E", "amy").task_count == len(app.casework.tasks("amy"))
    assert len(app.casework.tasks("west")) != len(app.casework.tasks("everywhere"))


def test_the_header_count_counts_an_involvement_role_only_where_the_user_is_involved(
        app: App, db: Database) -> None:
    """A role that reaches only the cases its holder is involved in (an independent reviewer
    appointed to the review) is counted in SQL too: a deadline that role owns counts for the
    reviewer of that case and for no other holder of the role."""
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    engine = app.engine
    for ref in ("PR-A", "PR-B", "PR-C"):
        engine.open_case("practice_review", ref, OPEN, actor="amy", area=AREA)
    with db.begin() as conn:
        store = AccessStore(conn)
        store.add_area("westmorland_furness", "Westmorland and Furness")
        for login in ("rita", "rob"):
            store.add_user(login, login.title(), f"{login}@example.org", "LA", now)
            user_id = store.user_id(login)
            assert user_id is not None
            store.grant(user_id, "independent_reviewer", None, "tests", now)
        rita = store.user_id("rita")
        assert rita is not None
        store.grant(rita, "business_support", "westmorland_furness", "tests", now)
        ids = dict(conn.execute(select(CASES.c.ref, CASES.c.id)).all())
        # A partnership's workflow may give a deadline to the reviewer: make two of them so.
        conn.execute(update(DEADLINES).where(DEADLINES.c.case_id.in_([ids["PR-A"], ids["PR-B"]]))
                     .values(owner_role="independent_reviewer"))
        store.involve(ids["PR-A"], "rita", "reviewer", now)
        store.involve(ids["PR-B"], "rita", "mace_invitee", now)  # not the reviewer's kind
    listed = {login: app.casework.tasks(login) for login in ("rita", "rob", "amy")}
    assert {task.ref for task in listed["rita"]} == {"PR-A"}
    assert listed["rob"] == []
    for login, tasks in listed.items():
        assert app.casework.task_count(login) == len(tasks), login


def test_a_task_list_past_its_limit_still_holds_the_users_own_tasks(
        app: App, db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """The involvement rule is applied in the database before the list's limit: a reviewer's
    one task is listed even when more than the limit of the role's deadlines on cases they
    are not involved in fall due first (filtering after the limit listed none)."""
    monkeypatch.setattr(casework_module, "TASK_LIMIT", 2)
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    engine = app.engine
    for ref in ("PR-A", "PR-B", "PR-C", "PR-D"):  # due alike: listed in ref order
        engine.open_case("practice_review", ref, OPEN, actor="amy", area=AREA)
    with db.begin() as conn:
        store = AccessStore(conn)
        store.add_user("rita", "Rita", "rita@example.org", "LA", now)
        rita = store.user_id("rita")
        assert rita is not None
        store.grant(rita, "independent_reviewer", None, "tests", now)
        conn.execute(update(DEADLINES).values(owner_role="independent_reviewer"))
        ids = dict(conn.execute(select(CASES.c.ref, CASES.c.id)).all())
        store.involve(ids["PR-D"], "rita", "reviewer", now)
        on_d = {name for (name,) in conn.execute(select(DEADLINES.c.name).where(
            DEADLINES.c.case_id == ids["PR-D"], DEADLINES.c.status == "open"))}
    assert len(on_d) == 2  # what the limit of 2 can hold: all of rita's tasks
    tasks = app.casework.tasks("rita")
    assert {(task.ref, task.name) for task in tasks} == {("PR-D", name) for name in on_d}
    assert app.casework.task_count("rita") == 2


def test_a_role_held_in_one_area_lists_no_task_of_another_roles_area(
        app: App, db: Database) -> None:
    """Grants pair a role with its areas: a chair in one area who is business support in
    another sees the chair's deadlines of the first area only, in the list and its count."""
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    engine = app.engine
    with db.begin() as conn:
        store = AccessStore(conn)
        store.add_area("westmorland_furness", "Westmorland and Furness")
        store.add_user("mixed", "Mixed", "mixed@example.org", "LA", now)
        mixed = store.user_id("mixed")
        assert mixed is not None
        store.grant(mixed, "case_review_chair", "westmorland_furness", "tests", now)
        store.grant(mixed, "business_support", AREA, "tests", now)
    for ref, area in (("PR-E", AREA), ("PR-W", "westmorland_furness")):
        # open: the notification's deadline is support's, the rapid review's the chair's
        engine.open_case("practice_review", ref, OPEN, actor="amy", area=area)
    with db.begin_read() as conn:
        owners = set(conn.execute(select(CASES.c.ref, DEADLINES.c.owner_role).join(
            DEADLINES, DEADLINES.c.case_id == CASES.c.id).where(
            DEADLINES.c.status == "open")).all())
    assert ("PR-E", "case_review_chair") in owners  # the role is held, but not in PR-E's area
    listed = {(task.ref, task.owner) for task in app.casework.tasks("mixed")}
    assert {("PR-E", "business_support"), ("PR-W", "business_support")} <= owners
    assert listed == {("PR-W", "case_review_chair"), ("PR-E", "business_support")}
    assert app.casework.task_count("mixed") == len(listed)


def test_a_joined_read_is_the_rows_split_in_two(engine: Engine, db: Database) -> None:
    """The case's columns, converted once per case, and each deadline's: what the plain rows
    hold; a case without deadlines has one row whose second part is all NULL."""
    _review(engine)
    width = len(_CASE_COLUMNS)
    with db.begin() as conn:
        conn.execute(insert(CASES), {"ref": "PR-BARE", "workflow": "practice_review",
                                     "workflow_version": 1, "state": "awaiting_notification",
                                     "data": {"label": "b"}, "version": 1,
                                     "opened_at": dt.datetime(2024, 6, 3, tzinfo=dt.UTC),
                                     "updated_at": dt.datetime(2024, 6, 3, tzinfo=dt.UTC)})
    with db.begin_read() as conn:
        for ref in ("PR-1", "PR-BARE"):
            rows = Hot(_WITH_DEADLINES).rows(conn, {"ref": ref})
            joined = Hot(_WITH_DEADLINES).joined(conn, {"ref": ref}, width)
            assert [head + rest for head, rest in joined] == rows
    assert len(rows) == 1 and all(v is None for v in joined[0][1])


def test_a_hot_insert_gives_the_key_or_none_and_the_transaction_goes_on(
        db: Database) -> None:
    """A duplicate reference is refused by itself: what the transaction wrote before it
    stays (SQLite undoes only the failed statement; elsewhere it ran in a savepoint)."""
    row = {"ref": "PR-DUP", "workflow": "practice_review", "workflow_version": 1,
           "state": "awaiting_notification", "data": {}, "version": 1,
           "opened_at": dt.datetime(2024, 6, 3, tzinfo=dt.UTC),
           "updated_at": dt.datetime(2024, 6, 3, tzinfo=dt.UTC), "closed_at": None,
           "area": AREA}
    keys = tuple(row)
    with db.begin() as conn:
        first = Hot(insert(CASES), keys).insert(conn, row)
        other = Hot(insert(CASES), keys).insert(conn, {**row, "ref": "PR-OTHER"})
        again = Hot(insert(CASES), keys).insert(conn, row)
    assert isinstance(first, int) and isinstance(other, int) and first != other
    assert again is None
    with db.begin_read() as conn:
        refs = sorted(conn.scalars(select(CASES.c.ref).where(CASES.c.ref.like("PR-%"))))
    assert refs == ["PR-DUP", "PR-OTHER"]


def test_a_driver_error_is_raised_as_sqlalchemy_raises_it(db: Database) -> None:
    with pytest.raises(IntegrityError, match=r"NOT NULL|not-null"), db.begin() as conn:
        Hot(insert(CASES), ("ref", "workflow")).run(conn, {"ref": "X", "workflow": "w"})


def test_a_statement_with_a_constant_binds_as_sqlalchemy_does(db: Database) -> None:
    """The audit head's move compares ``id = 1`` (a constant in the statement): its values
    go to the driver in SQLAlchemy's order, the constant in its place."""
    params = {"seq": 2, "hash": "b" * 64, "key_id": "", "prev_seq": 1,
              "prev_hash": "a" * 64, "prev_key_id": ""}
    with db.begin_read() as conn:
        if not db.is_sqlite:
            pytest.skip("statements run on the driver's cursor on SQLite only")
        compiled = _MOVE_HEAD_FROM.compile(dialect=conn.dialect)
        expected = [compiled.construct_params(params)[name]
                    for name in compiled.positiontup or ()]
        hot = Hot(_MOVE_HEAD_FROM)
        hot.run(conn, params)  # compiles it for this dialect
        assert hot._sqlite is not None
        assert hot._sqlite.bind(params) == expected == hot._sqlite._bind_each(params)
        assert 1 in expected  # the head row's id
