"""The database handle: engines, transactions and schema upgrades.

* SQLite: WAL, foreign keys on, and write transactions begin IMMEDIATE so two writers queue
  instead of failing half-way (a reader never blocks a writer). The commands' transactions
  (:meth:`Database.begin`) run on one write connection held open, taken in turn by the
  process's threads: SQLite has one writer at a time anyway, and a held connection saves the
  pool's checkout and return on every command.
* PostgreSQL: READ COMMITTED; a write re-checks the case version in its UPDATE, so a
  concurrent fire loses cleanly.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from engine.core.errors import DatabaseNotReadyError, UsageError
from engine.core.store import SCHEMA_REVISION

SQLITE_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")
BUSY_TIMEOUT_S = 30  # how long a SQLite writer waits for another before giving up


class Database:
    def __init__(self, url: str, sqlite_synchronous: str = "FULL") -> None:
        self.url = url
        self._url = make_url(url)
        self.is_sqlite = self._url.get_backend_name() == "sqlite"
        self.dialect = self._url.get_backend_name()
        if sqlite_synchronous.upper() not in SQLITE_SYNCHRONOUS:
            raise UsageError(f"database.sqlite_synchronous '{sqlite_synchronous}': use one of "
                             f"{', '.join(SQLITE_SYNCHRONOUS)}")
        self._synchronous = sqlite_synchronous.upper()
        self._read_engine: Engine | None = None
        self._write_engine: Engine | None = None
        # SQLite: the write connection the commands' transactions share, one at a time.
        self._writer: Connection | None = None
        self._writer_lock = threading.Lock()
        self._in_write = threading.local()  # this thread's transaction is on the writer

    # -- engines -------------------------------------------------------------------------
    def _make_engine(self, immediate: bool) -> Engine:
        if not self.is_sqlite:
            return create_engine(self.url, pool_pre_ping=True)
        self._create_private()
        engine = create_engine(self.url, connect_args={"check_same_thread": False})
        synchronous = self._synchronous

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.close()

        statement = "BEGIN IMMEDIATE" if immediate else "BEGIN"

        @event.listens_for(engine, "begin")
        def _begin(connection: Any) -> None:
            # Straight to the driver: this runs once per transaction, on the hot path.
            driver = connection.connection.driver_connection
            # A transaction may ask for another level (see begin(durable=False)); SQLite
            # takes it only between transactions, so it is set here, before BEGIN.
            wanted = connection.get_execution_options().get("synchronous", synchronous)
            info = connection.connection.info
            if info.get("synchronous", synchronous) != wanted:
                driver.execute(f"PRAGMA synchronous={wanted}")
                info["synchronous"] = wanted
            driver.execute(statement)

        return engine

    @property
    def read_engine(self) -> Engine:
        if self._read_engine is None:
            self._read_engine = self._make_engine(immediate=False)
        return self._read_engine

    @property
    def write_engine(self) -> Engine:
        if not self.is_sqlite:
            return self.read_engine
        if self._write_engine is None:
            self._write_engine = self._make_engine(immediate=True)
        return self._write_engine

    def dispose(self) -> None:
        # Closing waits for a transaction another thread has on the writer, but not for
        # ever: a process that is exiting must exit (its connection then closes with it).
        if not getattr(self._in_write, "active", False) and \
                self._writer_lock.acquire(timeout=BUSY_TIMEOUT_S):
            try:
                self._drop_writer()
            finally:
                self._writer_lock.release()
        for engine in (self._read_engine, self._write_engine):
            if engine is not None:
                engine.dispose()

    # -- transactions --------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with Session(self.write_engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def begin(self, durable: bool = True) -> Iterator[Connection]:
        """One write transaction on a Core connection (the engine's hot path).

        ``durable=False`` (SQLite): the commit does not wait for the disk (``synchronous``
        NORMAL for this transaction: in WAL mode it survives a crash of the process, and a
        power cut loses it only until the WAL is next synced: by the next durable commit,
        a checkpoint or :meth:`sync_wal`). For a read's audit record, whose head is not
        mirrored to the head file before :meth:`sync_wal` (see ``Gate``).

        SQLite: on the held write connection (a thread waits here for another's transaction
        to end, as it would wait for SQLite's lock); a second transaction opened by a thread
        already in one is refused, since SQLite would make it wait for itself."""
        if not self.is_sqlite:
            with self.write_engine.begin() as connection:
                yield connection
            return
        if getattr(self._in_write, "active", False):
            raise RuntimeError("this thread is already in a write transaction")
        relaxed = not durable and self._synchronous not in ("OFF", "NORMAL")
        wanted = "NORMAL" if relaxed else self._synchronous
        # As long as SQLite would wait for another process's writer, and the same error.
        # Taken inside the try, so that an interrupt (Ctrl-C) arriving just as the lock is
        # granted still releases it: a lock left held would hang the process's exit.
        held = False
        try:
            held = self._writer_lock.acquire(timeout=BUSY_TIMEOUT_S)
            if not held:
                raise OperationalError("BEGIN IMMEDIATE", None,
                                       sqlite3.OperationalError("database is locked"))
            self._in_write.active = True
            connection = self._writer_connection()
            try:
                if connection.get_execution_options().get("synchronous") != wanted:
                    connection.execution_options(synchronous=wanted)  # see _begin
                transaction = connection.begin()
            except BaseException:  # BEGIN failed (busy): start afresh next time
                self._drop_writer()
                raise
            with transaction:
                yield connection
        finally:
            if held:
                self._in_write.active = False
                self._writer_lock.release()

    def _writer_connection(self) -> Connection:
        if self._writer is None or self._writer.closed or self._writer.invalidated:
            self._drop_writer()
            self._writer = self.write_engine.connect()
        return self._writer

    def _drop_writer(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            with contextlib.suppress(Exception):  # a broken connection is closed regardless
                writer.close()

    def sync_wal(self) -> None:
        """Make every commit so far durable (SQLite: fsync the write-ahead log; what a
        checkpoint moved to the database file was synced by the checkpoint)."""
        name = self._url.database
        if not self.is_sqlite or name in (None, "", ":memory:") or str(name).startswith("file:"):
            return
        try:
            handle = os.open(f"{Path(str(name)).expanduser()}-wal", os.O_RDONLY)
        except FileNotFoundError:
            return
        try:
            os.fsync(handle)
        finally:
            os.close(handle)

    @contextmanager
    def begin_read(self) -> Iterator[Connection]:
        with self.read_engine.begin() as connection:
            yield connection

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.read_engine, expire_on_commit=False) as session, session.begin():
            yield session

    # -- schema ----------------------------------------------------------------------------
    def schema_revision(self) -> str | None:
        try:
            with self.read_engine.connect() as conn:
                if not inspect(conn).has_table("alembic_version"):
                    return None
                return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except OperationalError as exc:
            reason = "; ".join(line.strip() for line in str(exc.orig).splitlines()
                               if line.strip())  # the driver's lines, as one
            raise DatabaseNotReadyError(
                f"cannot open the database at {self.display_url}: {reason}") from None

    def ensure_current(self) -> None:
        revision = self.schema_revision()
        if revision is None:
            raise DatabaseNotReadyError(
                f"the database at {self.display_url} is not initialised: run 'safeguard init'")
        if revision != SCHEMA_REVISION:
            raise DatabaseNotReadyError(
                f"the database schema is at '{revision}' but this safeguard needs "
                f"'{SCHEMA_REVISION}': run 'safeguard init' to upgrade it")

    def upgrade(self) -> str:
        """Bring the schema to the latest revision (harmless when already there)."""
        from alembic import command
        from alembic.config import Config

        if self.is_sqlite and self._url.database not in (None, "", ":memory:"):
            Path(self._url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        config = Config()
        config.set_main_option("script_location",
                               str(Path(__file__).with_name("migrations")))
        with self.write_engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
        revision = self.schema_revision()
        assert revision is not None
        return revision

    def _create_private(self) -> None:
        """Create a SQLite file readable by its owner only (0600) before SQLite opens it;
        SQLite gives its -wal and -shm files the same permissions."""
        name = self._url.database
        if name in (None, "", ":memory:") or str(name).startswith("file:"):
            return
        path = Path(str(name)).expanduser()
        if path.exists() or not path.parent.is_dir():
            return
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))

    @property
    def display_url(self) -> str:
        return self._url.render_as_string(hide_password=True)
