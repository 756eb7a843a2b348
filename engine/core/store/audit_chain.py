"""The audit chain read for verification: every record in sequence order as a
:data:`~engine.core.audit.Link` (its links and the text its hash covers), a batch of rows at a
time, so memory stays flat however long the chain.

Verification recomputes every record's hash, so reading a record is most of its cost. On
SQLite the rows come off the driver's cursor, and a record is hashed from its stored text
where that text already is the hashed form: the instant SQLAlchemy stores as
``YYYY-MM-DD HH:MM:SS.ffffff`` (UTC) is, digit for digit, the ``YYYY-MM-DDTHH:MM:SS.ffffff+00:00``
that reading it into a datetime and writing it back gives, and an empty detail ``{}`` is its
own. Any other value is read as SQLAlchemy reads it and written as
:func:`~engine.core.audit.entry_body` writes it, so the text is the same either way (the tests
compare the two on every record of the demonstration year). On other databases the rows are
read through SQLAlchemy, and plain values written out by hand likewise. Values no record can
hold (an instant that is no date, a detail that is not JSON) give no text: verification
reports the record as changed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Generator, Sequence
from typing import Any

from sqlalchemy import Connection, select

from engine.core.audit import Link, entry_body, hashed_at, hashed_detail, plain_body
from engine.core.store.access_store import AUDIT
from engine.core.store.driver import Hot

_c = AUDIT.c
_CHAIN = select(_c.seq, _c.at, _c.actor, _c.action, _c.outcome, _c.case_ref, _c.workflow,
                _c.command, _c.detail, _c.prev_hash, _c.hash, _c.key_id).order_by(_c.seq)
_HOT_CHAIN = Hot(_CHAIN)
# How SQLAlchemy stores an instant on SQLite ([0-9]: \d would take other scripts' digits too;
# spelled out, not [0-9]{4}: twice as fast).
_D2, _D4 = "[0-9][0-9]", "[0-9][0-9][0-9][0-9]"
_STORED_AT = re.compile(
    rf"{_D4}-{_D2}-{_D2} {_D2}:{_D2}:{_D2}\.{_D2}{_D4}").fullmatch
# What reading or writing a value no record holds raises (a blob, a date that is none, text
# that is not JSON, a detail nested past the recursion limit).
_UNREADABLE = (TypeError, ValueError, AttributeError, OverflowError, RecursionError)


def chain_links(conn: Connection, chunk: int = 1_000) -> Generator[Link, None, None]:
    """Every record in sequence order, ``chunk`` rows at a time (a server-side cursor on
    PostgreSQL); closing the generator closes the cursor."""
    if conn.dialect.name == "sqlite":
        return _sqlite_links(conn, chunk)
    return _links(conn, chunk)


def _links(conn: Connection, chunk: int) -> Generator[Link, None, None]:
    """Through SQLAlchemy: values as it reads them, plain ones written out by hand."""
    result = conn.execution_options(stream_results=True, yield_per=chunk).execute(_CHAIN)
    try:
        for row in result:
            seq, at, actor, action, outcome, ref, flow, command, detail, prev, digest, \
                ident = row
            try:
                body = plain_body(seq, hashed_at(at), actor, action, outcome, ref, flow,
                                  command, hashed_detail(detail))
            except _UNREADABLE:  # not plain: the general way
                yield _link(tuple(row), tuple)
            else:
                yield seq, prev, digest, ident, body
    finally:
        result.close()


def _sqlite_links(conn: Connection, chunk: int) -> Generator[Link, None, None]:
    dialect = conn.dialect
    read_detail = AUDIT.c.detail.type.dialect_impl(dialect).result_processor(dialect, None)
    assert read_detail is not None
    instant, convert = dt.datetime.fromisoformat, _HOT_CHAIN.convert
    batches = _HOT_CHAIN.driver_batches(conn, {}, chunk)
    try:
        for rows in batches:
            for seq, at, actor, action, outcome, ref, flow, command, detail, prev, digest, \
                    ident in rows:
                body = None
                try:
                    if _STORED_AT(at):
                        instant(at)  # a real date and time, as reading it would need
                        body = plain_body(
                            seq, at.replace(" ", "T") + "+00:00", actor, action, outcome, ref,
                            flow, command,
                            "{}" if detail == "{}" else hashed_detail(read_detail(detail)))
                except _UNREADABLE:  # not plain: the general way below
                    pass
                if body is not None:
                    yield seq, prev, digest, ident, body
                else:
                    yield _link((seq, at, actor, action, outcome, ref, flow, command, detail,
                                 prev, digest, ident), convert)
    finally:
        batches.close()


def _link(row: Sequence[Any], read: Callable[[Sequence[Any]], Sequence[Any]]) -> Link:
    """A record's link with the text :func:`entry_body` writes for its values as SQLAlchemy
    reads them (``read``: from the row as fetched)."""
    try:
        seq, at, actor, action, outcome, ref, flow, command, detail = read(row)[:9]
        body: str | None = entry_body(seq, at, actor, action, outcome, ref, flow, command,
                                      detail)
    except _UNREADABLE:
        body = None
    return row[0], row[9], row[10], row[11], body
