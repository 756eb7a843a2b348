"""The casework sections (rapid reviews, LCSPRs, actions, CERAR, missing episodes, MACE,
placements) as section sources, and the list of sources the annual report is made of.

The casework sections share one read per period: the practice reviews' counts and listed rows
(:func:`engine.apps.report.review_queries.load_reviews`, aggregates in SQL) and the CERAR and
MACE cases alive in it (:func:`engine.apps.report.queries.load`); and one computation per
period and area; each source picks its own section from them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from engine.apps.report.document import SectionSource
from engine.apps.report.figures import AMBER_DAYS, Section, casework_sections
from engine.apps.report.queries import ReportData, load
from engine.apps.report.review_figures import review_sections
from engine.apps.report.review_queries import ReviewData, load_reviews
from engine.core.clock import end_of_day, start_of_day

CASEWORK = (("rapid_reviews", "Serious incidents and rapid reviews"),
            ("lcspr", "Local child safeguarding practice reviews"),
            ("actions", "Action plans and actions by RAG status"),
            ("cerar", "Children at risk of exploitation (CERAR)"),
            ("missing", "Missing episodes and return home interviews"),
            ("mace", "MACE meetings"),
            ("placed", "Children placed in the area by other authorities"))


@dataclass(frozen=True)
class CaseworkData:
    reviews: ReviewData
    rows: ReportData  # CERAR and MACE


class _Casework:
    """One read and one computation per period (and area), shared by the casework sources."""

    def __init__(self) -> None:
        self.reads: dict[tuple[dt.date, dt.date, bool], CaseworkData] = {}
        self.built: dict[tuple[int, dt.date, dt.date, str | None], list[Section]] = {}

    def load(self, conn: Connection, start: dt.date, end: dt.date,
             listed: bool = True) -> CaseworkData:
        """``listed`` False: for the figures alone (no rapid reviews listed)."""
        if (start, end, listed) not in self.reads:
            lo, hi = start_of_day(start), end_of_day(end)
            self.reads[(start, end, listed)] = CaseworkData(
                load_reviews(conn, (lo, hi, start, end), AMBER_DAYS, listed),
                load(conn, period=(lo, hi, end)))
        return self.reads[(start, end, listed)]

    def sections(self, data: CaseworkData, start: dt.date, end: dt.date,
                 area: str | None) -> dict[str, Section]:
        key = (id(data), start, end, area)
        if key not in self.built:
            self.built[key] = [*review_sections(data.reviews, start, end, area),
                               *casework_sections(data.rows, start, end, area)]
        return {s.key: s for s in self.built[key]}


class CaseworkSource:
    def __init__(self, key: str, title: str, shared: _Casework) -> None:
        self.key, self.title, self._shared = key, title, shared

    def load(self, conn: Connection, start: dt.date, end: dt.date) -> Any:
        return self._shared.load(conn, start, end)

    def load_figures(self, conn: Connection, start: dt.date, end: dt.date) -> Any:
        return self._shared.load(conn, start, end, listed=False)

    def build(self, loaded: Any, start: dt.date, end: dt.date, area: str | None) -> Section:
        return self._shared.sections(loaded, start, end, area)[self.key]


def default_sources() -> list[SectionSource]:
    """A fresh set of the report's sources (fresh: the casework sources share a cache): the
    casework sections, then child deaths, the figures from other systems and the business
    plan; the document places each in its chapter by key."""
    from engine.apps.report.cdop_section import CdopSource
    from engine.apps.report.figures_section import FiguresSource
    from engine.apps.report.plan_section import PlanSource

    shared = _Casework()
    out: list[SectionSource] = [CaseworkSource(k, t, shared) for k, t in CASEWORK]
    return [*out, CdopSource(), FiguresSource(), PlanSource()]
