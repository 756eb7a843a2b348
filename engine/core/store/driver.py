"""Hot statements run on the driver's cursor: compiled once, SQLAlchemy's type conversions kept.

SQLAlchemy spends 40-55 µs setting up each execution (cache key, execution context, result
object) where the SQLite driver's cursor takes 2-4 µs to run the same prepared statement. A
:class:`Hot` statement is compiled once for the dialect; each run binds its parameters through
the column types' own processors (aware UTC datetimes, JSON, dates: exactly what SQLAlchemy
would send), runs the SQL on the driver's cursor inside the connection's transaction, and turns
result values back through the types' result processors; a driver error is raised as the
SQLAlchemy exception it would have been (``IntegrityError``, ...). The transaction stays
SQLAlchemy's (``Database.begin``): BEGIN and COMMIT are issued there.

Only for SQLite (the driver whose cursor cost is the hot path's, and whose transaction is begun
explicitly); on other dialects a :class:`Hot` runs the statement through SQLAlchemy as before.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler

Processor = Callable[[Any], Any]
_NO_KEY = object()


class _Compiled:
    """The statement's SQL for one dialect, with its parameter order and processors."""

    def __init__(self, statement: Executable, dialect: Dialect,
                 keys: Sequence[str] | None) -> None:
        compiled = statement.compile(dialect=dialect,  # type: ignore[attr-defined]
                                     column_keys=list(keys) if keys is not None else None)
        assert isinstance(compiled, SQLCompiler) and compiled.positiontup is not None
        self.compiled = compiled
        self.sql = compiled.string
        self.order = list(compiled.positiontup)
        binds = compiled.binds
        # (name, processor or None, constant): a bound literal in the statement (``id == 1``)
        # is sent as its value; the rest come from the caller's parameters.
        self.params: list[tuple[str, Processor | None, bool, Any]] = []
        for name in self.order:
            bind = binds[name]
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            constant = not bind.required and bind.callable is None and name not in (keys or ())
            self.params.append((name, processor, constant,
                                processor(bind.value) if constant and processor else bind.value))
        # The common case in one C call: every value taken from the caller's parameters by
        # name (constants put in their places after), then the processors applied.
        wanted = [name for name, _, constant, _ in self.params if not constant]
        self._get: Callable[[Mapping[str, Any]], Any] = itemgetter(*wanted) if wanted \
            else (lambda _: ())
        self._single = len(wanted) == 1  # itemgetter of one name gives the value itself
        self._constants = [(index, value) for index, (_, _, constant, value)
                           in enumerate(self.params) if constant]
        self._constant_names = frozenset(self.params[i][0] for i, _ in self._constants)
        self._processors = [(index, processor) for index, (_, processor, constant, _)
                            in enumerate(self.params) if processor is not None and not constant]
        columns = getattr(statement, "selected_columns", None)
        self._splits: dict[int, tuple[list[tuple[int, Processor]],
                                      list[tuple[int, Processor]]]] = {}
        self.results: list[tuple[int, Processor]] = []
        if columns is not None:
            for index, column in enumerate(columns):
                processor = column.type.dialect_impl(dialect).result_processor(dialect, None)
                if processor is not None:
                    self.results.append((index, processor))

    def bind(self, params: Mapping[str, Any]) -> list[Any]:
        if self._constant_names and not self._constant_names.isdisjoint(params):
            return self._bind_each(params)  # a caller gave a constant's value: use it
        got = self._get(params)
        out = [got] if self._single else list(got)
        for index, value in self._constants:  # in order, so each lands in its place
            out.insert(index, value)
        for index, processor in self._processors:
            out[index] = processor(out[index])
        return out

    def _bind_each(self, params: Mapping[str, Any]) -> list[Any]:
        out = []
        for name, processor, constant, value in self.params:
            if constant and name not in params:
                out.append(value)
                continue
            value = params[name]
            out.append(processor(value) if processor is not None else value)
        return out

    def convert(self, row: Sequence[Any]) -> tuple[Any, ...]:
        if not self.results:
            return tuple(row)
        values = list(row)
        for index, processor in self.results:
            values[index] = processor(values[index])
        return tuple(values)

    def split(self, width: int) -> tuple[list[tuple[int, Processor]],
                                         list[tuple[int, Processor]]]:
        """The result processors of the first ``width`` columns and of the rest (indexed
        from ``width``)."""
        found = self._splits.get(width)
        if found is None:
            found = self._splits[width] = (
                [(i, p) for i, p in self.results if i < width],
                [(i - width, p) for i, p in self.results if i >= width])
        return found


class Hot:
    """One hot statement (``keys``: the columns an INSERT is given, in any order)."""

    def __init__(self, statement: Executable, keys: Sequence[str] | None = None) -> None:
        self.statement = statement
        self.keys = tuple(keys) if keys is not None else None
        self._sqlite: _Compiled | None = None

    def _on_driver(self, conn: Connection) -> _Compiled | None:
        if conn.dialect.name != "sqlite":
            return None
        if self._sqlite is None:
            self._sqlite = _Compiled(self.statement, conn.dialect, self.keys)
        return self._sqlite

    @staticmethod
    def _execute(conn: Connection, compiled: _Compiled, params: Mapping[str, Any],
                 many: Sequence[Mapping[str, Any]] | None = None) -> Any:
        """The driver's cursor after running it; a driver error raised as SQLAlchemy would
        raise it (``IntegrityError``, ``OperationalError``, ...)."""
        driver: Any = conn.connection.driver_connection
        bound: Any = None
        try:
            if many is not None:
                bound = [compiled.bind(r) for r in many]
                return driver.executemany(compiled.sql, bound)
            bound = compiled.bind(params)
            return driver.execute(compiled.sql, bound)
        except conn.dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(compiled.sql, bound, exc,
                                      conn.dialect.loaded_dbapi.Error) from exc

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """The rows it selects, values converted as SQLAlchemy would."""
        compiled = self._on_driver(conn)
        if compiled is None:
            return [tuple(row) for row in conn.execute(self.statement, dict(params))]
        return [compiled.convert(row)
                for row in self._execute(conn, compiled, params).fetchall()]

    def joined(self, conn: Connection, params: Mapping[str, Any], width: int,
               ) -> list[tuple[tuple[Any, ...], tuple[Any, ...]]]:
        """The rows of a join of one row to many (a case and its deadlines), each split into
        (its first ``width`` columns, the rest): the first part, keyed by its first column,
        is converted once per key rather than on every row it repeats on."""
        compiled = self._on_driver(conn)
        if compiled is None:
            return [(tuple(row[:width]), tuple(row[width:]))
                    for row in conn.execute(self.statement, dict(params))]
        first, rest = compiled.split(width)
        out: list[tuple[tuple[Any, ...], tuple[Any, ...]]] = []
        key: Any = _NO_KEY
        head: tuple[Any, ...] = ()
        for row in self._execute(conn, compiled, params).fetchall():
            if row[0] != key:
                key, values = row[0], list(row[:width])
                for index, processor in first:
                    values[index] = processor(values[index])
                head = tuple(values)
            values = list(row[width:])
            for index, processor in rest:
                values[index] = processor(values[index])
            out.append((head, tuple(values)))
        return out

    def driver_batches(self, conn: Connection, params: Mapping[str, Any], size: int
                       ) -> Generator[list[tuple[Any, ...]], None, None]:
        """On SQLite, the rows it selects ``size`` at a time as the driver gives them, with
        no conversion (:meth:`convert` gives SQLAlchemy's values for one): for a walk over
        many rows that reads most values as stored. Closing the generator closes the cursor."""
        compiled = self._on_driver(conn)
        if compiled is None:
            raise ValueError("rows are read off the driver on SQLite only")
        cursor = self._execute(conn, compiled, params)
        try:
            while rows := cursor.fetchmany(size):
                yield rows
        finally:
            cursor.close()

    def convert(self, row: Sequence[Any]) -> tuple[Any, ...]:
        """A row from :meth:`driver_batches` with the values SQLAlchemy would give."""
        assert self._sqlite is not None, "convert() is for rows from driver_batches()"
        return self._sqlite.convert(row)

    def run(self, conn: Connection, params: Mapping[str, Any]) -> int:
        """Run it once; the number of rows it changed."""
        compiled = self._on_driver(conn)
        if compiled is None:
            return int(conn.execute(self.statement, dict(params)).rowcount)
        return int(self._execute(conn, compiled, params).rowcount)

    def insert(self, conn: Connection, params: Mapping[str, Any]) -> int | None:
        """Run an INSERT of one row; the new row's key, or None if a constraint refused it
        (a duplicate). The transaction goes on either way: SQLite undoes only the failed
        statement, and elsewhere the INSERT runs in a savepoint."""
        compiled = self._on_driver(conn)
        try:
            if compiled is not None:
                return int(self._execute(conn, compiled, params).lastrowid)
            with conn.begin_nested():
                key = conn.execute(self.statement, dict(params)).inserted_primary_key
        except IntegrityError:
            return None
        return int(key[0]) if key else None

    def run_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run it once per parameter set (an INSERT or UPDATE of several rows)."""
        if not rows:
            return
        compiled = self._on_driver(conn)
        if compiled is None:
            conn.execute(self.statement, [dict(r) for r in rows])
            return
        self._execute(conn, compiled, {}, rows)


__all__ = ["Hot"]
