"""SQLite: the commands' transactions share one write connection held open (issue 12). Each
still is one IMMEDIATE transaction, committed or rolled back whole; threads take the
connection in turn; a relaxed (``durable=False``) transaction is relaxed alone."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from engine.core.store import database
from engine.core.store.database import Database

SYNCHRONOUS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'writer.db'}", "FULL")
    with db.begin() as conn:
        conn.execute(text("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"))
    yield db
    db.dispose()


def _notes(db: Database) -> list[str]:
    with db.begin_read() as conn:
        return [str(r[0]) for r in conn.execute(text("SELECT body FROM note ORDER BY id"))]


def test_transactions_share_one_connection_and_each_commits(sqlite_db: Database) -> None:
    drivers = []
    for body in ("a", "b"):
        with sqlite_db.begin() as conn:
            drivers.append(conn.connection.driver_connection)
            assert conn.connection.driver_connection.in_transaction  # begun before any write
            conn.execute(text("INSERT INTO note (body) VALUES (:b)"), {"b": body})
    assert drivers[0] is drivers[1]
    assert _notes(sqlite_db) == ["a", "b"]


def test_a_failed_transaction_writes_nothing_and_the_next_one_works(
        sqlite_db: Database) -> None:
    with pytest.raises(ValueError), sqlite_db.begin() as conn:
        conn.execute(text("INSERT INTO note (body) VALUES ('lost')"))
        raise ValueError("refused half-way")
    with sqlite_db.begin() as conn:
        conn.execute(text("INSERT INTO note (body) VALUES ('kept')"))
    assert _notes(sqlite_db) == ["kept"]


def test_a_relaxed_transaction_is_relaxed_alone(sqlite_db: Database) -> None:
    def level(durable: bool) -> str:
        with sqlite_db.begin(durable=durable) as conn:
            return SYNCHRONOUS[int(conn.exec_driver_sql("PRAGMA synchronous").scalar_one())]

    assert [level(True), level(False), level(True), level(False)] == \
        ["FULL", "NORMAL", "FULL", "NORMAL"]


def test_a_second_transaction_in_the_same_thread_is_refused_at_once(
        sqlite_db: Database) -> None:
    """SQLite would make it wait for the thread's own transaction until the busy timeout."""
    with sqlite_db.begin() as conn:
        conn.execute(text("INSERT INTO note (body) VALUES ('outer')"))
        with pytest.raises(RuntimeError, match="already in a write transaction"), \
                sqlite_db.begin():
            pass
    assert _notes(sqlite_db) == ["outer"]


def test_threads_take_the_connection_in_turn(sqlite_db: Database) -> None:
    order: list[str] = []
    inside = threading.Event()

    def first() -> None:
        with sqlite_db.begin() as conn:
            inside.set()
            time.sleep(0.2)  # the other thread asks meanwhile and waits
            conn.execute(text("INSERT INTO note (body) VALUES ('first')"))
            order.append("first committing")

    def second() -> None:
        inside.wait()
        with sqlite_db.begin() as conn:
            order.append("second begun")
            conn.execute(text("INSERT INTO note (body) VALUES ('second')"))

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert order == ["first committing", "second begun"]
    assert _notes(sqlite_db) == ["first", "second"]


def test_after_dispose_a_transaction_opens_a_new_connection(sqlite_db: Database) -> None:
    with sqlite_db.begin() as conn:
        before = conn.connection.driver_connection
    sqlite_db.dispose()
    with sqlite_db.begin() as conn:
        assert conn.connection.driver_connection is not before
        conn.execute(text("INSERT INTO note (body) VALUES ('again')"))
    assert _notes(sqlite_db) == ["again"]


def test_a_thread_waits_no_longer_than_sqlite_would(sqlite_db: Database,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Behind another thread's long transaction, a writer gives up after the busy timeout
    with SQLite's own error, as it would behind another process's."""
    monkeypatch.setattr(database, "BUSY_TIMEOUT_S", 0.2)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with sqlite_db.begin():
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        holding.wait(10)
        with pytest.raises(OperationalError, match="database is locked"), sqlite_db.begin():
            pass
    finally:
        release.set()
        holder.join(10)
    with sqlite_db.begin() as conn:  # free again
        conn.execute(text("INSERT INTO note (body) VALUES ('after')"))
    assert _notes(sqlite_db) == ["after"]
