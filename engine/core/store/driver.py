"""Hot statements run on the driver's cursor: compiled once, SQLAlchemy's type conversions kept.

SQLAlchemy spends 40-55 µs setting up each execution (cache key, execution context, result
object) where the SQLite driver's cursor takes 2-4 µs to run the same prepared statement. A
:class:`Hot` statement is compiled once for the dialect; each run binds its parameters through
the column types' own processors (aware UTC datetimes, JSON, dates: exactly what SQLAlchemy
would send), runs the SQL on the driver's cursor inside the connection's transaction, and turns
result values back through the types' result processors. The transaction stays SQLAlchemy's
(``Database.begin``): BEGIN and COMMIT are issued there.

Only for SQLite (the driver whose cursor cost is the hot path's, and whose transaction is begun
explicitly); on other dialects a :class:`Hot` runs the statement through SQLAlchemy as before.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler

Processor = Callable[[Any], Any]


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
        columns = getattr(statement, "selected_columns", None)
        self.results: list[tuple[int, Processor]] = []
        if columns is not None:
            for index, column in enumerate(columns):
                processor = column.type.dialect_impl(dialect).result_processor(dialect, None)
                if processor is not None:
                    self.results.append((index, processor))

    def bind(self, params: Mapping[str, Any]) -> list[Any]:
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


class Hot:
    """One hot statement (``keys``: the columns an INSERT is given, in any order)."""

    def __init__(self, statement: Executable, keys: Sequence[str] | None = None) -> None:
        self.statement = statement
        self.keys = tuple(keys) if keys is not None else None
        self._sqlite: _Compiled | None = None

    def _on_driver(self, conn: Connection) -> tuple[_Compiled, Any] | None:
        if conn.dialect.name != "sqlite":
            return None
        if self._sqlite is None:
            self._sqlite = _Compiled(self.statement, conn.dialect, self.keys)
        return self._sqlite, conn.connection.driver_connection

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """The rows it selects, values converted as SQLAlchemy would."""
        found = self._on_driver(conn)
        if found is None:
            return [tuple(row) for row in conn.execute(self.statement, dict(params))]
        compiled, driver = found
        return [compiled.convert(row)
                for row in driver.execute(compiled.sql, compiled.bind(params)).fetchall()]

    def driver_batches(self, conn: Connection, params: Mapping[str, Any], size: int
                       ) -> Generator[list[tuple[Any, ...]], None, None]:
        """On SQLite, the rows it selects ``size`` at a time as the driver gives them, with
        no conversion (:meth:`convert` gives SQLAlchemy's values for one): for a walk over
        many rows that reads most values as stored. Closing the generator closes the cursor."""
        found = self._on_driver(conn)
        if found is None:
            raise ValueError("rows are read off the driver on SQLite only")
        compiled, driver = found
        cursor = driver.execute(compiled.sql, compiled.bind(params))
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
        found = self._on_driver(conn)
        if found is None:
            return int(conn.execute(self.statement, dict(params)).rowcount)
        compiled, driver = found
        return int(driver.execute(compiled.sql, compiled.bind(params)).rowcount)

    def run_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run it once per parameter set (an INSERT or UPDATE of several rows)."""
        if not rows:
            return
        found = self._on_driver(conn)
        if found is None:
            conn.execute(self.statement, [dict(r) for r in rows])
            return
        compiled, driver = found
        driver.executemany(compiled.sql, [compiled.bind(r) for r in rows])


__all__ = ["Hot"]
