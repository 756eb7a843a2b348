"""The annual report's figures from other systems (MASH contacts, referrals, children looked
after, training, ...): a section source in the shape the report's contract gives.

``load`` reads the current (not replaced) imported figures whose period lies inside the
report's period, and the areas' names, in two bounded SELECTs; ``build`` (pure) gives, for the
partnership (``area`` None) or one area, one figure per measure for the whole period (a
reporting year when the report is one) and a table of every figure of the period with its
source. The partnership's figure is the one imported for the partnership, else the sum of the
areas' figures when every area has one (a count only). Labels come from
``config/measures.yaml``; areas by name; no codes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from engine.apps.report.figures import Section
from engine.core.store.access_store import AREAS
from engine.core.store.models import ImportedFigure
from engine.domains.figures.measures import Measure, load_measures, reporting_label

COLUMNS = ("Measure", "Area", "Period", "Value", "Source")
PARTNERSHIP_LABEL = "The partnership"
NOT_BY_AREA = object()  # a measure the partnership holds a figure of, an area none


@dataclass(frozen=True)
class FigureRow:
    measure: str
    area: str | None
    period: str
    start: dt.date
    end: dt.date
    value: str
    source: str


@dataclass(frozen=True)
class FiguresData:
    figures: tuple[FigureRow, ...]
    areas: Mapping[str, str]  # code -> name


def _number(value: str) -> int | float:
    return int(value) if value.lstrip("-").isdigit() else float(value)


class FiguresSource:
    key = "other_systems"
    title = "Figures from other systems"

    def __init__(self, measures: Mapping[str, Measure] | None = None) -> None:
        self.measures = dict(measures) if measures is not None else load_measures()

    def load(self, conn: Connection, start: dt.date, end: dt.date) -> FiguresData:
        f = ImportedFigure
        rows = conn.execute(
            select(f.measure, f.area, f.period, f.period_start, f.period_end, f.value,  # type: ignore[call-overload]
                   f.source)
            .where(f.replaced_at.is_(None), f.period_start >= start,  # type: ignore[union-attr]
                   f.period_end <= end)
            .order_by(f.period_start, f.measure, f.area))
        figures = tuple(FigureRow(*row) for row in rows)
        areas = {str(c): str(n) for c, n in conn.execute(select(AREAS.c.code, AREAS.c.name))}
        return FiguresData(figures, areas)

    def build(self, loaded: FiguresData, start: dt.date, end: dt.date,
              area: str | None) -> Section:
        section = Section(self.key, self.title)
        mine = [r for r in loaded.figures if area is None or r.area == area]
        if not mine:
            return section
        whole = [r for r in loaded.figures if r.start == start and r.end == end]
        for code, measure in self.measures.items():
            value = self._value(code, measure, whole, area, loaded.areas)
            if value is NOT_BY_AREA:  # shown as not available for the area
                section.add(code, measure.label, None)
            elif value is not None:
                section.add(code, measure.label, value)
        rows = []
        for r in sorted(mine, key=lambda r: (list(self.measures).index(r.measure)
                                             if r.measure in self.measures else 999,
                                             r.start, r.area or "")):
            label = self.measures[r.measure].label if r.measure in self.measures \
                else r.measure
            rows.append((label, loaded.areas.get(r.area, r.area) if r.area
                         else PARTNERSHIP_LABEL, reporting_label(r.period),
                         _number(r.value), r.source))
        section.tables.append(("Figures from other systems, with their source", COLUMNS,
                               rows))
        return section

    @staticmethod
    def _value(code: str, measure: Measure, whole: list[FigureRow], area: str | None,
               areas: Mapping[str, str]) -> Any:
        rows = [r for r in whole if r.measure == code]
        if area is not None:  # a figure held for the partnership only: not by area
            hit = next((r for r in rows if r.area == area), None)
            if hit is None:
                return NOT_BY_AREA if any(r.area is None for r in rows) else None
            return _number(hit.value)
        own = next((r for r in rows if r.area is None), None)
        if own is not None:
            return _number(own.value)
        parts = [r for r in rows if r.area is not None]
        if measure.count and areas and {r.area for r in parts} == set(areas):
            return sum(int(r.value) for r in parts)
        return None


__all__ = ["FigureRow", "FiguresData", "FiguresSource"]
