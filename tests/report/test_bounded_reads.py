"""The annual report reads what its period holds: the reviews of other years, and the
previous year's (compared by their figures alone), are counted in SQL, not read row by row.
A behaviour, not a timing: the rows its queries return, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import event

from benchmarks.scale import add_history
from engine.app import App
from engine.apps.report.service import annual_report
from engine.core.clock import FixedClock
from tests.conftest import london
from tests.report.dataset import END, START, build

HISTORY = 300  # reviews of each span below, five events and three deadlines each


def rows_read(app: App, read: Callable[[], Any]) -> int:
    """The rows returned by the SELECTs ``read`` runs (each run again, as it was, on a
    connection of its own: a DBAPI cursor cannot be counted as the engine reads it)."""
    statements: list[tuple[str, Any]] = []

    def note(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
             _many: bool) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append((statement, parameters))

    engines = {app.db.read_engine, app.db.write_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", note)
    try:
        read()
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", note)
    with app.db.read_engine.connect() as conn:
        return sum(len(conn.exec_driver_sql(s, p).all()) for s, p in statements)


def test_reviews_of_other_years_are_counted_not_read(app: App, clock: FixedClock) -> None:
    build(app, clock)
    clock.set(london("2025-04-07 09:00"))

    def report() -> Any:
        return annual_report(app.engine, "mgr", START, END)

    alone = rows_read(app, report)
    # Closed years before either period; and sent to the Panel and closed in the previous
    # year (2023/24), which the report compares with.
    add_history(app, HISTORY, between=(dt.datetime(2015, 1, 5, 9, tzinfo=dt.UTC),
                                      dt.datetime(2020, 1, 5, 9, tzinfo=dt.UTC)))
    add_history(app, HISTORY, between=(dt.datetime(2023, 4, 10, 9, tzinfo=dt.UTC),
                                      dt.datetime(2024, 2, 1, 9, tzinfo=dt.UTC)))
    held = next(r for s in report().sections if s.key == "rapid_reviews"
                for r in s.rows if r.key == "held")
    assert (held.partnership.value, held.partnership.previous) == (3, 1 + HISTORY)
    # Row by row, the previous year's reviews alone would be 300 cases with 1,500 events and
    # 900 deadlines; counted by area (areas that hold cases already), they add no row.
    assert rows_read(app, report) == alone
