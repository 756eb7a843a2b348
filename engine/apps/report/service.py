"""The report commands over the engine: checked (and audited) through the engine's gate,
then read in one transaction. ``annual_report`` is for partnership managers; the dashboard
(:mod:`engine.apps.report.status`) is for anyone with a case role, showing what they may see.
"""

from __future__ import annotations

import datetime as dt

from engine.apps.report.figures import AMBER_DAYS, Report, annual, check_period
from engine.apps.report.queries import load
from engine.core.clock import end_of_day, start_of_day
from engine.core.service import Engine


def annual_report(engine: Engine, actor: str, start: dt.date, end: dt.date) -> Report:
    """The annual report's figures for ``[start, end]`` (partnership managers only)."""
    check_period(start, end)
    with engine.unit(actor, "report.annual") as unit:
        unit.require()
        unit.note(period=[start.isoformat(), end.isoformat()])
        # Only the cases alive in the period: the report reads what the period holds.
        data = load(unit.conn, period=(start_of_day(start), end_of_day(end), end),
                    amber_days=AMBER_DAYS)
    return annual(data, start, end)
