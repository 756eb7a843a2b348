"""The report commands over the engine: checked (and audited) through the engine's gate,
then read in one transaction. ``annual_report`` is for partnership managers; the dashboard
(:mod:`engine.apps.report.status`) is for anyone with a case role, showing what they may see.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from engine.apps.report.document import (
    AnnualReport,
    SectionSource,
    compose,
    previous_period,
)
from engine.apps.report.figures import check_period
from engine.apps.report.sources import default_sources
from engine.core.service import Engine


def annual_report(engine: Engine, actor: str, start: dt.date, end: dt.date,
                  narrative: Mapping[str, str] | None = None,
                  sources: Sequence[SectionSource] | None = None) -> AnnualReport:
    """The annual report for ``[start, end]`` (partnership managers only): every section
    for the partnership and each area, for the period and the year before, with the
    partnership's narrative (key -> Markdown; see ``document.NARRATIVE``) around them."""
    check_period(start, end)
    before = previous_period(start, end)
    chosen = list(sources) if sources is not None else default_sources()
    with engine.unit(actor, "report.annual") as unit:
        unit.require()
        if unit.conn.dialect.name == "postgresql":
            # The aggregates' correlated subqueries are estimated costly and run short:
            # PostgreSQL's JIT compiled them for longer than they ran (2.3 s against 1.1 s
            # over a year of 10,000 reviews). For this transaction only.
            unit.conn.exec_driver_sql("SET LOCAL jit = off")
        unit.note(period=[start.isoformat(), end.isoformat()])
        areas = unit.access.areas()
        # Each source reads only what its period needs (bounded SQL); of the year before,
        # only what its figures need when it can say so (its tables are not shown).
        loaded = [(src, src.load(unit.conn, start, end),
                   getattr(src, "load_figures", src.load)(unit.conn, *before))
                  for src in chosen]
    return compose(loaded, start, end, areas, narrative or {})
