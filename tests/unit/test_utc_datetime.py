"""The UTC column type's SQLite processors, each done in one step, give what SQLAlchemy's
chained ones give (its DATETIME text, parsed back aware in UTC); other dialects keep the
chained ones."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import TypeDecorator

from engine.core.clock import LONDON
from engine.core.store.models import UTCDateTime

SQLITE = sqlite.dialect()


class Chained(UTCDateTime):
    """The same type without the one-step processors: SQLAlchemy chains its own."""

    cache_ok = True

    def bind_processor(self, dialect: Any) -> Any:
        return TypeDecorator.bind_processor(self, dialect)

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        return TypeDecorator.result_processor(self, dialect, coltype)


def _processors(kind: type[UTCDateTime]) -> tuple[Any, Any]:
    impl = kind().dialect_impl(SQLITE)
    return impl.bind_processor(SQLITE), impl.result_processor(SQLITE, None)


INSTANTS = [
    dt.datetime(2024, 6, 3, 9, 0, tzinfo=LONDON),  # summer time: stored an hour earlier
    dt.datetime(2024, 12, 2, 9, 0, tzinfo=LONDON),
    dt.datetime(2024, 3, 31, 0, 59, 59, 999999, tzinfo=dt.UTC),
    dt.datetime(2024, 10, 27, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
    dt.datetime(999, 1, 1, 0, 0, 1, 7, tzinfo=dt.UTC),  # a year of three digits
]


@pytest.mark.parametrize("instant", INSTANTS, ids=str)
def test_an_instant_is_stored_and_read_as_sqlalchemy_would(instant: dt.datetime) -> None:
    bind, result = _processors(UTCDateTime)
    chained_bind, chained_result = _processors(Chained)
    stored = bind(instant)
    assert stored == chained_bind(instant)
    read = result(stored)
    assert read == chained_result(stored) == instant and read.tzinfo is dt.UTC


def test_none_passes_and_a_naive_datetime_is_refused() -> None:
    bind, result = _processors(UTCDateTime)
    assert bind(None) is None and result(None) is None
    with pytest.raises(ValueError, match="naive datetime"):
        bind(dt.datetime(2024, 6, 3, 9, 0))


def test_text_written_by_hand_is_read_as_sqlalchemy_reads_it() -> None:
    _, result = _processors(UTCDateTime)
    _, chained = _processors(Chained)
    for stored in ("2024-06-03 08:00:00.000000", "2024-06-03 08:00:00", "2024-06-03"):
        assert result(stored) == chained(stored)


def test_other_dialects_keep_sqlalchemys_processors() -> None:
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    ours = UTCDateTime().dialect_impl(dialect)
    theirs = Chained().dialect_impl(dialect)
    instant = INSTANTS[0]
    ours_bind, theirs_bind = ours.bind_processor(dialect), theirs.bind_processor(dialect)
    assert (ours_bind(instant) if ours_bind else None) == \
        (theirs_bind(instant) if theirs_bind else None)
